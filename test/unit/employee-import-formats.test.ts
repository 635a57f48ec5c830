import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import writeExcelFile, { type SheetData } from 'write-excel-file/node';
import { planImport, planRecords, templateCsv } from '../../src/admin/employee-import.js';
import { runToEnd } from '../../src/admin/csv.js';
import { parseActive } from '../../src/admin/mapping.js';
import { decodeText, fieldOfHeader, headerKey, parseColumnMap, readUpload, XLSX_TYPE } from '../../src/admin/spreadsheet.js';
import { HttpError } from '../../src/admin/errors.js';

// Contract §11 for the importer without a database: the files Excel saves (src/admin/spreadsheet.ts),
// Chinese and English headers in any order, the administrator's column map, and the rules for
// repeated employee numbers (src/admin/employee-import.ts).

const openid = (n: number) => `oE2XCw${String(n).padStart(22, '0')}`;

async function xlsx(rows: SheetData): Promise<Buffer> {
  return (await writeExcelFile(rows).toBuffer()) as Buffer;
}

async function badRequest(work: () => unknown): Promise<string> {
  try {
    await work();
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(400);
    return (err as HttpError).message;
  }
  throw new Error('expected a 400');
}

describe('decoding uploads', () => {
  const text = '工号,姓名\r\n10086,欧阳娜娜\r\n';

  it('reads UTF-8 with or without BOM, GBK by charset or unlabelled', () => {
    expect(decodeText(Buffer.from(`\uFEFF${text}`), 'text/csv')).toBe(text);
    expect(decodeText(Buffer.from(text), undefined)).toBe(text);
    expect(decodeText(iconv.encode(text, 'gbk'), 'text/csv; charset=GBK')).toBe(text);
    expect(decodeText(iconv.encode(text, 'gbk'), 'text/csv; charset=gb18030')).toBe(text);
    expect(decodeText(iconv.encode(text, 'gbk'), 'text/csv')).toBe(text);
  });

  it('reads UTF-16 LE by its BOM whatever the Content-Type says, by charset, and without either', () => {
    const utf16 = iconv.encode(text, 'utf-16le');
    const withBom = Buffer.concat([Buffer.from([0xff, 0xfe]), utf16]);
    expect(decodeText(withBom, 'text/csv; charset=gbk')).toBe(text);
    expect(decodeText(withBom, undefined)).toBe(text);
    expect(decodeText(utf16, 'text/plain; charset=utf-16le')).toBe(text);
    expect(decodeText(utf16, 'text/plain')).toBe(text);
  });

  it('lets a UTF-8 BOM win over a wrong charset label', () => {
    expect(decodeText(Buffer.from(`\uFEFF${text}`), 'text/csv; charset=gbk')).toBe(text);
  });

  it('answers 400 naming charset for a charset it does not know', async () => {
    expect(await badRequest(() => decodeText(Buffer.from(text), 'text/csv; charset=bogus'))).toMatch(/^charset: 无法按「bogus」读取文件/);
  });

  it('reads tab-separated text as Excel saves "Unicode 文本", and comma-separated otherwise', async () => {
    const tsv = Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode('序号\t工号\t姓名\r\n1\t10086\t王, 五\r\n', 'utf-16le')]);
    expect(await readUpload(tsv, 'application/octet-stream')).toEqual({
      format: 'tsv',
      records: [
        { line: 1, fields: ['序号', '工号', '姓名'] },
        { line: 2, fields: ['1', '10086', '王, 五'] },
      ],
    });
    expect((await readUpload(Buffer.from('a,b\tc\n1,2'), 'text/csv')).format).toBe('csv');
  });

  it('reads the first sheet of an .xlsx by its ZIP signature or its MIME type: numbers as Excel shows them, text as typed', async () => {
    const book = await xlsx([
      [null, null, null, null],
      ['工号', '姓名', '是否启用', '微信openid'],
      [{ value: 10086, type: Number }, '张伟', { value: true, type: Boolean }, openid(1)],
      [{ value: '00123', type: String }, '  李娜 ', { value: 0, type: Number }, null],
      [null, null, null, null],
      [{ value: 1.5, type: Number }, { value: 123456789012, type: Number }, '否', null],
    ]);
    expect(book.subarray(0, 4)).toEqual(Buffer.from('PK\x03\x04', 'latin1'));
    const expected = {
      format: 'xlsx',
      records: [
        { line: 1, fields: ['', '', '', ''] },
        { line: 2, fields: ['工号', '姓名', '是否启用', '微信openid'] },
        { line: 3, fields: ['10086', '张伟', 'TRUE', openid(1)] },
        { line: 4, fields: ['00123', '  李娜 ', '0', ''] },
        { line: 5, fields: ['', '', '', ''] },
        { line: 6, fields: ['1.5', '123456789012', '否', ''] },
      ],
    };
    expect(await readUpload(book, 'application/octet-stream')).toEqual(expected);
    expect(await readUpload(book, XLSX_TYPE)).toEqual(expected);
  });

  it('answers 400 naming file for an .xls or a broken .xlsx', async () => {
    const xls = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0]);
    expect(await badRequest(() => readUpload(xls, 'application/vnd.ms-excel'))).toMatch(/^file: 这是旧版 Excel（\.xls）文件/);
    expect(await badRequest(() => readUpload(Buffer.from('PK\x03\x04 not really a zip', 'latin1'), XLSX_TYPE))).toMatch(/^file: 无法作为 \.xlsx 读取/);
  });
});

describe('headers', () => {
  it.each([
    ['工号', 'employee_no'],
    ['员工编号', 'employee_no'],
    ['职工号', 'employee_no'],
    [' Employee_No ', 'employee_no'],
    ['\uFEFFemployee_no', 'employee_no'],
    ['工号（必填）', 'employee_no'],
    ['openid', 'openid'],
    ['OpenID', 'openid'],
    ['微信openid', 'openid'],
    ['微信OpenID', 'openid'],
    ['微信号openid', 'openid'],
    ['姓名', 'name'],
    ['NAME', 'name'],
    ['是否启用', 'active'],
    ['状态', 'active'],
    ['Active', 'active'],
    ['序号', null],
    ['科室', null],
  ])('%j is %s', (header, field) => {
    expect(fieldOfHeader(header)).toBe(field);
  });

  it('compares loosely but keeps what the file says', () => {
    expect(headerKey(' Employee No（工号） ')).toBe('employeeno');
    expect(headerKey("'-工号")).toBe('工号');
  });
});

describe('planning', () => {
  it('reads the HR export 序号,工号,姓名,科室,微信openid: extra columns ignored', () => {
    const plan = planImport(['序号,工号,姓名,科室,微信openid', `1,10086,张伟,心内科,${openid(1)}`, `2,10087,李娜,药剂科,`].join('\n'));
    expect(plan).toMatchObject({ errors: [], columns: { employee_no: '工号', openid: '微信openid', name: '姓名', active: null }, headers: ['序号', '工号', '姓名', '科室', '微信openid'] });
    expect(plan.missing).toBeUndefined();
    expect(plan.inputs).toEqual([
      { employeeNo: '10086', openid: openid(1), name: '张伟', active: true },
      // No openid: an employee created unbound, or the stored openid kept.
      { employeeNo: '10087', openid: undefined, name: '李娜', active: true },
    ]);
  });

  it('imports without an openid column or a name column: the stored ones are kept', () => {
    const plan = planImport('员工编号,状态\n10086,离职\n');
    expect(plan.inputs).toEqual([{ employeeNo: '10086', openid: undefined, name: null, active: false }]);
    expect(plan.columns).toEqual({ employee_no: '员工编号', openid: null, name: null, active: '状态' });
  });

  it('reports a header without an employee-number column, listing the file’s columns and what is missing', () => {
    const plan = planImport(`序号,编码,名字\n1,10086,${openid(1)}\n`);
    expect(plan).toEqual({
      inputs: [],
      errors: [{ line: 1, message: '表头：未找到工号列（可用列名：工号、员工编号、employee_no）；文件的列为：序号、编码、名字。请在页面上指定哪一列是工号' }],
      errorCount: 1,
      columns: { employee_no: null, openid: null, name: '名字', active: null },
      headers: ['序号', '编码', '名字'],
      missing: ['employee_no', 'openid'],
    });
  });

  it('follows the administrator’s map over the aliases, ignoring what it says to', () => {
    const map = parseColumnMap(JSON.stringify({ 编码: 'employee_no', 名字: 'ignore', 微信: 'openid', 真名: 'name' }));
    const plan = planImport(`序号,编码,名字,微信,真名\n1,10086,x,${openid(1)},张伟\n`, map);
    expect(plan.errors).toEqual([]);
    expect(plan.columns).toEqual({ employee_no: '编码', openid: '微信', name: '真名', active: null });
    expect(plan.inputs).toEqual([{ employeeNo: '10086', openid: openid(1), name: '张伟', active: true }]);
  });

  it('answers 400 naming map for a map it cannot use', async () => {
    expect(await badRequest(() => parseColumnMap('{not json'))).toMatch(/^map: 不是有效的 JSON/);
    expect(await badRequest(() => parseColumnMap('["a"]'))).toMatch(/^map: 应为 JSON 对象/);
    expect(await badRequest(() => parseColumnMap('{"编码":"salary"}'))).toMatch(/^map: 列「编码」的取值 "salary" 无效/);
    expect(await badRequest(() => planImport('a,b\n1,2\n', parseColumnMap('{"c":"employee_no"}')))).toBe('map: 文件中没有列「c」（文件的列：a、b）');
  });

  it('reports two columns that both claim a field, so the page can ask', () => {
    const plan = planImport('工号,员工编号,姓名\n1,2,x\n');
    expect(plan.errors).toEqual([{ line: 1, message: '表头：「工号」和「员工编号」两列都是工号列；请删去其中一列，或在页面上指定各列', column: '员工编号' }]);
    expect(plan.missing).toEqual(['employee_no']);
  });

  it('skips rows that are entirely empty, before and after the data, without an error', () => {
    const plan = planImport([',,,', '工号,姓名,openid,是否启用', `10086,张伟,${openid(1)},是`, ',,,', ' , ,,', `10087,李娜,${openid(2)},`, ',,,', ',,,'].join('\r\n'));
    expect(plan.errors).toEqual([]);
    expect(plan.inputs.map((i) => i.employeeNo)).toEqual(['10086', '10087']);
  });

  it('plans an .xlsx with Chinese headers below an empty row, numbering lines as the sheet does', async () => {
    const book = await xlsx([
      [null, null, null],
      ['姓名', '工号', '微信openid'],
      ['张伟', { value: 10086, type: Number }, openid(1)],
      ['李娜', { value: '00123', type: String }, 'abc'],
    ]);
    const plan = runToEnd(planRecords((await readUpload(book, XLSX_TYPE)).records));
    expect(plan.inputs).toEqual([{ employeeNo: '10086', openid: openid(1), name: '张伟', active: true }]);
    expect(plan.errors).toEqual([
      { line: 4, message: '微信openid列：「abc」不是有效的openid（6–64位字母、数字、_、-）；工号 00123', column: '微信openid', value: 'abc', employeeNo: '00123' },
    ]);
  });

  it('reads the template it hands out', () => {
    const plan = planImport(templateCsv());
    expect(plan.errors).toEqual([]);
    expect(plan.inputs).toEqual([{ employeeNo: '10086', openid: 'oE2XCw0000000000000000010086', name: '张伟', active: true }]);
  });
});

describe('active', () => {
  it.each([
    ['', true],
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['是', true],
    ['启用', true],
    ['在职', true],
    [' Yes ', true],
    ['false', false],
    ['FALSE', false],
    ['0', false],
    ['否', false],
    ['停用', false],
    ['离职', false],
    ['maybe', null],
    ['2', null],
  ])('%j is %s', (raw, active) => {
    expect(parseActive(raw)).toBe(active);
  });
});

describe('Chinese messages name the column as the file calls it, the value and the employee number', () => {
  it.each([
    ['an openid', `10086,张伟,abc,是`, '微信openid列：「abc」不是有效的openid（6–64位字母、数字、_、-）；工号 10086', { column: '微信openid', value: 'abc' }],
    ['an active value', `10086,张伟,${openid(1)},可能`, '是否启用列：「可能」无法识别（可填：是/否、启用/停用、在职/离职、true/false、1/0，留空为启用）；工号 10086', { column: '是否启用', value: '可能' }],
    ['a long name', `10086,${'名'.repeat(101)},${openid(1)},是`, `员工姓名列：「${'名'.repeat(60)}…」超过 100 个字符；工号 10086`, { column: '员工姓名', value: `${'名'.repeat(60)}…` }],
    ['an employee number with a slash', `10/86,张伟,${openid(1)},是`, '工号列：「10/86」不能含有控制字符或斜杠（/、\\）', { column: '工号', value: '10/86' }],
    ['an empty employee number', `,张伟,${openid(1)},是`, '工号列：为空；姓名 张伟', { column: '工号', value: '' }],
    ['a short line', `10086,张伟`, '列数：表头有 4 列，此行有 2 列；工号 10086', {}],
  ])('for %s', (_what, line, message, extra) => {
    const plan = planImport(`工号,员工姓名,微信openid,是否启用\n${line}\n`);
    expect(plan.errors).toEqual([{ line: 2, message, ...extra, ...(message.includes('；工号 10086') ? { employeeNo: '10086' } : {}) }]);
    expect(plan.inputs).toEqual([]);
  });
});

describe('an employee number on several lines', () => {
  const header = '工号,姓名,openid,是否启用';

  it('is one row when every line says the same', () => {
    const plan = planImport([header, `10086,张伟,${openid(1)},是`, `10087,李娜,${openid(2)},是`, `10086,张伟,${openid(1)},是`, `10086, 张伟 ,${openid(1)},启用`].join('\n'));
    expect(plan.errors).toEqual([]);
    expect(plan.errorCount).toBe(0);
    expect(plan.inputs).toEqual([
      { employeeNo: '10086', openid: openid(1), name: '张伟', active: true },
      { employeeNo: '10087', openid: openid(2), name: '李娜', active: true },
    ]);
  });

  it('with different openids: both lines reported, neither written, and the message says so', () => {
    const lines = [header, `10001,甲,${openid(11)},是`, `10086,张伟,${openid(1)},是`, `10002,乙,${openid(12)},是`, `10003,丙,${openid(13)},是`, `10004,丁,${openid(14)},是`, `10086,张伟,${openid(2)},是`];
    const plan = planImport(lines.join('\n'));
    const message = '工号 10086 在第3、7行出现，openid不同，两行均未导入';
    expect(plan.errors).toEqual([
      { line: 3, message, employeeNo: '10086', column: 'openid', value: openid(1) },
      { line: 7, message, employeeNo: '10086', column: 'openid', value: openid(2) },
    ]);
    expect(plan.inputs.map((i) => i.employeeNo)).toEqual(['10001', '10002', '10003', '10004']);
  });

  it('names whatever differs: the name, or whether active', () => {
    const plan = planImport([header, `1,张伟,${openid(1)},是`, `1,张为,${openid(1)},是`, `2,李娜,,是`, `2,李娜,,否`, `2,李娜,,否`].join('\n'));
    expect(plan.errors.map((e) => [e.line, e.message])).toEqual([
      [2, '工号 1 在第2、3行出现，姓名不同，两行均未导入'],
      [3, '工号 1 在第2、3行出现，姓名不同，两行均未导入'],
      [4, '工号 2 在第4、5、6行出现，是否启用不同，3行均未导入'],
      [5, '工号 2 在第4、5、6行出现，是否启用不同，3行均未导入'],
      [6, '工号 2 在第4、5、6行出现，是否启用不同，3行均未导入'],
    ]);
    expect(plan.inputs).toEqual([]);
  });

  it('is not written when another of its lines was rejected', () => {
    const plan = planImport([header, `10086,张伟,${openid(1)},是`, `10086,张伟,abc,是`].join('\n'));
    expect(plan.errors.map((e) => [e.line, e.message])).toEqual([
      [2, '工号 10086 在第2、3行出现，其中第3行有错误，两行均未导入'],
      [3, 'openid列：「abc」不是有效的openid（6–64位字母、数字、_、-）；工号 10086'],
    ]);
    expect(plan.inputs).toEqual([]);
  });

  it('stays linear: 25,000 identical lines are one row, planned quickly', () => {
    const started = performance.now();
    const plan = planImport([header, ...Array.from({ length: 25_000 }, () => `10086,张伟,${openid(1)},是`)].join('\n'));
    expect(plan.errors).toEqual([]);
    expect(plan.inputs).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('files that are not a table', () => {
  it('reports an empty file on line 1, without asking for columns', () => {
    for (const text of ['', '\r\n\r\n', ',,,\n,,\n']) {
      const plan = planImport(text);
      expect(plan.errors).toEqual([{ line: 1, message: '表头：文件是空的；第一行应为表头，例如 工号,姓名,微信openid,是否启用' }]);
      expect(plan.missing).toBeUndefined();
      expect(plan.inputs).toEqual([]);
    }
  });
});
