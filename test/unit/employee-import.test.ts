import { describe, expect, it } from 'vitest';
import { MAX_REPORTED_ERRORS, planImport, planImportSteps } from '../../src/admin/employee-import.js';

// The import planner (src/admin/employee-import.ts): CSV text → mappings to write + per-line errors.

const HEADER = 'employee_no,openid,name';
const openid = (n: number) => `oE2XCw${String(n).padStart(22, '0')}`;
const csv = (...lines: string[]) => [HEADER, ...lines].join('\n');

describe('duplicate employee numbers', () => {
  it('names both lines of a pair, what differs, and that neither is written', () => {
    const plan = planImport(csv(`10004,${openid(4)},甲`, `10004,${openid(5)},乙`));
    const message = '工号 10004 在第2、3行出现，openid、姓名不同，两行均未导入';
    expect(plan.errors).toEqual([
      { line: 2, message, employeeNo: '10004', column: 'openid', value: openid(4) },
      { line: 3, message, employeeNo: '10004', column: 'openid', value: openid(5) },
    ]);
    expect(plan.inputs).toEqual([]);
  });

  it('names at most five lines and says how many more, however often a number repeats', () => {
    const plan = planImport(csv(...Array.from({ length: 3000 }, (_, i) => `10086,${openid(i)},员工${i}`)));
    expect(plan.errorCount).toBe(3000);
    expect(plan.errors).toHaveLength(MAX_REPORTED_ERRORS);
    expect(plan.errors[0]).toMatchObject({ line: 2, message: '工号 10086 在第2、3、4、5、6行等共3000行出现，openid、姓名不同，3000行均未导入' });
    expect(plan.errors.every((e) => e.message.length < 100)).toBe(true);
    expect(plan.inputs).toEqual([]);
  });

  it('reports the first errors by line, mixing bad lines and duplicates, and counts them all', () => {
    const lines = Array.from({ length: 4000 }, (_, i) => (i % 2 === 0 ? `20000,${openid(i)},x` : `${30000 + i},bad openid,x`));
    const plan = planImport(csv(...lines, `40000,${openid(40000)},ok`));
    expect(plan.errorCount).toBe(4000);
    expect(plan.errors.map((e) => e.line)).toEqual(Array.from({ length: MAX_REPORTED_ERRORS }, (_, i) => i + 2));
    expect(plan.errors[0]!.message).toBe('工号 20000 在第2、4、6、8、10行等共2000行出现，openid不同，2000行均未导入');
    expect(plan.errors[1]!.message).toBe('openid列：「bad openid」不是有效的openid（6–64位字母、数字、_、-）；工号 30001');
    expect(plan.inputs.map((i) => i.employeeNo)).toEqual(['40000']);
  });

  it('plans 25,000 lines of one employee number in linear time and bounded output', () => {
    const plan = planImport(csv(...Array.from({ length: 25_000 }, (_, i) => `10086,${openid(i)},x`)));
    expect(plan.errorCount).toBe(25_000);
    expect(plan.errors[0]!.message).toBe('工号 10086 在第2、3、4、5、6行等共25000行出现，openid不同，25000行均未导入');
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
    expect(plan.errors).toEqual([{ line: 2, message: '引号：此行有一个双引号（"）开始的字段没有闭合，此行未导入' }]);
    expect(plan.inputs.map((i) => i.employeeNo)).toEqual(['10002', '10003']);
  });

  it('says so when an open quote swallowed lines up to the next quote', () => {
    const plan = planImport(csv(`10001,${openid(1)},"never closed`, `10002,${openid(2)},乙`, `10003,${openid(3)},"王, 磊"`));
    expect(plan.errors).toEqual([{ line: 2, message: expect.stringMatching(/^引号：第 2 行开始的带引号字段一直延续到第 4 行/), employeeNo: '10001' }]);
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
    ['a NUL in the name', `1,${openid(1)},a\u0000b`, /^name列：「a.b」含有控制字符或不可见字符（U\+0000，第 2 个字符）；工号 1$/],
    ['a zero-width space in the name', `1,${openid(1)},张\u200b伟`, /^name列：.*（U\+200B，第 2 个字符）；工号 1$/],
    ['a bidi override in the employee number', `1\u202e,${openid(1)},x`, /^employee_no列：「1\u202e」含有控制字符或不可见字符（U\+202E，第 2 个字符）$/],
    ['a C1 control in the employee number', `1\u0085,${openid(1)},x`, /^employee_no列：.*U\+0085/],
  ])('rejects the line for %s (so a dry run says what the commit would refuse)', (_what, line, message) => {
    const plan = planImport(csv(line));
    expect(plan.errors).toEqual([expect.objectContaining({ line: 2, message: expect.stringMatching(message) })]);
    expect(plan.inputs).toEqual([]);
  });
});
