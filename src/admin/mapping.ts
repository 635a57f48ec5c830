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

/** Spellings of `active` in an import (contract §11): empty means active, as in the PUT call. */
export const ACTIVE_SPELLINGS = '是/否、启用/停用、在职/离职、true/false、1/0，留空为启用';

const ACTIVE_TRUE = new Set(['', 'true', '1', 'yes', 'y', '是', '启用', '在职', '有效', '√']);
const ACTIVE_FALSE = new Set(['false', '0', 'no', 'n', '否', '停用', '离职', '无效', '×']);

export function parseActive(raw: string): boolean | null {
  const value = raw.trim().toLowerCase();
  if (ACTIVE_TRUE.has(value)) return true;
  if (ACTIVE_FALSE.has(value)) return false;
  return null;
}

// The same checks said in Chinese for the import report, which names the column itself: each
// answers what is wrong with the value (`不是有效的openid…`), or null exactly when the English
// check above does.

export function employeeNoFault(employeeNo: string): string | null {
  if (employeeNoProblem(employeeNo) === null) return null;
  if (employeeNo === '') return '为空';
  if (employeeNo.length > MAX_EMPLOYEE_NO) return `超过 ${MAX_EMPLOYEE_NO} 个字符`;
  return hiddenCharacterFault(employeeNo) ?? '不能含有控制字符或斜杠（/、\\）';
}

export function openidFault(openid: string | undefined): string | null {
  return openidProblem(openid) === null ? null : '不是有效的openid（6–64位字母、数字、_、-）';
}

export function nameFault(name: string): string | null {
  if (nameProblem(name) === null) return null;
  if (name.length > MAX_NAME) return `超过 ${MAX_NAME} 个字符`;
  return hiddenCharacterFault(name) ?? '无效';
}

function hiddenCharacterFault(value: string): string | null {
  const found = firstInvisibleOrControl(value);
  return found ? `含有控制字符或不可见字符（${codePoint(found.char)}，第 ${position(value, found.index)} 个字符）` : null;
}

/** `openid` undefined keeps the stored one (or none for a new employee); null removes it. */
export function mappingFrom(employeeNo: string, openid: string | null | undefined, name: string | null, active: boolean): MappingInput {
  return { employeeNo, openid, name: name === null ? null : name.trim(), active };
}
