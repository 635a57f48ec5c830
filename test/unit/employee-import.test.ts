import { describe, expect, it } from 'vitest';
import { MAX_REPORTED_ERRORS, planImport, planImportSteps } from '../../src/admin/employee-import.js';

// The import planner (src/admin/employee-import.ts): CSV text → mappings to write + per-line errors.

const HEADER = 'employee_no,openid,name';
const openid = (n: number) => `oE2XCw${String(n).padStart(22, '0')}`;
const csv = (...lines: string[]) => [HEADER, ...lines].join('\n');

describe('duplicate employee numbers', () => {
  it('names both lines of a pair, as before', () => {
    const plan = planImport(csv(`10004,${openid(4)},甲`, `10004,${openid(5)},乙`));
    expect(plan.errors).toEqual([
      { line: 2, message: 'employee_no: 10004 appears on lines 2, 3' },
      { line: 3, message: 'employee_no: 10004 appears on lines 2, 3' },
    ]);
    expect(plan.inputs).toEqual([]);
  });

  it('names at most five lines and says how many more, however often a number repeats', () => {
    const plan = planImport(csv(...Array.from({ length: 3000 }, (_, i) => `10086,${openid(i)},员工${i}`)));
    expect(plan.errorCount).toBe(3000);
    expect(plan.errors).toHaveLength(MAX_REPORTED_ERRORS);
    expect(plan.errors[0]).toEqual({ line: 2, message: 'employee_no: 10086 appears on 3000 lines (2, 3, 4, 5, 6 and 2995 more)' });
    expect(plan.errors.every((e) => e.message.length < 100)).toBe(true);
    expect(plan.inputs).toEqual([]);
  });

  it('reports the first errors by line, mixing bad lines and duplicates, and counts them all', () => {
    const lines = Array.from({ length: 4000 }, (_, i) => (i % 2 === 0 ? `20000,${openid(i)},x` : `${30000 + i},bad openid,x`));
    const plan = planImport(csv(...lines, `40000,${openid(40000)},ok`));
    expect(plan.errorCount).toBe(4000);
    expect(plan.errors.map((e) => e.line)).toEqual(Array.from({ length: MAX_REPORTED_ERRORS }, (_, i) => i + 2));
    expect(plan.errors[0]!.message).toBe('employee_no: 20000 appears on 2000 lines (2, 4, 6, 8, 10 and 1995 more)');
    expect(plan.errors[1]!.message).toMatch(/^openid/);
    expect(plan.inputs.map((i) => i.employeeNo)).toEqual(['40000']);
  });

  it('plans 25,000 lines of one employee number in linear time and bounded output', () => {
    const plan = planImport(csv(...Array.from({ length: 25_000 }, (_, i) => `10086,${openid(i)},x`)));
    expect(plan.errorCount).toBe(25_000);
    expect(plan.errors[0]!.message).toBe('employee_no: 10086 appears on 25000 lines (2, 3, 4, 5, 6 and 24995 more)');
    expect(JSON.stringify(plan.errors).length).toBeLessThan(200_000);
  });
});

describe('sliced planning', () => {
  it('gives the caller a turn every few thousand lines', () => {
    const text = csv(...Array.from({ length: 25_000 }, (_, i) => `${100000 + i},${openid(i)},员工${i}`));
    const steps = planImportSteps(text);
    let slices = 0;
    let next = steps.next();
    for (; !next.done; next = steps.next()) slices++;
    expect(slices).toBeGreaterThanOrEqual(10);
    expect(next.value).toEqual(planImport(text));
    expect(next.value.inputs).toHaveLength(25_000);
  });
});

describe('unterminated quotes', () => {
  it('reports the line and still imports the lines after it', () => {
    const plan = planImport(csv(`10001,${openid(1)},"never closed`, `10002,${openid(2)},乙`, `10003,${openid(3)},丙`));
    expect(plan.errors).toEqual([{ line: 2, message: expect.stringMatching(/^quote: unterminated quote/) }]);
    expect(plan.inputs.map((i) => i.employeeNo)).toEqual(['10002', '10003']);
  });

  it('says so when an open quote swallowed lines up to the next quote', () => {
    const plan = planImport(csv(`10001,${openid(1)},"never closed`, `10002,${openid(2)},乙`, `10003,${openid(3)},"王, 磊"`));
    expect(plan.errors).toEqual([{ line: 2, message: expect.stringMatching(/^quote: a quoted field runs from line 2 to line 4/) }]);
  });
});

describe('cells the export prefixed with a quote', () => {
  it("drops one leading ' before = + - @ tab CR and ', and keeps any other", () => {
    const plan = planImport(
      csv(`'-1,'${openid(1).replace('o', '-')},'=HYPERLINK("x")`, `2,${openid(2)},''quoted`, `3,${openid(3)},'plain`, `4,${openid(4)},"'@SUM(A1)"`),
    );
    expect(plan.errors).toEqual([]);
    expect(plan.inputs).toEqual([
      { employeeNo: '-1', openid: openid(1).replace('o', '-'), name: '=HYPERLINK("x")', active: true },
      { employeeNo: '2', openid: openid(2), name: "'quoted", active: true },
      { employeeNo: '3', openid: openid(3), name: "'plain", active: true },
      { employeeNo: '4', openid: openid(4), name: '@SUM(A1)', active: true },
    ]);
  });
});

describe('characters that cannot be stored or seen', () => {
  it.each([
    ['a NUL in the name', `1,${openid(1)},a\u0000b`, /^name: .*U\+0000 at character 2/],
    ['a zero-width space in the name', `1,${openid(1)},张\u200b伟`, /^name: .*U\+200B/],
    ['a bidi override in the employee number', `1\u202e,${openid(1)},x`, /^employeeNo: .*U\+202E/],
    ['a C1 control in the employee number', `1\u0085,${openid(1)},x`, /^employeeNo: .*U\+0085/],
  ])('rejects the line for %s (so a dry run says what the commit would refuse)', (_what, line, message) => {
    const plan = planImport(csv(line));
    expect(plan.errors).toEqual([{ line: 2, message: expect.stringMatching(message) }]);
    expect(plan.inputs).toEqual([]);
  });
});
