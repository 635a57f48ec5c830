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
    expect(res.body).toEqual({ created: 2, updated: 0, unchanged: 0, errors: [{ line: 3, message: expect.stringMatching(/^openid/) }], dryRun: true });
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
    expect(res.body.errors).toEqual([
      { line: 4, message: 'employee_no: 10004 appears on lines 4, 5' },
      { line: 5, message: 'employee_no: 10004 appears on lines 4, 5' },
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
    expect(res.body).toMatchObject({ created: 0, updated: 0, unchanged: 0, errors: [{ line: 1, message: expect.stringMatching(/^header/) }] });
  });

  it('reports wrong column counts and bad active values', async () => {
    const res = await importCsv(['employee_no,openid,name,active', `30002,${openid(30002)}`, `30003,${openid(30003)},x,maybe`].join('\n'), { dryRun: true });
    expect(res.body.errors).toEqual([
      { line: 2, message: expect.stringMatching(/^columns/) },
      { line: 3, message: expect.stringMatching(/^active/) },
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
    expect(res.body).toEqual({ created: 0, updated: 0, unchanged: before.length, errors: [], dryRun: false });
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
