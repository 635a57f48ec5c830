import { firstInvisibleOrControl, MAX_EMPLOYEE_NO_LENGTH } from '../identifiers.js';
import type { MappingInput } from '../types.js';

// What a valid employee ↔ openid mapping is (contract §6), for the PUT body and CSV lines alike.
// Each check answers `field: what is wrong`, or null when the value is fine.

export const OPENID_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;
export const MAX_EMPLOYEE_NO = MAX_EMPLOYEE_NO_LENGTH;
export const MAX_NAME = 100;

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** For values that are stored: the employee number being written (PUT, import). */
export function employeeNoProblem(employeeNo: string): string | null {
  if (employeeNo === '' || employeeNo.length > MAX_EMPLOYEE_NO) return employeeNoLookupProblem(employeeNo);
  return hiddenCharacterProblem('employeeNo', employeeNo) ?? employeeNoLookupProblem(employeeNo);
}

/**
 * For values that are only looked up (GET, DELETE): the rule as it was before invisible
 * characters were refused, so that a mapping stored back then can still be read and removed.
 */
export function employeeNoLookupProblem(employeeNo: string): string | null {
  if (employeeNo === '') return 'employeeNo: must not be empty';
  if (employeeNo.length > MAX_EMPLOYEE_NO) return `employeeNo: at most ${MAX_EMPLOYEE_NO} characters`;
  if ([...employeeNo].some((c) => c.charCodeAt(0) < 0x20 || c === '/' || c === '\\')) return 'employeeNo: must not contain control characters or slashes';
  return null;
}

/** An openid is optional (an employee may be known before they bind, contract §9); when given it must look like one. */
export function openidProblem(openid: unknown): string | null {
  if (openid === undefined || openid === null) return null;
  return typeof openid === 'string' && OPENID_PATTERN.test(openid) ? null : 'openid: must be 6–64 characters of A-Z a-z 0-9 _ -, or null';
}

/** The name as it will be stored, i.e. after trimming. */
export function nameProblem(name: unknown): string | null {
  if (name === undefined || name === null) return null;
  if (typeof name !== 'string' || name.length > MAX_NAME) return `name: must be text of at most ${MAX_NAME} characters`;
  return hiddenCharacterProblem('name', name);
}

/** `field: must not contain …` naming the first offending character and where it is (1-based). */
export function hiddenCharacterProblem(field: string, value: string): string | null {
  // The push path's rule (src/identifiers.ts): what an admin may store is what a push may carry.
  const found = firstInvisibleOrControl(value);
  if (!found) return null;
  return `${field}: must not contain control or invisible characters (${codePoint(found.char)} at character ${position(value, found.index)})`;
}

/** For search and filter text: only what cannot be stored or compared at all. */
export function controlCharacterProblem(field: string, value: string): string | null {
  const found = CONTROL.exec(value);
  return found ? `${field}: must not contain control characters (${codePoint(found[0])} at character ${position(value, found.index)})` : null;
}

/** 1-based, counting characters as people do (a surrogate pair is one). */
function position(value: string, index: number): number {
  return [...value.slice(0, index)].length + 1;
}

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** CSV spellings of `active`: empty means active, as in the PUT call. */
export function parseActive(raw: string): boolean | null {
  const value = raw.trim().toLowerCase();
  if (['', 'true', '1', 'yes', 'y', '是', '启用', '有效'].includes(value)) return true;
  if (['false', '0', 'no', 'n', '否', '停用', '无效'].includes(value)) return false;
  return null;
}

/** `openid` undefined keeps the stored one (or none for a new employee); null removes it. */
export function mappingFrom(employeeNo: string, openid: string | null | undefined, name: string | null, active: boolean): MappingInput {
  return { employeeNo, openid, name: name === null ? null : name.trim(), active };
}
