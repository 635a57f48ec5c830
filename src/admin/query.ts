import { badRequest } from './errors.js';
import { controlCharacterProblem } from './mapping.js';

// Query-string parsing shared by the admin list endpoints (contract §7: limit ≤ 500, offset).
// Every value is checked here before it can reach Postgres, which refuses NUL in text and dates
// outside its range with errors that would otherwise read as "database unavailable".

export interface Page {
  limit: number;
  offset: number;
}

/** Longer than any GUID, employee number, actor name or search anyone types. */
export const MAX_PARAM_LENGTH = 256;
const MIN_YEAR = 1970;
const MAX_YEAR = 9999;

export function pageOf(query: Record<string, unknown>): Page {
  return { limit: intParam(query, 'limit', 50, 1, 500), offset: intParam(query, 'offset', 0, 0, 10_000_000) };
}

export function stringParam(query: Record<string, unknown>, name: string): string | null {
  const value = query[name];
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string') throw badRequest(`${name}: give it once, as text`);
  const trimmed = value.trim();
  if (trimmed === '') return null;
  const problem = textProblem(name, trimmed);
  if (problem) throw badRequest(problem);
  return trimmed;
}

/** Search and filter text, from the query string or the path. */
export function textProblem(name: string, value: string): string | null {
  if (value.length > MAX_PARAM_LENGTH) return `${name}: at most ${MAX_PARAM_LENGTH} characters`;
  return controlCharacterProblem(name, value);
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

/**
 * `YYYY-MM-DD` (a local calendar day; as an upper bound the whole day is included) or an ISO
 * timestamp `YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]` (local time without a zone). Years 1970–9999:
 * JavaScript accepts dates Postgres cannot hold, and an impossible day is not silently moved on.
 */
export function dateParam(query: Record<string, unknown>, name: string, end: boolean): Date | null {
  const raw = stringParam(query, name);
  if (raw === null) return null;
  const date = parseDate(raw, end);
  if (typeof date === 'string') throw badRequest(`${name}: ${date}`);
  return date;
}

const DATE_FORM = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** The instant, or what is wrong with the text. Upper bounds are exclusive in SQL: the next day, or the next millisecond. */
function parseDate(raw: string, end: boolean): Date | string {
  const m = DATE_FORM.exec(raw);
  if (!m) return 'expected a date like 2026-11-22 or an ISO timestamp like 2026-11-22T08:30:00+08:00';
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (year < MIN_YEAR || year > MAX_YEAR) return `the year must be from ${MIN_YEAR} to ${MAX_YEAR}`;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return `${raw.slice(0, 10)} is not a calendar day`;
  if (m[4] === undefined) return new Date(year, month - 1, day + (end ? 1 : 0));
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return `${raw} is not a time of day`;
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const zone = m[8];
  const offset = zone === undefined ? null : zoneOffsetMinutes(zone);
  if (offset !== null && !(Math.abs(offset) <= 14 * 60)) return `${zone} is not a time zone offset`;
  const time =
    offset === null ? new Date(year, month - 1, day, hour, minute, second, ms).getTime() : Date.UTC(year, month - 1, day, hour, minute, second, ms) - offset * 60_000;
  return new Date(time + (end ? 1 : 0));
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function zoneOffsetMinutes(zone: string): number {
  if (zone.toUpperCase() === 'Z') return 0;
  const digits = zone.replace(':', '');
  const [hours, minutes] = [Number(digits.slice(1, 3)), Number(digits.slice(3, 5))];
  if (minutes > 59) return Number.NaN;
  return (digits.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}
