import { badRequest } from './errors.js';

// Query-string parsing shared by the admin list endpoints (contract §7: limit ≤ 500, offset).

export interface Page {
  limit: number;
  offset: number;
}

export function pageOf(query: Record<string, unknown>): Page {
  return { limit: intParam(query, 'limit', 50, 1, 500), offset: intParam(query, 'offset', 0, 0, 10_000_000) };
}

export function stringParam(query: Record<string, unknown>, name: string): string | null {
  const value = query[name];
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string') throw badRequest(`${name}: give it once, as text`);
  return value.trim() === '' ? null : value.trim();
}

function intParam(query: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = stringParam(query, name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw badRequest(`${name}: expected a whole number from ${min} to ${max}`);
  return Number(raw);
}

export function boolParam(query: Record<string, unknown>, name: string): boolean | null {
  const raw = stringParam(query, name);
  if (raw === null) return null;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw badRequest(`${name}: expected true or false`);
}

/** `YYYY-MM-DD` (a local calendar day; as an upper bound the whole day is included) or an ISO timestamp. */
export function dateParam(query: Record<string, unknown>, name: string, end: boolean): Date | null {
  const raw = stringParam(query, name);
  if (raw === null) return null;
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  // Upper bounds are exclusive in SQL: the next day, or the next millisecond of a timestamp.
  const date = day ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3]) + (end ? 1 : 0)) : new Date(new Date(raw).getTime() + (end ? 1 : 0));
  if (Number.isNaN(date.getTime())) throw badRequest(`${name}: expected a date like 2026-11-22 or an ISO timestamp`);
  return date;
}
