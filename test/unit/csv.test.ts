import { describe, expect, it } from 'vitest';
import { csvLine, parseCsv } from '../../src/admin/csv.js';

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
