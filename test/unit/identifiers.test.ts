import { describe, expect, it } from 'vitest';
import { exceedsLength, hasInvisibleOrControl, MAX_EMPLOYEE_NO_LENGTH, MAX_GUID_LENGTH } from '../../src/identifiers.js';

describe('identifier limits', () => {
  it('are what Postgres holds: 128 for a GUID, the mapping table\'s 64 for an employee number', () => {
    expect(MAX_GUID_LENGTH).toBe(128);
    expect(MAX_EMPLOYEE_NO_LENGTH).toBe(64);
  });

  it('count characters as Postgres length() does: a character outside the BMP is one', () => {
    expect(exceedsLength('9'.repeat(64), 64)).toBe(false);
    expect(exceedsLength('9'.repeat(65), 64)).toBe(true);
    expect(exceedsLength('𠀋'.repeat(64), 64)).toBe(false);
    expect(exceedsLength(`${'𠀋'.repeat(64)}9`, 64)).toBe(true);
    expect(exceedsLength('', 0)).toBe(false);
  });
});

describe('hasInvisibleOrControl', () => {
  it.each([
    ['NUL', '\u0000'], ['tab', '\t'], ['line feed', '\n'], ['DEL', '\u007f'], ['C1 NEL', '\u0085'], ['C1 U+009F', '\u009f'],
    ['soft hyphen', '\u00ad'], ['zero-width space', '\u200b'], ['zero-width non-joiner', '\u200c'], ['zero-width joiner', '\u200d'],
    ['left-to-right mark', '\u200e'], ['right-to-left mark', '\u200f'], ['left-to-right embedding', '\u202a'], ['right-to-left override', '\u202e'],
    ['word joiner', '\u2060'], ['invisible plus', '\u2064'], ['left-to-right isolate', '\u2066'], ['pop directional isolate', '\u2069'],
    ['byte order mark', '\ufeff'], ['lone surrogate', '\ud800'],
  ])('finds a %s inside an employee number', (_name, char) => {
    expect(hasInvisibleOrControl(`100${char}86`)).toBe(true);
  });

  it('passes ordinary employee numbers, inner spaces and full-width digits included', () => {
    for (const value of ['10086', '000123', 'HR-2024/07', '张三01', '１００８６', '100 86', '𠀋1']) expect(hasInvisibleOrControl(value)).toBe(false);
  });
});
