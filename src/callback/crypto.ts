import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

// Safe mode (安全模式, contract §8). The key is the account's EncodingAESKey, 43 base64 characters
// plus '=', 32 bytes; the IV is its first 16 bytes; AES-256-CBC without the cipher's own padding,
// because WeChat pads PKCS#7-style to 32-byte blocks (pad value 1..32), not to AES's 16. The
// plaintext is 16 random bytes, the XML's byte length (4 bytes, big-endian), the XML (UTF-8) and
// the AppID. Every check the npm packages skip is done here: strict base64, the pad value and every
// pad byte, the declared length, UTF-8, and the AppID byte for byte.

export const AES_KEY_CHARS = 43;
const KEY_BYTES = 32;
const IV_BYTES = 16;
const RANDOM_BYTES = 16;
const LENGTH_BYTES = 4;
const PAD_BLOCK = 32;

/**
 * `WECHAT_ENCODING_AES_KEY`: one key, or `NEW,OLD` while the account changes its key. Throws a
 * plain Error saying what is wrong; the config layer names the variable. The key itself never
 * appears in the message.
 */
export function parseAesKeys(raw: string): Buffer[] {
  const parts = raw.split(',').map((part) => part.trim());
  if (parts.length > 2) throw new Error(`expected one key, or two as NEW,OLD during a key change; got ${parts.length}`);
  return parts.map((part, index) => parseAesKey(part, parts.length === 1 ? 'the key' : index === 0 ? 'the NEW (first) key' : 'the OLD (second) key'));
}

function parseAesKey(text: string, which: string): Buffer {
  if (text.length !== AES_KEY_CHARS) throw new Error(`${which} must be exactly ${AES_KEY_CHARS} characters (the EncodingAESKey from the account's server configuration), got ${text.length}`);
  const bad = firstNonBase64(text);
  if (bad !== -1) throw new Error(`${which} has a character that is not base64 at position ${bad + 1}`);
  // WeChat draws the 43 characters at random, so the last one's two spare bits are often set:
  // they are discarded, as WeChat does, rather than refused.
  const key = Buffer.from(`${text}=`, 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`${which} does not decode to ${KEY_BYTES} bytes`);
  return key;
}

/** Index of the first character outside A–Z a–z 0–9 + /, or -1. */
function firstNonBase64(text: string): number {
  for (let i = 0; i < text.length; i++) if (!isBase64Char(text.charCodeAt(i))) return i;
  return -1;
}

function isBase64Char(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
}

/** Canonical base64 only: Node's decoder skips what it does not know, which would let junk through. */
function strictBase64(text: string): Buffer | null {
  if (text.length === 0 || text.length % 4 !== 0) return null;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  for (let i = 0; i < text.length - padding; i++) if (!isBase64Char(text.charCodeAt(i))) return null;
  return Buffer.from(text, 'base64');
}

export interface Decrypted {
  xml: string;
  /** Which key read it: 0 the current one, 1 the old one during a key change. */
  keyIndex: number;
}

/**
 * Reads a safe-mode `Encrypt` value with the first key that yields a well-formed plaintext for
 * `appId`; null when none does. Never throws: the value comes from the internet.
 */
export function decrypt(encrypted: string, keys: Buffer[], appId: string): Decrypted | null {
  if (typeof encrypted !== 'string') return null;
  const data = strictBase64(encrypted);
  // WeChat pads to 32-byte blocks, so its ciphertexts are whole 32-byte blocks; one of 16, 48, … bytes
  // (AES's own 16-byte padding, or a value cut short by a block) was not written by WeChat.
  if (data === null || data.length === 0 || data.length % PAD_BLOCK !== 0) return null;
  const expectedAppId = Buffer.from(appId, 'utf8');
  for (let keyIndex = 0; keyIndex < keys.length; keyIndex++) {
    const plain = decipher(data, keys[keyIndex]!);
    const xml = plain === null ? null : unwrap(plain, expectedAppId);
    if (xml !== null) return { xml, keyIndex };
  }
  return null;
}

function decipher(data: Buffer, key: Buffer): Buffer | null {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) return null;
  try {
    const d = createDecipheriv('aes-256-cbc', key, key.subarray(0, IV_BYTES));
    d.setAutoPadding(false);
    return Buffer.concat([d.update(data), d.final()]);
  } catch {
    return null;
  }
}

/** The XML inside a deciphered plaintext, or null when anything about it is not as WeChat makes it. */
function unwrap(plain: Buffer, appId: Buffer): string | null {
  const unpadded = unpad(plain);
  if (unpadded === null || unpadded.length < RANDOM_BYTES + LENGTH_BYTES) return null;
  const xmlLength = unpadded.readUInt32BE(RANDOM_BYTES);
  const xmlStart = RANDOM_BYTES + LENGTH_BYTES;
  if (xmlLength > unpadded.length - xmlStart) return null;
  const xmlEnd = xmlStart + xmlLength;
  if (!unpadded.subarray(xmlEnd).equals(appId)) return null;
  return utf8(unpadded.subarray(xmlStart, xmlEnd));
}

function unpad(plain: Buffer): Buffer | null {
  const pad = plain[plain.length - 1];
  if (pad === undefined || pad < 1 || pad > PAD_BLOCK || pad > plain.length) return null;
  for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) return null;
  return plain.subarray(0, plain.length - pad);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes that are not UTF-8 were not written by WeChat: refused rather than read with U+FFFD. */
function utf8(bytes: Buffer): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Encrypts `xml` for `appId` as WeChat does; base64. `random16` is fixed only by tests. */
export function encrypt(xml: string, key: Buffer, appId: string, random16: Buffer = randomBytes(RANDOM_BYTES)): string {
  if (key.length !== KEY_BYTES) throw new Error(`an AES key must be ${KEY_BYTES} bytes, got ${key.length}`);
  if (random16.length !== RANDOM_BYTES) throw new Error(`the random prefix must be ${RANDOM_BYTES} bytes, got ${random16.length}`);
  const body = Buffer.from(xml, 'utf8');
  const length = Buffer.alloc(LENGTH_BYTES);
  length.writeUInt32BE(body.length);
  const plain = pad(Buffer.concat([random16, length, body, Buffer.from(appId, 'utf8')]));
  const c = createCipheriv('aes-256-cbc', key, key.subarray(0, IV_BYTES));
  c.setAutoPadding(false);
  return Buffer.concat([c.update(plain), c.final()]).toString('base64');
}

/** PKCS#7 to 32-byte blocks: always at least one byte, a whole block when already aligned. */
function pad(plain: Buffer): Buffer {
  const n = PAD_BLOCK - (plain.length % PAD_BLOCK);
  return Buffer.concat([plain, Buffer.alloc(n, n)]);
}
