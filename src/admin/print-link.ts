import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AdminCredential } from '../config.js';

// The print view opens in a new browser tab, which cannot send the page's bearer token: the page
// asks the API for a link signed with a key derived from the admin tokens, valid a few minutes.
// Anyone holding the link sees those slips (codes included) until it expires, and nothing else.

export const PRINT_LINK_TTL_S = 300;
export const PRINT_PATH = '/admin/invitations/print';

function keyOf(credentials: AdminCredential[]): Buffer {
  return createHash('sha256')
    .update(`print-link\n${credentials.map((c) => c.token).join('\n')}`)
    .digest();
}

function signatureOf(key: Buffer, employeeNos: string[], expires: number): string {
  return createHmac('sha256', key).update(JSON.stringify([employeeNos, expires])).digest('hex');
}

export function printLink(credentials: AdminCredential[], employeeNos: string[], now = Date.now()): string {
  const expires = Math.floor(now / 1000) + PRINT_LINK_TTL_S;
  // One `e` per employee: an employee number may hold a comma.
  const query = new URLSearchParams(employeeNos.map((no): [string, string] => ['e', no]));
  query.set('expires', String(expires));
  query.set('sig', signatureOf(keyOf(credentials), employeeNos, expires));
  return `${PRINT_PATH}?${query.toString()}`;
}

/** The `e` parameters of a print link (one per employee); null when they are not all text. */
export function employeeNosOf(e: unknown): string[] | null {
  return typeof e === 'string' ? [e] : Array.isArray(e) && e.every((v) => typeof v === 'string') ? (e as string[]) : null;
}

/** The employee numbers a signed link names; null when the signature is wrong or the link expired. */
export function verifyPrintLink(credentials: AdminCredential[], query: Record<string, unknown>, now = Date.now()): string[] | null {
  const { e, expires, sig } = query;
  const employeeNos = employeeNosOf(e);
  if (employeeNos === null || typeof expires !== 'string' || typeof sig !== 'string' || !/^\d{1,12}$/.test(expires)) return null;
  if (Number(expires) < now / 1000) return null;
  const expected = Buffer.from(signatureOf(keyOf(credentials), employeeNos, Number(expires)), 'hex');
  const given = Buffer.from(sig, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) ? employeeNos : null;
}
