import { monitorEventLoopDelay } from 'node:perf_hooks';
import iconv from 'iconv-lite';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import writeExcelFile, { type SheetData } from 'write-excel-file/node';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';

// Contract §11 for the employee import, end to end against real Postgres: the files Excel saves
// (GBK and UTF-8-BOM CSV, UTF-16 "Unicode 文本", .xlsx), Chinese or English headers in any order,
// the page's column map, Chinese messages, repeated employee numbers, the template, and the
// export that still imports back unchanged.

let db: TestDatabase;
let bridge: TestBridge;
const OPS = `Bearer ${ADMIN_TOKEN}`;
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const api = () => request(bridge.url);
const openid = (n: number) => `oE2XCw${String(n).padStart(22, '0')}`;

type Row = { employee_no: string; openid: string | null; name: string; active: boolean };
const employees = (prefix: string): Promise<Row[]> =>
  withClient(db.url, async (c) => (await c.query('SELECT employee_no, openid, name, active FROM employees WHERE employee_no LIKE $1 ORDER BY employee_no', [`${prefix}%`])).rows);
const auditCount = () => withClient(db.url, async (c) => Number((await c.query('SELECT count(*) FROM employee_audit')).rows[0].count));

function upload(body: Buffer | string, { dryRun = false, contentType = 'text/csv', map }: { dryRun?: boolean; contentType?: string; map?: Record<string, string> } = {}) {
  const query = `dryRun=${dryRun}${map ? `&map=${encodeURIComponent(JSON.stringify(map))}` : ''}`;
  return api()
    .post(`/admin/api/employees/import?${query}`)
    .set('Authorization', OPS)
    .set('Content-Type', contentType)
    .send(Buffer.isBuffer(body) ? body : Buffer.from(body));
}

async function xlsx(rows: SheetData): Promise<Buffer> {
  return (await writeExcelFile(rows).toBuffer()) as Buffer;
}

const utf16le = (text: string, bom = true) => Buffer.concat([bom ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0), iconv.encode(text, 'utf-16le')]);

function binary(res: request.Response, done: (err: Error | null, body: Buffer) => void) {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}

beforeAll(async () => {
  db = await createTestDatabase('adminimport');
  // A fake WeChat, for the HR list's invitations (QR codes).
  bridge = await startBridge({ databaseUrl: db.url, env: { ADMIN_TOKEN: `ops:${ADMIN_TOKEN}` } });
});

afterAll(async () => {
  await bridge?.stop();
  await db?.drop();
});

describe('the files Excel saves', () => {
  it('reads a GBK CSV with the Chinese header, by its charset and unlabelled', async () => {
    const csv = ['工号,姓名,微信openid,是否启用', `11001,欧阳娜娜,${openid(11001)},是`, `11002,诸葛亮,${openid(11002)},离职`].join('\r\n');
    const dry = await upload(iconv.encode(csv, 'gbk'), { dryRun: true, contentType: 'text/csv; charset=GBK' });
    expect(dry.status).toBe(200);
    expect(dry.body).toEqual({
      created: 2,
      updated: 0,
      unchanged: 0,
      errors: [],
      errorCount: 0,
      dryRun: true,
      columns: { employee_no: '工号', openid: '微信openid', name: '姓名', active: '是否启用' },
      headers: ['工号', '姓名', '微信openid', '是否启用'],
    });
    expect(await employees('1100')).toEqual([]);
    expect((await upload(iconv.encode(csv, 'gbk'))).body).toMatchObject({ created: 2, errors: [] });
    expect(await employees('1100')).toEqual([
      { employee_no: '11001', openid: openid(11001), name: '欧阳娜娜', active: true },
      { employee_no: '11002', openid: openid(11002), name: '诸葛亮', active: false },
    ]);
  });

  it('reads the HR export 序号,工号,姓名,科室,微信openid in UTF-8 with a BOM: aliases in any order, extra columns ignored', async () => {
    const csv = `\uFEFF序号,工号,姓名,科室,微信openid\r\n1,12001,司马懿,心内科,${openid(12001)}\r\n2,12002,王, 磊,药剂科,${openid(12002)}\r\n3,12003,赵云,检验科,${openid(12003)}\r\n`;
    const res = await upload(Buffer.from(csv, 'utf8'), { contentType: 'text/csv; charset=utf-8' });
    expect(res.body).toMatchObject({ created: 2, errorCount: 1, columns: { employee_no: '工号', openid: '微信openid', name: '姓名', active: null } });
    expect(res.body.headers).toEqual(['序号', '工号', '姓名', '科室', '微信openid']);
    expect(res.body.errors).toEqual([{ line: 3, message: '列数：表头有 5 列，此行有 6 列；工号 12002', employeeNo: '12002' }]);
    expect(await employees('1200')).toEqual([
      { employee_no: '12001', openid: openid(12001), name: '司马懿', active: true },
      { employee_no: '12003', openid: openid(12003), name: '赵云', active: true },
    ]);
  });

  it('reads "Unicode 文本" (UTF-16 LE with tabs) by its BOM whatever the Content-Type says, and by charset without a BOM', async () => {
    const text = `工号\t姓名\t备注\tOpenID\t状态\r\n13001\t孙丽\t"含,逗号"\t${openid(13001)}\t在职\r\n13002\t周强\t\t${openid(13002)}\t停用\r\n`;
    const byBom = await upload(utf16le(text), { dryRun: true, contentType: 'text/csv' });
    expect(byBom.body).toMatchObject({ created: 2, errors: [], columns: { employee_no: '工号', openid: 'OpenID', name: '姓名', active: '状态' } });
    const octets = await upload(utf16le(text), { dryRun: true, contentType: 'application/octet-stream' });
    expect(octets.body).toMatchObject({ created: 2, errors: [] });
    const byCharset = await upload(utf16le(text, false), { contentType: 'text/plain; charset=utf-16le' });
    expect(byCharset.body).toMatchObject({ created: 2, errors: [], dryRun: false });
    expect(await employees('1300')).toEqual([
      { employee_no: '13001', openid: openid(13001), name: '孙丽', active: true },
      { employee_no: '13002', openid: openid(13002), name: '周强', active: false },
    ]);
  });

  it('reads an .xlsx with Chinese headers: numeric employee numbers as Excel shows them, text keeps its zeros, empty rows skipped, bad rows named', async () => {
    const book = await xlsx([
      ['姓名', '员工编号', '科室', '微信openid', '是否启用'],
      ['吴昊', { value: 14001, type: Number }, '药剂科', openid(14001), '是'],
      ['郑爽', { value: '014002', type: String }, '检验科', openid(14002), { value: false, type: Boolean }],
      [null, null, null, null, null],
      ['钱多多', { value: 14003, type: Number }, '心内科', 'abc', '在职'],
      ['冯涛', { value: 14004, type: Number }, '心内科', openid(14004), '也许'],
      ['孔明', { value: 14005, type: Number }, '心内科', openid(14005), { value: 1, type: Number }],
      [null, null, null, null, null],
      [null, null, null, null, null],
    ]);
    const dry = await upload(book, { dryRun: true, contentType: XLSX });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ created: 3, updated: 0, unchanged: 0, errorCount: 2, dryRun: true });
    expect(dry.body.errors).toEqual([
      { line: 5, message: '微信openid列：「abc」不是有效的openid（6–64位字母、数字、_、-）；工号 14003', column: '微信openid', value: 'abc', employeeNo: '14003' },
      {
        line: 6,
        message: '是否启用列：「也许」无法识别（可填：是/否、启用/停用、在职/离职、true/false、1/0，留空为启用）；工号 14004',
        column: '是否启用',
        value: '也许',
        employeeNo: '14004',
      },
    ]);
    expect(await employees('14')).toEqual([]);
    expect(await employees('014')).toEqual([]);
    // Known by its ZIP signature when the browser sends no useful type.
    const commit = await upload(book, { contentType: 'application/octet-stream' });
    expect(commit.body).toMatchObject({ created: 3, errorCount: 2, dryRun: false });
    expect([...(await employees('014')), ...(await employees('1400'))]).toEqual([
      { employee_no: '014002', openid: openid(14002), name: '郑爽', active: false },
      { employee_no: '14001', openid: openid(14001), name: '吴昊', active: true },
      { employee_no: '14005', openid: openid(14005), name: '孔明', active: true },
    ]);
  });

  it('reads a large .xlsx (60,000 rows) without blocking the event loop: the sheet is parsed in a worker thread', async () => {
    const rows: SheetData = [['工号', '姓名', '微信openid', '是否启用']];
    for (let i = 0; i < 60_000; i++) rows.push([{ value: 4_000_000 + i, type: Number }, `员工姓名${i}`, openid(4_000_000 + i), '是']);
    const book = await xlsx(rows);
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    const res = await upload(book, { dryRun: true, contentType: XLSX });
    histogram.disable();
    const maxBlockMs = Math.round(histogram.max / 1e6);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 60_000, errors: [], errorCount: 0 });
    console.log(`${Math.round(book.length / 1024)} KB .xlsx, 60,000 rows: longest event-loop block ${maxBlockMs} ms`);
    expect(maxBlockMs).toBeLessThan(500);
  }, 60_000);

  it('answers 400 naming charset for a charset it does not know, and writes nothing', async () => {
    const before = await auditCount();
    const res = await upload(`工号,姓名\n15001,x\n`, { contentType: 'text/csv; charset=bogus' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^charset: 无法按「bogus」读取文件/);
    expect(await auditCount()).toBe(before);
  });

  it('answers 400 naming file for an old .xls', async () => {
    const res = await upload(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]), { contentType: 'application/vnd.ms-excel' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^file: 这是旧版 Excel（\.xls）文件/);
  });
});

describe('columns the bridge does not recognise', () => {
  const csv = `序号,编码,名字,微信\n1,16001,林黛玉,${openid(16001)}\n2,16002,贾宝玉,${openid(16002)}\n`;

  it('reports the missing columns with the file’s headers, so the page can ask which is which', async () => {
    const res = await upload(csv);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      created: 0,
      updated: 0,
      unchanged: 0,
      errors: [{ line: 1, message: '表头：未找到工号列（可用列名：工号、员工编号、employee_no）；文件的列为：序号、编码、名字、微信。请在页面上指定哪一列是工号' }],
      errorCount: 1,
      dryRun: false,
      columns: { employee_no: null, openid: null, name: '名字', active: null },
      headers: ['序号', '编码', '名字', '微信'],
      missing: ['employee_no', 'openid'],
    });
    expect(await employees('1600')).toEqual([]);
  });

  it('imports with the administrator’s map=', async () => {
    const map = { 序号: 'ignore', 编码: 'employee_no', 名字: 'name', 微信: 'openid' };
    const dry = await upload(csv, { dryRun: true, map });
    expect(dry.body).toMatchObject({ created: 2, errors: [], columns: { employee_no: '编码', openid: '微信', name: '名字', active: null } });
    expect(dry.body.missing).toBeUndefined();
    expect((await upload(csv, { map })).body).toMatchObject({ created: 2, errors: [] });
    expect(await employees('1600')).toEqual([
      { employee_no: '16001', openid: openid(16001), name: '林黛玉', active: true },
      { employee_no: '16002', openid: openid(16002), name: '贾宝玉', active: true },
    ]);
  });

  it('answers 400 naming map for a map it cannot use', async () => {
    const bad = await api().post('/admin/api/employees/import?dryRun=true&map=%7Bnope').set('Authorization', OPS).set('Content-Type', 'text/csv').send(Buffer.from(csv));
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^map: /);
    const unknown = await upload(csv, { dryRun: true, map: { 工号: 'employee_no' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('map: 文件中没有列「工号」（文件的列：序号、编码、名字、微信）');
  });

  it('imports without an openid column: new employees unbound, existing openids kept', async () => {
    expect((await api().put('/admin/api/employees/17001').set('Authorization', OPS).send({ openid: openid(17001), name: '旧名' })).status).toBe(201);
    const res = await upload('工号,姓名\n17001,新名\n17002,新人\n');
    expect(res.body).toMatchObject({ created: 1, updated: 1, errors: [], columns: { openid: null } });
    expect(await employees('1700')).toEqual([
      { employee_no: '17001', openid: openid(17001), name: '新名', active: true },
      { employee_no: '17002', openid: null, name: '新人', active: true },
    ]);
  });
});

describe('rows and values', () => {
  it('skips rows that are entirely empty without an error', async () => {
    const csv = ['工号,姓名,openid,是否启用', `18001,甲,${openid(18001)},`, ',,,', `18002,乙,${openid(18002)},`, ',,,', ',,,', ''].join('\n');
    expect((await upload(csv)).body).toMatchObject({ created: 2, errors: [], errorCount: 0 });
  });

  it('accepts true/false, 1/0, 是/否, 启用/停用, 在职/离职 in any letter case, and empty as active', async () => {
    const values = ['TRUE', 'false', '1', '0', '是', '否', '启用', '停用', '在职', '离职', '', 'True'];
    const csv = ['工号,openid,是否启用', ...values.map((v, i) => `${19001 + i},${openid(19001 + i)},${v}`)].join('\n');
    expect((await upload(csv)).body).toMatchObject({ created: values.length, errors: [] });
    expect((await employees('190')).map((e) => e.active)).toEqual([true, false, true, false, true, false, true, false, true, false, true, true]);
  });

  it('counts an employee number given twice with the same openid once', async () => {
    const csv = ['工号,姓名,微信openid', `20001,甲,${openid(20001)}`, `20002,乙,${openid(20002)}`, `20001,甲,${openid(20001)}`].join('\n');
    expect((await upload(csv)).body).toMatchObject({ created: 2, errors: [], errorCount: 0 });
  });

  it('with different openids reports both lines, writes neither, and says so', async () => {
    const csv = ['工号,姓名,微信openid', `21001,甲,${openid(21001)}`, `21086,张伟,${openid(1)}`, `21002,乙,${openid(21002)}`, `21003,丙,${openid(21003)}`, `21004,丁,${openid(21004)}`, `21086,张伟,${openid(2)}`].join('\n');
    const res = await upload(csv);
    const message = '工号 21086 在第3、7行出现，openid不同，两行均未导入';
    expect(res.body).toMatchObject({ created: 4, errorCount: 2 });
    expect(res.body.errors).toEqual([
      { line: 3, message, employeeNo: '21086', column: '微信openid', value: openid(1) },
      { line: 7, message, employeeNo: '21086', column: '微信openid', value: openid(2) },
    ]);
    expect(await employees('21086')).toEqual([]);
  });
});

describe('the template', () => {
  it('is a UTF-8 CSV with a BOM, the Chinese header and one example row, and imports as one new employee', async () => {
    const res = await api().get('/admin/api/employees/import-template').set('Authorization', OPS).buffer(true).parse(binary);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment;/);
    const body = res.body as Buffer;
    expect(body.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const lines = body.toString('utf8').slice(1).split('\r\n');
    expect(lines[0]).toBe('工号,姓名,微信openid,是否启用');
    expect(lines.filter((l) => l !== '')).toHaveLength(2);
    const dry = await upload(body, { dryRun: true });
    expect(dry.body).toMatchObject({ created: 1, updated: 0, unchanged: 0, errors: [], errorCount: 0 });
  });

  it('needs the admin token', async () => {
    expect((await api().get('/admin/api/employees/import-template')).status).toBe(401);
  });
});

describe('the HR list reads the same files', () => {
  it('invites from an .xlsx and from UTF-16 text, finding 工号 and 姓名 among other columns', async () => {
    const book = await xlsx([
      ['序号', '员工编号', '姓名', '科室'],
      [1, { value: 22001, type: Number }, '韩梅梅', '药剂科'],
      [null, null, null, null],
      [2, { value: 22002, type: Number }, '李雷', '检验科'],
    ]);
    const fromXlsx = await api().post('/admin/api/invitations/import').set('Authorization', OPS).set('Content-Type', XLSX).send(book);
    expect(fromXlsx.status).toBe(201);
    expect(fromXlsx.body.items.map((i: { employeeNo: string; name: string }) => [i.employeeNo, i.name])).toEqual([
      ['22001', '韩梅梅'],
      ['22002', '李雷'],
    ]);
    expect(fromXlsx.body.errors).toEqual([]);
    const fromText = await api().post('/admin/api/invitations/import').set('Authorization', OPS).set('Content-Type', 'text/plain').send(utf16le('工号\t姓名\r\n22003\t王小明\r\n'));
    expect(fromText.status).toBe(201);
    expect(fromText.body.items.map((i: { employeeNo: string }) => i.employeeNo)).toEqual(['22003']);
  });
});

describe('export → import', () => {
  it('still changes nothing, after imports of every kind', async () => {
    const exported = await api().get('/admin/api/employees/export').set('Authorization', OPS).buffer(true).parse(binary);
    const before = await employees('');
    expect(before.length).toBeGreaterThan(20);
    const auditBefore = await auditCount();
    const res = await upload(exported.body as Buffer);
    expect(res.body).toMatchObject({ created: 0, updated: 0, unchanged: before.length, errors: [], errorCount: 0 });
    expect(await employees('')).toEqual(before);
    expect(await auditCount()).toBe(auditBefore);
  });
});
