import { createHash, timingSafeEqual } from 'node:crypto';

// WeChat signs every callback with SHA-1 over its parts sorted as strings (the reference PHP uses
// `sort(…, SORT_STRING)`: byte order, which is code-unit order for the ASCII WeChat sends). Plain
// mode signs token, timestamp and nonce (`signature`); safe mode signs the `Encrypt` value as well
// (`msg_signature`). SDK trackers are full of the two being mixed up: they are two functions here.

export function callbackSignature(token: string, timestamp: string, nonce: string): string {
  return sha1OfSorted([token, timestamp, nonce]);
}

export function messageSignature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return sha1OfSorted([token, timestamp, nonce, encrypt]);
}

function sha1OfSorted(parts: string[]): string {
  // An explicit comparator: the default sort would do the same today, but says nothing about why.
  const sorted = [...parts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha1').update(sorted.join(''), 'utf8').digest('hex');
}

/**
 * Whether `presented` is the hex digest `expected`, in constant time over the bytes. A value that
 * is missing, of another length or not hex is simply not a match: it comes from the internet, and
 * a refusal (403) is the whole answer. Hex letters match in either case, as bytes do.
 */
export function signatureMatches(expected: string, presented: string | undefined): boolean {
  if (typeof presented !== 'string' || presented.length !== expected.length) return false;
  if (!isEvenHex(expected) || !isEvenHex(presented)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(presented, 'hex'));
}

function isEvenHex(text: string): boolean {
  if (text.length === 0 || text.length % 2 !== 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const lower = c | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (lower >= 0x61 && lower <= 0x66))) return false;
  }
  return true;
}
