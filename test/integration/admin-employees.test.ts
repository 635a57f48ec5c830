import { monitorEventLoopDelay } from 'node:perf_hooks';
import iconv from 'iconv-lite';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';

// Contract §7 for employees: list and search, CSV import (dry run, per-line report, encodings),
// export that imports back unchanged, and the audit trail naming who acted.

let db: TestDatabase;
let bridge: TestBridge;
const OPS = `Bearer ${ADMIN_TOKEN}`;
const AUDITOR = 'Bearer auditor-token-0000000001';
const api = () => request(bridge.url);
const employees = () => withClient(db.url, async (c) => (await c.query('SELECT employee_no, openid, name, active FROM employees ORDER BY employee_no')).rows);
const auditCount = () => withClient(db.url, async (c) => Number((await c.query('SELECT count(*) FROM employee_audit')).rows[0].count));

function importCsv(body: Buffer | string, { dryRun = false, contentType = 'text/csv', auth = OPS } = {}) {
  return api()
    .post(`/admin/api/employees/import?dryRun=${dryRun}`)
    .set('Authorization', auth)
    .set('Content-Type', contentType)
    .send(Buffer.isBuffer(body) ? body : Buffer.from(body));
}

const openid = (n: number) => `oE2XCw${String(n).padStart(22, '0')}`;

beforeAll(async () => {
  db = await createTestDatabase('adminemp');
  bridge = await startBridge({ databaseUrl: db.url, wechat: false, env: { ADMIN_TOKEN: `ops:${ADMIN_TOKEN},auditor:auditor-token-0000000001` } });
});

afterAll(async () => {
  await bridge?.stop();
  await db?.drop();
});

describe('CSV import', () => {
  it('reports per line in a dry run and writes nothing', async () => {
    const csv = ['employee_no,openid,name', `10001,${openid(1)},张伟`, `10002,bad openid,李娜`, '', `10003,${openid(3)},王磊`].join('\n');
    const res = await importCsv(csv, { dryRun: true });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      created: 2,
      updated: 0,
      unchanged: 0,
      errors: [{ line: 3, message: 'openid列：「bad openid」不是有效的openid（6–64位字母、数字、_、-）；工号 10002', column: 'openid', value: 'bad openid', employeeNo: '10002' }],
      errorCount: 1,
      dryRun: true,
      columns: { employee_no: 'employee_no', openid: 'openid', name: 'name', active: null }, headers: ['employee_no', 'openid', 'name'],
    });
    expect(await employees()).toEqual([]);
    expect(await auditCount()).toBe(0);
  });

  it('writes the valid lines, skips the rejected ones and audits each change under the actor', async () => {
    const csv = ['employee_no,openid,name,active', `10001,${openid(1)},张伟,true`, `10002,bad,李娜,true`, `10003,${openid(3)},王磊,false`].join('\r\n');
    const res = await importCsv(csv);
    expect(res.body).toMatchObject({ created: 2, updated: 0, unchanged: 0, dryRun: false });
    expect(res.body.errors.map((e: { line: number }) => e.line)).toEqual([3]);
    expect(await employees()).toEqual([
      { employee_no: '10001', openid: openid(1), name: '张伟', active: true },
      { employee_no: '10003', openid: openid(3), name: '王磊', active: false },
    ]);
    const audit = await api().get('/admin/api/audit?employeeNo=10003').set('Authorization', OPS);
    expect(audit.body.items).toEqual([
      expect.objectContaining({ actor: 'ops', employeeNo: '10003', action: 'create', via: 'import', before: null, after: { employeeNo: '10003', openid: openid(3), name: '王磊', active: false } }),
    ]);
  });

  it('counts updated and unchanged lines, and rejects every line of an employee number given twice', async () => {
    const csv = ['employee_no,openid,name', `10001,${openid(1)},张伟`, `10003,${openid(33)},王磊`, `10004,${openid(4)},甲`, `10004,${openid(5)},乙`].join('\n');
    const res = await importCsv(csv);
    expect(res.body).toMatchObject({ created: 0, updated: 1, unchanged: 1 });
    const message = '工号 10004 在第4、5行出现，openid、姓名不同，两行均未导入';
    expect(res.body.errors).toEqual([
      { line: 4, message, employeeNo: '10004', column: 'openid', value: openid(4) },
      { line: 5, message, employeeNo: '10004', column: 'openid', value: openid(5) },
    ]);
    expect((await employees()).find((e) => e.employee_no === '10004')).toBeUndefined();
  });

  it('reads GBK (by charset) and UTF-8 with a BOM', async () => {
    const gbk = iconv.encode(['employee_no,openid,name', `20001,${openid(20001)},欧阳娜娜`].join('\n'), 'gbk');
    expect((await importCsv(gbk, { contentType: 'text/csv; charset=GBK' })).body).toMatchObject({ created: 1, errors: [] });
    const unlabelled = iconv.encode(['employee_no,openid,name', `20002,${openid(20002)},诸葛亮`].join('\n'), 'gbk');
    expect((await importCsv(unlabelled)).body).toMatchObject({ created: 1, errors: [] });
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(['employee_no,openid,name', `20003,${openid(20003)},司马懿`].join('\n'))]);
    expect((await importCsv(bom)).body).toMatchObject({ created: 1, errors: [] });
    const names = Object.fromEntries((await employees()).map((e) => [e.employee_no, e.name]));
    expect([names['20001'], names['20002'], names['20003']]).toEqual(['欧阳娜娜', '诸葛亮', '司马懿']);
  });

  it('refuses a file without the header, naming line 1', async () => {
    const res = await importCsv(`30001,${openid(30001)},x`);
    expect(res.body).toMatchObject({
      created: 0,
      updated: 0,
      unchanged: 0,
      errors: [{ line: 1, message: expect.stringMatching(/^表头：未找到工号列（可用列名：工号、员工编号、employee_no）；文件的列为：30001、oE2XCw/) }],
      missing: ['employee_no', 'openid', 'name'],
    });
  });

  it('reports wrong column counts and bad active values', async () => {
    const res = await importCsv(['employee_no,openid,name,active', `30002,${openid(30002)}`, `30003,${openid(30003)},x,maybe`].join('\n'), { dryRun: true });
    expect(res.body.errors).toEqual([
      { line: 2, message: '列数：表头有 4 列，此行有 2 列；工号 30002', employeeNo: '30002' },
      { line: 3, message: 'active列：「maybe」无法识别（可填：是/否、启用/停用、在职/离职、true/false、1/0，留空为启用）；工号 30003', column: 'active', value: 'maybe', employeeNo: '30003' },
    ]);
  });

  it('imports 500 employees in one go', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `${40000 + i},${openid(40000 + i)},员工${i}`);
    const res = await importCsv(['employee_no,openid,name', ...lines].join('\n'));
    expect(res.body).toMatchObject({ created: 500, errors: [] });
  });
});

describe('export', () => {
  it('exports CSV that imports back with nothing changed', async () => {
    await api().put('/admin/api/employees/50001').set('Authorization', OPS).send({ openid: openid(50001), name: '王, "小明"', active: false });
    const exported = await api().get('/admin/api/employees/export').set('Authorization', OPS).buffer(true).parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });
    expect(exported.status).toBe(200);
    expect(exported.headers['content-type']).toBe('text/csv; charset=utf-8');
    const body = exported.body as Buffer;
    expect(body.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(body.toString('utf8')).toContain('50001,oE2XCw0000000000000000050001,"王, ""小明""",false');
    const before = await employees();
    const auditBefore = await auditCount();
    const res = await importCsv(body);
    expect(res.body).toEqual({ created: 0, updated: 0, unchanged: before.length, errors: [], errorCount: 0, dryRun: false, columns: { employee_no: 'employee_no', openid: 'openid', name: 'name', active: 'active' }, headers: ['employee_no', 'openid', 'name', 'active'] });
    expect(await employees()).toEqual(before);
    expect(await auditCount()).toBe(auditBefore);
  });
});

describe('list and search', () => {
  it('searches by employee number, name or part of the openid, with paging and a total', async () => {
    const byName = await api().get('/admin/api/employees?q=诸葛').set('Authorization', OPS);
    expect(byName.body).toMatchObject({ total: 1, items: [{ employeeNo: '20002' }] });
    const byOpenid = await api().get(`/admin/api/employees?q=${openid(20003).slice(-8)}`).set('Authorization', OPS);
    expect(byOpenid.body.items.map((e: { employeeNo: string }) => e.employeeNo)).toEqual(['20003']);
    const page = await api().get('/admin/api/employees?q=4000&limit=5&offset=5').set('Authorization', OPS);
    expect(page.body.total).toBe(10);
    expect(page.body.items).toHaveLength(5);
    const all = await api().get('/admin/api/employees?limit=500').set('Authorization', OPS);
    expect(all.body.total).toBe((await employees()).length);
    expect((await api().get('/admin/api/employees?limit=501').set('Authorization', OPS)).body.error).toMatch(/^limit/);
    expect((await api().get('/admin/api/employees?q=%25').set('Authorization', OPS)).body.total).toBe(0);
  });
});

describe('audit', () => {
  it('records who changed a mapping, from what to what, newest first', async () => {
    await api().put('/admin/api/employees/60001').set('Authorization', OPS).send({ openid: openid(60001), name: '初始' });
    await api().put('/admin/api/employees/60001').set('Authorization', AUDITOR).send({ openid: openid(60002) });
    await api().put('/admin/api/employees/60001').set('Authorization', AUDITOR).send({ openid: openid(60002) });
    await api().delete('/admin/api/employees/60001').set('Authorization', OPS);
    const res = await api().get('/admin/api/audit?employeeNo=60001').set('Authorization', OPS);
    expect(res.body.total).toBe(3);
    expect(res.body.items.map((e: { action: string; actor: string }) => [e.action, e.actor])).toEqual([
      ['delete', 'ops'],
      ['update', 'auditor'],
      ['create', 'ops'],
    ]);
    expect(res.body.items[1]).toMatchObject({ before: { openid: openid(60001), name: '初始' }, after: { openid: openid(60002), name: '初始' } });
    expect(res.body.items[0]).toMatchObject({ before: { openid: openid(60002) }, after: null });
    const byActor = await api().get('/admin/api/audit?actor=auditor').set('Authorization', OPS);
    expect(byActor.body.items.every((e: { actor: string }) => e.actor === 'auditor')).toBe(true);
  });
});

describe('audit filters', () => {
  it.each([
    ['from=-271821-04-20', /^from: /],
    ['to=10000-01-01', /^to: /],
    ['actor=a%00b', /^actor: /],
    ['employeeNo=a%00b', /^employeeNo: /],
    ['actor=<300 characters>', /^actor: at most 256/],
  ])('GET /admin/api/audit?%s answers 400 naming the parameter', async (query, error) => {
    const res = await api().get(`/admin/api/audit?${query.replace('<300 characters>', 'a'.repeat(300))}`).set('Authorization', OPS);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(error);
  });

  it('GET /admin/api/employees?q= with a NUL answers 400 naming q', async () => {
    const res = await api().get('/admin/api/employees?q=a%00b').set('Authorization', OPS);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^q: /);
  });
});

describe('CSV import: bad input', () => {
  it('rejects a name with a NUL in the dry run, as the commit would, and the commit writes the other lines', async () => {
    const csv = ['employee_no,openid,name', `70001,${openid(70001)},a\u0000b`, `70002,${openid(70002)},好`].join('\n');
    const dry = await importCsv(csv, { dryRun: true });
    expect(dry.body).toMatchObject({ created: 1, errorCount: 1, errors: [{ line: 2, message: expect.stringMatching(/^name列：.*（U\+0000，第 2 个字符）；工号 70001$/) }] });
    const commit = await importCsv(csv);
    expect(commit.status).toBe(200);
    expect(commit.body).toMatchObject({ created: 1, errors: [{ line: 2, message: expect.stringMatching(/^name列：/), column: 'name', employeeNo: '70001' }] });
    expect((await employees()).filter((e) => e.employee_no.startsWith('7000')).map((e) => e.employee_no)).toEqual(['70002']);
  });

  it('reports an unterminated quote on its line and still reads the lines after it', async () => {
    const csv = ['employee_no,openid,name', `70011,${openid(70011)},"never closed`, `70012,${openid(70012)},乙`, `70013,${openid(70013)},丙`].join('\n');
    const res = await importCsv(csv, { dryRun: true });
    expect(res.body).toMatchObject({ created: 2, errorCount: 1, errors: [{ line: 2, message: expect.stringMatching(/^引号：此行有一个双引号（"）开始的字段没有闭合/) }] });
  });

  it('answers 400 naming the charset for a CSV in a charset it does not know', async () => {
    const res = await importCsv('employee_no,openid,name\n', { dryRun: true, contentType: 'text/csv; charset=klingon' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^charset/);
  });
});

describe('export: formula injection', () => {
  it('prefixes every cell a spreadsheet would run with a quote, and imports back unchanged', async () => {
    const hostile = [
      ['80001', openid(80001), '=HYPERLINK("http://evil.example","x")'],
      ['80002', openid(80002), "+cmd|' /C calc'!A0"],
      ['@80003', `-${openid(80003).slice(1)}`, '@SUM(A1:A9)'],
      ['-80004', openid(80004), '-1+1'],
      ['80005', openid(80005), "'=already quoted"],
    ];
    for (const [no, id, name] of hostile) {
      const res = await api().put(`/admin/api/employees/${encodeURIComponent(no!)}`).set('Authorization', OPS).send({ openid: id, name });
      expect(res.status).toBe(201);
    }
    const text = (await exportText()).replace(/^\uFEFF/, '');
    const cells = text.split('\r\n').flatMap((line) => line.split(','));
    expect(cells.filter((cell) => /^"?[=+\-@\t\r]/.test(cell))).toEqual([]);
    expect(text).toContain(`80001,${openid(80001)},"'=HYPERLINK(""http://evil.example"",""x"")",true`);
    expect(text).toContain(`'@80003,'-${openid(80003).slice(1)},'@SUM(A1:A9),true`);
    expect(text).toContain(`80005,${openid(80005)},''=already quoted,true`);

    const before = await employees();
    const auditBefore = await auditCount();
    const res = await importCsv(Buffer.from(`\uFEFF${text}`));
    expect(res.body).toEqual({ created: 0, updated: 0, unchanged: before.length, errors: [], errorCount: 0, dryRun: false, columns: { employee_no: 'employee_no', openid: 'openid', name: 'name', active: 'active' }, headers: ['employee_no', 'openid', 'name', 'active'] });
    expect(await employees()).toEqual(before);
    expect(await auditCount()).toBe(auditBefore);
  });
});

describe('large imports', () => {
  it('answers a 25,000-line dry run with one duplicated employee number in bounded time, memory and size, without blocking the event loop', async () => {
    const lines = Array.from({ length: 25_000 }, (_, i) => `10086,${openid(i)},员工${i}`);
    const { result: res, maxBlockMs } = await watchEventLoop(() => importCsv(['employee_no,openid,name', ...lines].join('\n'), { dryRun: true }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 0, updated: 0, unchanged: 0, errorCount: 25_000, dryRun: true });
    expect(res.body.errors).toHaveLength(1000);
    expect(res.body.errors[0]).toEqual({ line: 2, message: '工号 10086 在第2、3、4、5、6行等共25000行出现，openid、姓名不同，25000行均未导入', employeeNo: '10086', column: 'openid', value: openid(0) });
    expect(res.body.errors.at(-1).line).toBe(1001);
    expect(res.text.length).toBeLessThan(200_000);
    console.log(`25,000-line dry run: longest event-loop block ${maxBlockMs} ms`);
    expect(maxBlockMs).toBeLessThan(500);
  });

  it('reads a 5 MB file without blocking the event loop', async () => {
    const lines: string[] = ['employee_no,openid,name'];
    for (let i = 0, size = 0; size < 5 * 1024 * 1024 - 64 * 1024; i++) {
      lines.push(`${2_000_000 + i},${openid(2_000_000 + i)},员工姓名${i}`);
      size += Buffer.byteLength(lines.at(-1)!) + 1;
    }
    const { result: res, maxBlockMs } = await watchEventLoop(() => importCsv(lines.join('\n'), { dryRun: true, contentType: 'text/csv; charset=utf-8' }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: lines.length - 1, errors: [] });
    console.log(`5 MB dry run (${lines.length - 1} lines): longest event-loop block ${maxBlockMs} ms`);
    expect(maxBlockMs).toBeLessThan(500);
  });

  it('commits in a few statements per 500 rows, with the audit trail it had row by row', async () => {
    const first = Array.from({ length: 1500 }, (_, i) => `${3_000_000 + i},${openid(3_000_000 + i)},原名${i}`);
    expect((await importCsv(['employee_no,openid,name', ...first].join('\n'))).body).toMatchObject({ created: 1500, errors: [] });
    const lastAuditId = await withClient(db.url, async (c) => Number((await c.query('SELECT max(id) AS id FROM employee_audit')).rows[0].id));

    // Interleaved, in groups of four lines: unchanged, openid changed, name changed, a new (inactive) employee.
    const existing = (i: number) => 3 * (i >> 2) + (i % 4);
    const second = Array.from({ length: 2000 }, (_, i) => {
      const no = i % 4 === 3 ? 3_100_000 + (i >> 2) : 3_000_000 + existing(i);
      if (i % 4 === 0) return `${no},${openid(no)},原名${existing(i)},true`;
      if (i % 4 === 1) return `${no},${openid(no + 7)},原名${existing(i)},true`;
      if (i % 4 === 2) return `${no},${openid(no)},新名${i},true`;
      return `${no},${openid(no)},新人${i},false`;
    });
    const before = await statementsSent();
    const res = await importCsv(['employee_no,openid,name,active', ...second].join('\n'));
    const statements = (await statementsSent()) - before;
    expect(res.body).toMatchObject({ created: 500, updated: 1000, unchanged: 500, errors: [] });
    // Per 500 rows a lock-and-read, an upsert and an audit insert, plus the transaction's start and commit.
    expect(statements).toBeLessThanOrEqual(3 * Math.ceil(2000 / 500) + 2);

    const audit = await withClient(db.url, async (c) => (await c.query('SELECT actor, employee_no, action, via, before, after FROM employee_audit WHERE id > $1 ORDER BY id', [lastAuditId])).rows);
    const expected = second.flatMap((line, i) => {
      const [no, id, name] = line.split(',') as [string, string, string];
      if (i % 4 === 0) return [];
      const after = { employeeNo: no, openid: id, name, active: i % 4 !== 3 };
      const before = i % 4 === 3 ? null : { employeeNo: no, openid: openid(Number(no)), name: `原名${existing(i)}`, active: true };
      return [{ actor: 'ops', employee_no: no, action: before ? 'update' : 'create', via: 'import', before, after }];
    });
    expect(audit).toEqual(expected);
  });
});

async function exportText(): Promise<string> {
  const res = await api().get('/admin/api/employees/export').set('Authorization', OPS).buffer(true).parse((r, done) => {
    const chunks: Buffer[] = [];
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => done(null, Buffer.concat(chunks).toString('utf8')));
  });
  return res.body as string;
}

/** The longest the event loop was blocked (ms) while `work` ran: the bridge runs in this process. */
async function watchEventLoop<T>(work: () => Promise<T>): Promise<{ result: T; maxBlockMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  try {
    const result = await work();
    return { result, maxBlockMs: Math.round(histogram.max / 1e6) };
  } finally {
    histogram.disable();
  }
}

/** Statements the bridge has sent to Postgres so far (its bridge_db_statements_total metric). */
async function statementsSent(): Promise<number> {
  const metrics = (await api().get('/metrics')).text;
  return Number(/^bridge_db_statements_total (\d+)/m.exec(metrics)![1]);
}
