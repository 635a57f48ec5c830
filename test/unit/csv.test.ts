import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvLine, parseCsv, readCsv, safeCell, startsLikeFormula, unprefixCell } from '../../src/admin/csv.js';

describe('parseCsv', () => {
  it('reads records with their starting line numbers, skipping blank lines', () => {
    expect(parseCsv('employee_no,openid,name\r\n10086,oABCDEF,张伟\r\n\r\n10087,oABCDEG,李娜\n')).toEqual([
      { line: 1, fields: ['employee_no', 'openid', 'name'] },
      { line: 2, fields: ['10086', 'oABCDEF', '张伟'] },
      { line: 4, fields: ['10087', 'oABCDEG', '李娜'] },
    ]);
  });

  it('handles quoted fields with commas, quotes and line breaks', () => {
    const records = parseCsv('a,b\n"1,2","say ""hi""\nthere",x\n3,4');
    expect(records[1]).toEqual({ line: 2, fields: ['1,2', 'say "hi"\nthere', 'x'] });
    expect(records[2]).toEqual({ line: 4, fields: ['3', '4'] });
  });

  it('keeps empty fields', () => {
    expect(parseCsv('a,,c,')[0]!.fields).toEqual(['a', '', 'c', '']);
  });

  it('round-trips what csvLine writes', () => {
    const values = ['000123', 'o_x-1', '王, "小" 明\n二', ' padded ', 'true'];
    expect(parseCsv(csvLine(values))[0]!.fields).toEqual(values);
  });
});

describe('parseCsv: tab-separated (Excel "Unicode 文本")', () => {
  it('splits on tabs, keeps commas inside cells and reads quoted cells as in CSV', () => {
    expect(parseCsv('工号\t姓名\t备注\r\n10086\t张伟\t"a\tb"\r\n10087\t王, 五\t"say ""hi"""\r\n', '\t')).toEqual([
      { line: 1, fields: ['工号', '姓名', '备注'] },
      { line: 2, fields: ['10086', '张伟', 'a\tb'] },
      { line: 3, fields: ['10087', '王, 五', 'say "hi"'] },
    ]);
  });

  it('reads the same records in slices as at once', () => {
    const text = Array.from({ length: 500 }, (_, i) => `${i}\t"x${i}"\t,`).join('\n');
    let slices = 0;
    const steps = readCsv(text, 7, '\t');
    let next = steps.next();
    for (; !next.done; next = steps.next()) slices++;
    expect(slices).toBeGreaterThan(100);
    expect(next.value).toEqual(parseCsv(text, '\t'));
    expect(next.value[499]).toEqual({ line: 500, fields: ['499', 'x499', ','] });
  });
});

describe('parseCsv: unterminated quotes', () => {
  const header = 'employee_no,openid,name';

  it('reports the line where a never-closed quote opened and still reads the lines after it', () => {
    const records = parseCsv([header, '10001,oE2XCwQuote10001,"never closed', '10002,oE2XCwQuote10002,乙', '10003,oE2XCwQuote10003,丙', ''].join('\n'));
    expect(records).toEqual([
      { line: 1, fields: ['employee_no', 'openid', 'name'] },
      { line: 2, fields: [], problem: expect.stringMatching(/^引号：此行有一个双引号（"）开始的字段没有闭合/) },
      { line: 3, fields: ['10002', 'oE2XCwQuote10002', '乙'] },
      { line: 4, fields: ['10003', 'oE2XCwQuote10003', '丙'] },
    ]);
  });

  it('keeps multi-line fields before the open quote, and reports one left open on the last line', () => {
    const records = parseCsv(['a,b', '1,"two', 'lines"', '2,x', '3,"open'].join('\r\n'));
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1', 'two\r\nlines'] },
      { line: 4, fields: ['2', 'x'] },
      { line: 5, fields: [], problem: expect.stringMatching(/^引号：.*没有闭合/) },
    ]);
  });

  it('after an unterminated quote, reads the following lines on their own, doubled quotes included', () => {
    const records = parseCsv(['a,b', '1,"open', '2,""', '3,""""', '4,y'].join('\n'));
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: [], problem: expect.stringMatching(/^引号：.*没有闭合/) },
      { line: 3, fields: ['2', ''] },
      { line: 4, fields: ['3', '"'] },
      { line: 5, fields: ['4', 'y'] },
    ]);
  });

  it('reads every character at most twice, whatever the quotes (counted in one-character slices)', () => {
    const alphabet = fc.constantFrom('"', '"', ',', '\n', '\r', 'a', ' ');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 300 }).map((cs) => cs.join('')), (text) => {
        let slices = 0;
        const steps = readCsv(text, 1);
        let next = steps.next();
        for (; !next.done; next = steps.next()) slices++;
        expect(slices).toBeLessThanOrEqual(2 * text.length + 2);
        expect(next.value).toEqual(parseCsv(text));
      }),
      { numRuns: 500 },
    );
  });

  it('stays linear with thousands of unterminated quotes', () => {
    for (const line of [(i: number) => `${i},oE2XCwQuote${i},"x`, (i: number) => `${i},"""x`, (i: number) => `"${i}`]) {
      const text = ['a,b,c', ...Array.from({ length: 20_001 }, (_, i) => line(i))].join('\n');
      let slices = 0;
      const steps = readCsv(text, 64);
      let next = steps.next();
      for (; !next.done; next = steps.next()) slices++;
      expect(slices).toBeLessThanOrEqual(Math.ceil((2 * text.length) / 64) + 4);
      expect(next.value.at(-1)).toMatchObject({ problem: expect.stringMatching(/^引号：.*没有闭合/) });
    }
  });

  it('stays linear on a long run of quotes inside an unquoted field', () => {
    const text = `a,b${'"'.repeat(200_000)}\n1,2`;
    let slices = 0;
    const steps = readCsv(text, 1024);
    for (let next = steps.next(); !next.done; next = steps.next()) slices++;
    expect(slices).toBeLessThanOrEqual(Math.ceil(text.length / 1024) + 2);
    expect(parseCsv(text)[1]).toEqual({ line: 2, fields: ['1', '2'] });
  });
});

describe('spreadsheet-safe cells', () => {
  it.each([
    ['=HYPERLINK("http://evil","x")', `'=HYPERLINK("http://evil","x")`],
    ["+cmd|' /C calc'!A0", `'+cmd|' /C calc'!A0`],
    ['-1+1', `'-1+1`],
    ['@SUM(A1)', `'@SUM(A1)`],
    ['\tx', `'\tx`],
    ['\rx', `'\rx`],
    ["'quoted", `''quoted`],
    ['张伟', '张伟'],
    ['a=b', 'a=b'],
    ['', ''],
  ])('%j is written as %j and read back unchanged', (value, written) => {
    expect(safeCell(value)).toBe(written);
    expect(startsLikeFormula(safeCell(value))).toBe(false);
    expect(unprefixCell(safeCell(value))).toBe(value);
  });

  it("keeps a leading ' that the export would not have added", () => {
    expect(unprefixCell("'abc")).toBe("'abc");
    expect(unprefixCell("'")).toBe("'");
    expect(unprefixCell("''=x")).toBe("'=x");
  });
});
