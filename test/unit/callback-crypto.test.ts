import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AES_KEY_CHARS, decrypt, encrypt, parseAesKeys } from '../../src/callback/crypto.js';
import { aesKeyBytes, wechatDecrypt, wechatEncrypt, type Padding } from '../support/wechat-callback.js';

// Safe mode (contract §8): AES-256-CBC, key = base64(EncodingAESKey + '='), IV = the key's first
// 16 bytes, plaintext = 16 random bytes ‖ 4-byte big-endian XML length ‖ XML ‖ AppID, PKCS#7 to
// 32-byte blocks. Checked against vectors published by WeChat and wechatpy, and against the test
// player's independent implementation (test/support/wechat-callback.ts) in both directions.

/** WeChat's official sample code (WXBizMsgCryptTest, shipped with the 消息加解密 demo for Java). */
const OFFICIAL = {
  encodingAesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  appId: 'wxb11529c136998cb6',
  random: 'aaaabbbbccccdddd',
  text: '我是中文abcd123',
  textEncrypted: 'jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==',
  video:
    '<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>',
  videoEncrypted:
    'jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb',
};

/** wechatpy's tests (tests/test_crypto.py): the same scheme, another key and AppID. */
const WECHATPY = {
  encodingAesKey: 'kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR',
  appId: 'wx49f0ab532d5d035a',
  random: '1234567890123456',
  reply:
    '<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>',
  replyEncrypted:
    '9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3',
  // A message posted by WeChat (random prefix unknown): only its plaintext is published, in part.
  message:
    'RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=',
  echo: '4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==',
};

const KEY_NEW = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const KEY_OLD = 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut';
const KEY_OTHER = 'kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR';
const APPID = 'wx1234567890abcdef';
const XML = '<xml><ToUserName><![CDATA[gh_fakeaccount01]]></ToUserName><FromUserName><![CDATA[oUser0001]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[绑定 ABCD2345]]></Content><MsgId>1</MsgId></xml>';

const keysOf = (raw: string): Buffer[] => parseAesKeys(raw);

/** AES-256-CBC of `plain` exactly as given (no padding added): for plaintexts WeChat would never make. */
function encryptRaw(plain: Buffer, encodingAesKey: string): string {
  const key = aesKeyBytes(encodingAesKey);
  const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  c.setAutoPadding(false);
  return Buffer.concat([c.update(plain), c.final()]).toString('base64');
}

/** random16 ‖ length ‖ xml ‖ appId, length as given, padded PKCS#7 to 32. */
function plaintext(xml: Buffer, appId: string, declaredLength = xml.length): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(declaredLength);
  const body = Buffer.concat([Buffer.alloc(16, 7), length, xml, Buffer.from(appId)]);
  const n = 32 - (body.length % 32);
  return Buffer.concat([body, Buffer.alloc(n, n)]);
}

describe('decrypt and encrypt: published vectors', () => {
  it('encrypts WeChat’s official sample to the published ciphertext, and reads it back', () => {
    const [key] = keysOf(OFFICIAL.encodingAesKey);
    const random = Buffer.from(OFFICIAL.random);
    expect(encrypt(OFFICIAL.text, key!, OFFICIAL.appId, random)).toBe(OFFICIAL.textEncrypted);
    expect(encrypt(OFFICIAL.video, key!, OFFICIAL.appId, random)).toBe(OFFICIAL.videoEncrypted);
    expect(decrypt(OFFICIAL.textEncrypted, [key!], OFFICIAL.appId)).toEqual({ xml: OFFICIAL.text, keyIndex: 0 });
    expect(decrypt(OFFICIAL.videoEncrypted, [key!], OFFICIAL.appId)).toEqual({ xml: OFFICIAL.video, keyIndex: 0 });
  });

  it('encrypts wechatpy’s reply vector to its published ciphertext', () => {
    const [key] = keysOf(WECHATPY.encodingAesKey);
    expect(encrypt(WECHATPY.reply, key!, WECHATPY.appId, Buffer.from(WECHATPY.random))).toBe(WECHATPY.replyEncrypted);
    expect(decrypt(WECHATPY.replyEncrypted, [key!], WECHATPY.appId)?.xml).toBe(WECHATPY.reply);
  });

  it('reads the message and the URL-verification echostr WeChat encrypted (wechatpy’s vectors)', () => {
    const [key] = keysOf(WECHATPY.encodingAesKey);
    const message = decrypt(WECHATPY.message, [key!], WECHATPY.appId);
    expect(message?.xml).toContain('<FromUserName><![CDATA[messense]]></FromUserName>');
    expect(message?.xml).toContain('<Content><![CDATA[test]]></Content>');
    expect(message?.xml).toContain('<MsgId>4363689963896700987</MsgId>');
    expect(message?.xml.startsWith('<xml>') && message.xml.endsWith('</xml>')).toBe(true);
    expect(decrypt(WECHATPY.echo, [key!], WECHATPY.appId)?.xml).toBe('5927782489442352469');
  });

  it('pins the test player to the same vectors, so it is a second implementation and not a copy of a bug', () => {
    expect(wechatEncrypt(OFFICIAL.text, OFFICIAL.encodingAesKey, OFFICIAL.appId, { random16: Buffer.from(OFFICIAL.random) })).toBe(OFFICIAL.textEncrypted);
    expect(wechatEncrypt(WECHATPY.reply, WECHATPY.encodingAesKey, WECHATPY.appId, { random16: Buffer.from(WECHATPY.random) })).toBe(WECHATPY.replyEncrypted);
    expect(wechatDecrypt(WECHATPY.echo, WECHATPY.encodingAesKey, WECHATPY.appId)).toBe('5927782489442352469');
  });
});

describe('decrypt and encrypt: round trips against the independent implementation', () => {
  // Any text at all, emoji and CJK included; AppIDs as WeChat issues them.
  const xmlText = fc.string({ unit: 'grapheme', maxLength: 300 });
  const appId = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 16, maxLength: 16 }).map((s) => `wx${s}`);

  it('reads what the player encrypts, and the player reads what it encrypts', () => {
    const [key] = keysOf(KEY_NEW);
    fc.assert(
      fc.property(xmlText, appId, (xml, id) => {
        expect(decrypt(wechatEncrypt(xml, KEY_NEW, id), [key!], id)).toEqual({ xml, keyIndex: 0 });
        const ours = encrypt(xml, key!, id);
        expect(wechatDecrypt(ours, KEY_NEW, id)).toBe(xml);
        expect(decrypt(ours, [key!], id)?.xml).toBe(xml);
      }),
    );
  });

  it('pads to whole 32-byte blocks: a full block of 32s when already aligned', () => {
    const [key] = keysOf(KEY_NEW);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), (n) => {
        const xml = 'x'.repeat(n);
        const bytes = Buffer.from(encrypt(xml, key!, APPID), 'base64').length;
        const unpadded = 16 + 4 + n + APPID.length;
        expect(bytes % 32).toBe(0);
        expect(bytes - unpadded).toBe(32 - (unpadded % 32));
      }),
    );
  });

  it('uses a fresh random prefix for each message', () => {
    const [key] = keysOf(KEY_NEW);
    expect(encrypt(XML, key!, APPID)).not.toBe(encrypt(XML, key!, APPID));
  });

  it('refuses to encrypt with a key or a prefix of the wrong size', () => {
    expect(() => encrypt(XML, Buffer.alloc(16), APPID)).toThrow(/32 bytes/);
    const [key] = keysOf(KEY_NEW);
    expect(() => encrypt(XML, key!, APPID, Buffer.alloc(8))).toThrow(/16 bytes/);
  });
});

describe('decrypt during a key change (NEW,OLD)', () => {
  const keys = keysOf(`${KEY_NEW},${KEY_OLD}`);

  it('reads messages under either key and says which one read it', () => {
    expect(decrypt(wechatEncrypt(XML, KEY_NEW, APPID), keys, APPID)).toEqual({ xml: XML, keyIndex: 0 });
    expect(decrypt(wechatEncrypt(XML, KEY_OLD, APPID), keys, APPID)).toEqual({ xml: XML, keyIndex: 1 });
  });

  it('reads nothing under a third key, nor under the other key alone', () => {
    expect(decrypt(wechatEncrypt(XML, KEY_OTHER, APPID), keys, APPID)).toBeNull();
    expect(decrypt(wechatEncrypt(XML, KEY_OLD, APPID), [keys[0]!], APPID)).toBeNull();
    expect(decrypt(wechatEncrypt(XML, KEY_NEW, APPID), [keys[1]!], APPID)).toBeNull();
  });

  it('reads nothing with no key at all', () => {
    expect(decrypt(wechatEncrypt(XML, KEY_NEW, APPID), [], APPID)).toBeNull();
  });
});

describe('decrypt refuses what WeChat did not write for us (null, never a throw)', () => {
  const keys = keysOf(KEY_NEW);

  it('a message for another AppID, however close', () => {
    for (const other of ['wx1234567890abcdeF', 'wx1234567890abcde', 'wx1234567890abcdef0', '', ` ${APPID}`]) {
      expect(decrypt(wechatEncrypt(XML, KEY_NEW, other), keys, APPID), JSON.stringify(other)).toBeNull();
    }
    // The same message is fine for the AppID it was made for.
    expect(decrypt(wechatEncrypt(XML, KEY_NEW, 'wx1234567890abcde'), keys, 'wx1234567890abcde')?.xml).toBe(XML);
  });

  it.each<[string, Padding]>([
    ['a pad byte of 0', 'zero'],
    ['a pad value above 32', 'over-32'],
    ['pad bytes that disagree', 'inconsistent'],
  ])('bad padding: %s', (_what, padding) => {
    expect(decrypt(wechatEncrypt(XML, KEY_NEW, APPID, { padding }), keys, APPID)).toBeNull();
  });

  it('bad padding: a pad byte of 0 even where the bytes before it would read (an AppID ending in NUL)', () => {
    // Without padding the plaintext ends in the AppID itself; make it end in a 0 byte and fill a whole block.
    const appId = 'wx1234567890ab\u0000';
    let xml = XML;
    while ((16 + 4 + Buffer.byteLength(xml) + Buffer.byteLength(appId)) % 32 !== 0) xml += ' ';
    const length = Buffer.alloc(4);
    length.writeUInt32BE(Buffer.byteLength(xml));
    const unpadded = Buffer.concat([Buffer.alloc(16, 7), length, Buffer.from(xml), Buffer.from(appId)]);
    expect(decrypt(encryptRaw(unpadded, KEY_NEW), keys, appId)).toBeNull();
    // Padded as WeChat pads, the same plaintext reads.
    expect(decrypt(encryptRaw(Buffer.concat([unpadded, Buffer.alloc(32, 32)]), KEY_NEW), keys, appId)?.xml).toBe(xml);
  });

  it('bad padding: AES’s own PKCS#7 to 16 bytes, leaving half a 32-byte block', () => {
    // Pick an XML whose plaintext ends in the first half of a 32-byte block, so padding to 16 differs from padding to 32.
    let xml = XML;
    while ((16 + 4 + Buffer.byteLength(xml) + APPID.length) % 32 === 0 || (16 + 4 + Buffer.byteLength(xml) + APPID.length) % 32 >= 16) xml += ' ';
    const encrypted = wechatEncrypt(xml, KEY_NEW, APPID, { padding: 'pkcs7-16' });
    expect(Buffer.from(encrypted, 'base64').length % 32).toBe(16);
    expect(decrypt(encrypted, keys, APPID)).toBeNull();
    // The same XML padded as WeChat pads it reads.
    expect(decrypt(wechatEncrypt(xml, KEY_NEW, APPID), keys, APPID)?.xml).toBe(xml);
  });

  it('a value cut short: by a 16-byte block, by a 32-byte block, by one base64 character', () => {
    const xml = `<xml>${'a'.repeat(200)}</xml>`;
    const encrypted = wechatEncrypt(xml, KEY_NEW, APPID);
    const bytes = Buffer.from(encrypted, 'base64');
    expect(decrypt(bytes.subarray(0, bytes.length - 16).toString('base64'), keys, APPID)).toBeNull();
    expect(decrypt(bytes.subarray(0, bytes.length - 32).toString('base64'), keys, APPID)).toBeNull();
    expect(decrypt(encrypted.slice(0, -1), keys, APPID)).toBeNull();
    expect(decrypt(bytes.subarray(0, 32).toString('base64'), keys, APPID)).toBeNull();
  });

  it('a declared XML length that runs past the plaintext, or leaves no room for the AppID', () => {
    const xml = Buffer.from(XML);
    expect(decrypt(encryptRaw(plaintext(xml, APPID), KEY_NEW), keys, APPID)?.xml).toBe(XML);
    expect(decrypt(encryptRaw(plaintext(xml, APPID, xml.length + APPID.length + 1), KEY_NEW), keys, APPID)).toBeNull();
    expect(decrypt(encryptRaw(plaintext(xml, APPID, 0xffffffff), KEY_NEW), keys, APPID)).toBeNull();
    // Declared one byte longer: the XML swallows the AppID's first byte, which then does not match.
    expect(decrypt(encryptRaw(plaintext(xml, APPID, xml.length + 1), KEY_NEW), keys, APPID)).toBeNull();
    expect(decrypt(encryptRaw(plaintext(xml, APPID, xml.length - 1), KEY_NEW), keys, APPID)).toBeNull();
    // The length is checked for itself, not only through the AppID that follows (here: none).
    expect(decrypt(encryptRaw(plaintext(xml, ''), KEY_NEW), keys, '')?.xml).toBe(XML);
    expect(decrypt(encryptRaw(plaintext(xml, '', xml.length + 5), KEY_NEW), keys, '')).toBeNull();
  });

  it('a plaintext shorter than its random prefix and length', () => {
    expect(decrypt(encryptRaw(Buffer.concat([Buffer.alloc(16, 1), Buffer.alloc(16, 16)]), KEY_NEW), keys, '')).toBeNull();
  });

  it('XML that is not UTF-8', () => {
    const notUtf8 = Buffer.from([0x3c, 0x78, 0xff, 0xfe, 0x3e]);
    expect(decrypt(encryptRaw(plaintext(notUtf8, APPID), KEY_NEW), keys, APPID)).toBeNull();
  });

  it.each([
    ['empty', ''],
    ['not base64 at all', '!!!!!!!!'],
    ['base64 with a line break', `${wechatEncrypt(XML, KEY_NEW, APPID).slice(0, 20)}\n${wechatEncrypt(XML, KEY_NEW, APPID).slice(20)}`],
    ['URL-safe base64', wechatEncrypt(XML, KEY_NEW, APPID).replace(/\+/g, '-').replace(/\//g, '_')],
    ['padding only', '===='],
    ['padding in the middle', 'AAAA=AAA'],
    ['a length not a multiple of 4', 'AAAAA'],
    ['16 bytes', Buffer.alloc(16).toString('base64')],
    ['48 bytes', Buffer.alloc(48).toString('base64')],
    ['32 zero bytes', Buffer.alloc(32).toString('base64')],
  ])('a value that is %s', (_what, value) => {
    expect(decrypt(value, keys, APPID)).toBeNull();
  });

  it('a message under a key that is not ours', () => {
    expect(decrypt(wechatEncrypt(XML, KEY_OTHER, APPID), keys, APPID)).toBeNull();
  });

  it('anything at all: never throws, and reads only what decrypts for our key and AppID', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('base64'))), (value) => {
        expect(() => decrypt(value, keys, APPID)).not.toThrow();
        const read = decrypt(value, keys, APPID);
        if (read !== null) expect(wechatDecrypt(value, KEY_NEW, APPID)).toBe(read.xml);
      }),
    );
    expect(decrypt(undefined as unknown as string, keys, APPID)).toBeNull();
  });
});

describe('parseAesKeys (WECHAT_ENCODING_AES_KEY)', () => {
  it('reads one key as the 32 bytes of its base64', () => {
    const keys = parseAesKeys(KEY_NEW);
    expect(keys).toHaveLength(1);
    expect(keys[0]!.equals(Buffer.from(`${KEY_NEW}=`, 'base64'))).toBe(true);
    expect(keys[0]!.length).toBe(32);
    expect(AES_KEY_CHARS).toBe(43);
  });

  it('reads NEW,OLD in that order, ignoring spaces around them', () => {
    const keys = parseAesKeys(` ${KEY_NEW} , ${KEY_OLD} `);
    expect(keys).toHaveLength(2);
    expect(keys[0]!.equals(Buffer.from(`${KEY_NEW}=`, 'base64'))).toBe(true);
    expect(keys[1]!.equals(Buffer.from(`${KEY_OLD}=`, 'base64'))).toBe(true);
  });

  it('accepts a last character whose two spare bits are set, as WeChat generates them', () => {
    // 'B' (000001) sets a spare bit; it reads as 'A' (000000) does.
    const a = `${KEY_NEW.slice(0, 42)}A`;
    const b = `${KEY_NEW.slice(0, 42)}B`;
    expect(parseAesKeys(b)[0]!.equals(parseAesKeys(a)[0]!)).toBe(true);
  });

  it.each([
    ['empty', '', /exactly 43 characters.*got 0/],
    ['42 characters', KEY_NEW.slice(0, 42), /exactly 43 characters.*got 42/],
    ['44 characters', `${KEY_NEW}=`, /exactly 43 characters.*got 44/],
    ['a character outside base64', `${KEY_NEW.slice(0, 10)}-${KEY_NEW.slice(11)}`, /not base64 at position 11/],
    ['a space inside', `${KEY_NEW.slice(0, 5)} ${KEY_NEW.slice(6)}`, /not base64 at position 6/],
    ['three keys', `${KEY_NEW},${KEY_OLD},${KEY_OTHER}`, /one key, or two as NEW,OLD.*got 3/],
    ['a bad NEW key', `${KEY_NEW.slice(1)},${KEY_OLD}`, /NEW \(first\) key must be exactly 43/],
    ['a bad OLD key', `${KEY_NEW},${KEY_OLD}!`, /OLD \(second\) key must be exactly 43/],
    ['a trailing comma', `${KEY_NEW},`, /OLD \(second\) key must be exactly 43.*got 0/],
  ])('refuses %s, saying what is wrong', (_what, raw, message) => {
    expect(() => parseAesKeys(raw)).toThrow(message);
  });

  it('never puts the key in its error message', () => {
    const secretish = `${KEY_NEW.slice(0, 20)}*${KEY_NEW.slice(21)}`;
    let message = '';
    try {
      parseAesKeys(secretish);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/not base64/);
    expect(message).not.toContain(KEY_NEW.slice(0, 20));
    expect(message).not.toContain(KEY_NEW.slice(21));
  });
});
