import { createHash, timingSafeEqual } from 'node:crypto';

// Shared secrets (admin tokens, the push token) are compared in constant time over their SHA-256
// digests: equal lengths for timingSafeEqual, and nothing about a secret's length leaks.

export type SecretDigest = Buffer;

export function digestOf(secret: string): SecretDigest {
  return createHash('sha256').update(secret).digest();
}

export function sameSecret(presented: string, expected: SecretDigest): boolean {
  return timingSafeEqual(digestOf(presented), expected);
}
