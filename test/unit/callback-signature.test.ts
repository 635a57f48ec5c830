import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callbackSignature, messageSignature, signatureMatches } from '../../src/callback/signature.js';
import { wechatSignature } from '../support/wechat-callback.js';

// Contract §8: `signature` = SHA-1 of token, timestamp, nonce sorted and concatenated;
// `msg_signature` the same with the body's `Encrypt` as a fourth part.

const sha1 = (text: string): string => createHash('sha1').update(text, 'utf8').digest('hex');

// Published with wechatpy's tests (tests/test_crypto.py), made by WeChat's own servers and SDKs:
// token 123456, the msg_signature of three safe-mode values.
const WECHATPY = {
  token: '123456',
  echo: {
    timestamp: '1411443780',
    nonce: '437374425',
    encrypt: '4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==',
    signature: 'dd6b9c95b495b3f7e2901bfbc76c664930ffdb96',
  },
  message: {
    timestamp: '1411525903',
    nonce: '461056294',
    encrypt:
      'RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=',
    signature: '74d92dfeb87ba7c714f89d98870ae5eb62dff26d',
  },
};

/** Printable ASCII: what tokens (A–Z a–z 0–9), timestamps, nonces and base64 are made of. */
const ascii = fc.string({ unit: fc.constantFrom(...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i))), maxLength: 40 });

describe('callbackSignature (plain `signature`)', () => {
  it('is the SHA-1 of token, timestamp and nonce sorted, whatever order they come in', () => {
    // WeChat's documentation sample values; sorted: timestamp < token < nonce.
    expect(callbackSignature('pamtest', '1409304348', 'xxxxxx')).toBe(sha1('1409304348pamtestxxxxxx'));
    // A token that sorts last, and one that sorts first.
    expect(callbackSignature('zzToken', '1700000000', 'abc')).toBe(sha1('1700000000abczzToken'));
    expect(callbackSignature('0token', '1700000000', 'abc')).toBe(sha1('0token1700000000abc'));
    // Unsorted concatenation would give another digest.
    expect(callbackSignature('zzToken', '1700000000', 'abc')).not.toBe(sha1('zzToken1700000000abc'));
  });

  it('sorts by code unit, not by locale or number (upper case before lower case; "10" before "9")', () => {
    expect(callbackSignature('b', 'B', 'a')).toBe(sha1('Bab'));
    expect(callbackSignature('9', '10', 'x')).toBe(sha1('109x'));
  });

  it('is never the msg_signature of the same request (the two are not interchangeable)', () => {
    const { token, message } = WECHATPY;
    expect(callbackSignature(token, message.timestamp, message.nonce)).not.toBe(message.signature);
  });

  it('agrees with the test player’s independent implementation for any ASCII parts', () => {
    fc.assert(
      fc.property(ascii, ascii, ascii, (token, timestamp, nonce) => {
        expect(callbackSignature(token, timestamp, nonce)).toBe(wechatSignature(token, timestamp, nonce));
      }),
    );
  });
});

describe('messageSignature (safe-mode `msg_signature`)', () => {
  it('matches the msg_signatures published with wechatpy’s tests', () => {
    const { token, echo, message } = WECHATPY;
    expect(messageSignature(token, echo.timestamp, echo.nonce, echo.encrypt)).toBe(echo.signature);
    expect(messageSignature(token, message.timestamp, message.nonce, message.encrypt)).toBe(message.signature);
  });

  it('changes with every part, the Encrypt value included', () => {
    const { token, message } = WECHATPY;
    const base = messageSignature(token, message.timestamp, message.nonce, message.encrypt);
    expect(messageSignature('1234567', message.timestamp, message.nonce, message.encrypt)).not.toBe(base);
    expect(messageSignature(token, '1411525904', message.nonce, message.encrypt)).not.toBe(base);
    expect(messageSignature(token, message.timestamp, '461056295', message.encrypt)).not.toBe(base);
    expect(messageSignature(token, message.timestamp, message.nonce, `${message.encrypt.slice(0, -2)}A=`)).not.toBe(base);
  });

  it('agrees with the test player’s independent implementation for any ASCII parts', () => {
    fc.assert(
      fc.property(ascii, ascii, ascii, ascii, (token, timestamp, nonce, encrypt) => {
        expect(messageSignature(token, timestamp, nonce, encrypt)).toBe(wechatSignature(token, timestamp, nonce, encrypt));
      }),
    );
  });
});

describe('signatureMatches', () => {
  const expected = callbackSignature('pamtest', '1409304348', 'xxxxxx');

  it('accepts the digest, in either letter case', () => {
    expect(signatureMatches(expected, expected)).toBe(true);
    expect(signatureMatches(expected, expected.toUpperCase())).toBe(true);
  });

  it('refuses a digest that differs in any one hex digit', () => {
    for (let i = 0; i < expected.length; i++) {
      const other = expected.slice(0, i) + (expected[i] === 'f' ? 'e' : 'f') + expected.slice(i + 1);
      expect(signatureMatches(expected, other), `digit ${i}`).toBe(false);
    }
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['one digit short', expected.slice(0, -1)],
    ['one digit long', `${expected}0`],
    ['a prefix', expected.slice(0, 20)],
    ['not hex, same length', `${expected.slice(0, -1)}g`],
    ['hex with a space', `${expected.slice(0, -1)} `],
    ['the digest of something else', sha1('other')],
  ])('refuses a presented value that is %s', (_what, presented) => {
    expect(signatureMatches(expected, presented)).toBe(false);
  });

  it('refuses non-string values that a query parser could hand it', () => {
    expect(signatureMatches(expected, [expected] as unknown as string)).toBe(false);
    expect(signatureMatches(expected, { toString: () => expected } as unknown as string)).toBe(false);
  });

  it('never throws and matches exactly when the strings are equal (ignoring hex case), for any input', () => {
    const mixedCase = fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }).map((upper) => [...expected].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));
    const hex40 = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 40, maxLength: 40 });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 50 }), hex40, mixedCase), (presented) => {
        expect(signatureMatches(expected, presented)).toBe(presented.toLowerCase() === expected);
      }),
    );
  });
});
