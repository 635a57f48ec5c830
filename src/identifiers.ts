// What a usable message id and employee number are, wherever one arrives: in a push, through the
// admin API, in an import. One rule, so a number a push may carry is exactly one an admin may bind. Pure.

/** Longest GUID kept: Postgres indexes `messages.guid`, and an id longer than any ERP's is not an id. */
export const MAX_GUID_LENGTH = 128;

/** The mapping table's limit (`employees.employee_no`, `length() <= 64`). */
export const MAX_EMPLOYEE_NO_LENGTH = 64;

/**
 * C0 and C1 controls (DEL too), the soft hyphen, zero-width spaces, joiners and direction marks
 * (U+200B–U+200F), bidi embeddings and overrides (U+202A–U+202E), word joiner and invisible
 * operators (U+2060–U+2064), bidi isolates (U+2066–U+2069), the BOM, and lone surrogates. Two
 * employee numbers that look the same must be the same: one of these makes a lookup miss that no
 * one can see. The admin API refuses the same set in the numbers and names it stores.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const INVISIBLE_OR_CONTROL = /[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|\p{Cs}/u;

/** Characters as Postgres `length()` counts them (code points), counting no further than `limit + 1`. */
export function exceedsLength(text: string, limit: number): boolean {
  if (text.length <= limit) return false;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) i++;
    if (++count > limit) return true;
  }
  return false;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Whether an (already trimmed) identifier holds a control or invisible format character. */
export function hasInvisibleOrControl(identifier: string): boolean {
  return INVISIBLE_OR_CONTROL.test(identifier);
}

/** The first such character and its index, for messages that point at it. */
export function firstInvisibleOrControl(text: string): { char: string; index: number } | null {
  const found = INVISIBLE_OR_CONTROL.exec(text);
  return found ? { char: found[0], index: found.index } : null;
}
