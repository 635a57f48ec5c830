import type { MappingInput } from './employee-store.js';

// What a valid employee ↔ openid mapping is (contract §6), for the PUT body and CSV lines alike.
// Each check answers `field: what is wrong`, or null when the value is fine.

export const OPENID_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;
export const MAX_EMPLOYEE_NO = 64;
export const MAX_NAME = 100;

export function employeeNoProblem(employeeNo: string): string | null {
  if (employeeNo === '') return 'employeeNo: must not be empty';
  if (employeeNo.length > MAX_EMPLOYEE_NO) return `employeeNo: at most ${MAX_EMPLOYEE_NO} characters`;
  if ([...employeeNo].some((c) => c.charCodeAt(0) < 0x20 || c === '/' || c === '\\')) return 'employeeNo: must not contain control characters or slashes';
  return null;
}

export function openidProblem(openid: unknown): string | null {
  return typeof openid === 'string' && OPENID_PATTERN.test(openid) ? null : 'openid: must be 6–64 characters of A-Z a-z 0-9 _ -';
}

export function nameProblem(name: unknown): string | null {
  if (name === undefined || name === null) return null;
  return typeof name === 'string' && name.length <= MAX_NAME ? null : `name: must be text of at most ${MAX_NAME} characters`;
}

/** CSV spellings of `active`: empty means active, as in the PUT call. */
export function parseActive(raw: string): boolean | null {
  const value = raw.trim().toLowerCase();
  if (['', 'true', '1', 'yes', 'y', '是', '启用', '有效'].includes(value)) return true;
  if (['false', '0', 'no', 'n', '否', '停用', '无效'].includes(value)) return false;
  return null;
}

export function mappingFrom(employeeNo: string, openid: string, name: string | null, active: boolean): MappingInput {
  return { employeeNo, openid, name: name === null ? null : name.trim(), active };
}
