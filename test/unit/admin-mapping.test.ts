import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { employeeNoLookupProblem, employeeNoProblem, nameProblem } from '../../src/admin/mapping.js';

// The rules for a mapping's employee number and name (src/admin/mapping.ts).

const HIDDEN = [
  '\u0000', '\u0001', '\u0009', '\u000a', '\u000d', '\u001f', '\u007f', '\u0080', '\u0085', '\u009f',
  '\u00ad', '\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e',
  '\u2060', '\u2061', '\u2062', '\u2063', '\u2064', '\u2066', '\u2067', '\u2068', '\u2069', '\ufeff',
  '\ud800', '\udfff',
];

const hex = (c: string) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

describe('names and employee numbers refuse control and invisible characters', () => {
  it.each(HIDDEN.map((c) => [hex(c), c]))('%s, naming the field, the character and where it is', (code, c) => {
    expect(nameProblem(`张${c}伟`)).toBe(`name: must not contain control or invisible characters (${code} at character 2)`);
    expect(employeeNoProblem(`10${c}86`)).toBe(`employeeNo: must not contain control or invisible characters (${code} at character 3)`);
  });

  it('counts characters as people do when saying where', () => {
    expect(nameProblem('😀😀\u200b')).toMatch(/U\+200B at character 3/);
  });

  it('refuses any name that contains one, wherever it is', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.constantFrom(...HIDDEN), fc.string({ maxLength: 40 }), (before, c, after) => {
        expect(nameProblem(`${before}${c}${after}`)).toMatch(/^name: /);
      }),
    );
  });

  it('accepts ordinary names: Chinese, accents, emoji, spaces and punctuation inside', () => {
    for (const name of ['张伟', '欧阳 娜娜', 'José Martínez', "O'Brien-Smith", '王, "小明"', '😀', '=SUM(A1)', '']) expect(nameProblem(name)).toBeNull();
    for (const no of ['10086', '000123', 'A-17', '@SUM(1)']) expect(employeeNoProblem(no)).toBeNull();
  });

  it('still looks up (GET, DELETE) a mapping stored before the rule, but never with a control character', () => {
    expect(employeeNoLookupProblem('91004\u202e')).toBeNull();
    expect(employeeNoLookupProblem('91004\u200b')).toBeNull();
    expect(employeeNoLookupProblem('a\u0000b')).toMatch(/^employeeNo/);
    expect(employeeNoLookupProblem('a/b')).toMatch(/^employeeNo/);
  });
});
