import { randomInt } from 'node:crypto';
import { BIND_CODE_ALPHABET, BIND_CODE_LENGTH } from '../callback/message.js';

// The secrets of an invitation (contract §9), from the operating system's CSPRNG. A code is
// 8 characters of a 31-letter alphabet without look-alikes (8.5 × 10^11 codes: with 5 guesses an
// hour per openid, guessing one open code is out of reach); a QR scene is 24 characters of a–z 0–9
// (about 124 bits), never typed by anyone.

const SCENE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const SCENE_LENGTH = 24;

function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export function newBindCode(): string {
  return randomString(BIND_CODE_ALPHABET, BIND_CODE_LENGTH);
}

export function newScene(): string {
  return randomString(SCENE_ALPHABET, SCENE_LENGTH);
}
