import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';

// Contract §6: the single-employee admin calls, with bearer auth and field-naming 400s.

let db: TestDatabase;
let bridge: TestBridge;
const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const api = () => request(bridge.url);
const count = () => withClient(db.url, async (c) => Number((await c.query('SELECT count(*) FROM employees')).rows[0].count));

beforeAll(async () => {
  db = await createTestDatabase('admin');
  bridge = await startBridge({ databaseUrl: db.url, wechat: false, env: { ADMIN_TOKEN: `ops:${ADMIN_TOKEN},audit:another-token-987654321` } });
});

afterAll(async () => {
  await bridge?.stop();
  await db?.drop();
});

describe('authentication', () => {
  it('answers 401 without a token, with a wrong one, or with a non-bearer scheme', async () => {
    for (const header of [undefined, 'Bearer wrong-token', `Basic ${ADMIN_TOKEN}`]) {
      const req = api().get('/admin/api/employees/10086');
      const res = await (header ? req.set('Authorization', header) : req);
      expect(res.status).toBe(401);
      expect(res.body.error).toMatch(/authorization/);
    }
  });

  it('accepts every token of a name:token list', async () => {
    expect((await api().get('/admin/api/employees/nobody').set('Authorization', 'Bearer another-token-987654321')).status).toBe(404);
  });
});

describe('employees', () => {
  it('creates (201), reads, updates (200) and deletes (204) a mapping', async () => {
    const created = await api().put('/admin/api/employees/000123').set(auth).send({ openid: 'oE2XCwA7bX3cY9dZ2fW4gV6hU8jT', name: '陈静' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ employeeNo: '000123', openid: 'oE2XCwA7bX3cY9dZ2fW4gV6hU8jT', name: '陈静', active: true });
    // §6's fields, and §9's: binding state, how it was bound, the last interaction and the window.
    expect(Object.keys(created.body).sort()).toEqual(['active', 'binding', 'boundVia', 'createdAt', 'employeeNo', 'invitation', 'lastInteractionAt', 'name', 'openid', 'updatedAt', 'windowOpen']);
    expect(created.body).toMatchObject({ binding: 'bound', boundVia: 'admin', lastInteractionAt: null, windowOpen: false, invitation: null });

    const updated = await api().put('/admin/api/employees/000123').set(auth).send({ openid: 'oE2XCwA7bX3cY9dZ2fW4gV6hU8jX', active: false });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ openid: 'oE2XCwA7bX3cY9dZ2fW4gV6hU8jX', name: '陈静', active: false, createdAt: created.body.createdAt });
    expect(new Date(updated.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(created.body.updatedAt).getTime());

    const read = await api().get('/admin/api/employees/000123').set(auth);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(updated.body);

    expect((await api().delete('/admin/api/employees/000123').set(auth)).status).toBe(204);
    expect((await api().get('/admin/api/employees/000123').set(auth)).status).toBe(404);
    expect((await api().delete('/admin/api/employees/000123').set(auth)).status).toBe(404);
  });

  it('keeps an employee without an openid (contract §9): null or absent, and absent keeps a stored one', async () => {
    const created = await api().put('/admin/api/employees/NOID1').set(auth).send({ name: '未绑定' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ employeeNo: 'NOID1', openid: null, binding: 'unbound', boundVia: null });
    const bound = await api().put('/admin/api/employees/NOID1').set(auth).send({ openid: 'oNOID1xxxxxxxxxx' });
    expect(bound.body).toMatchObject({ openid: 'oNOID1xxxxxxxxxx', binding: 'bound', boundVia: 'admin', name: '未绑定' });
    const renamed = await api().put('/admin/api/employees/NOID1').set(auth).send({ name: '改名' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ openid: 'oNOID1xxxxxxxxxx', name: '改名', binding: 'bound' });
    const unbound = await api().put('/admin/api/employees/NOID1').set(auth).send({ openid: null });
    expect(unbound.body).toMatchObject({ openid: null, binding: 'unbound', boundVia: null });
    const listed = await api().get('/admin/api/employees?binding=unbound&q=NOID1').set(auth);
    expect(listed.body.items.map((e: { employeeNo: string }) => e.employeeNo)).toEqual(['NOID1']);
    expect((await api().get('/admin/api/employees?binding=bound&q=NOID1').set(auth)).body.total).toBe(0);
    expect((await api().get('/admin/api/employees?binding=maybe').set(auth)).body.error).toMatch(/^binding:/);
  });

  it.each([
    ['a bad openid', '/admin/api/employees/1', { openid: 'bad openid!' }, /^openid/],
    ['a short openid', '/admin/api/employees/1', { openid: 'abc' }, /^openid/],
    ['a numeric openid', '/admin/api/employees/1', { openid: 12345678 }, /^openid/],
    ['an unknown field', '/admin/api/employees/1', { openid: 'oE2XCwA7bX3cY9dZ2fW4gV6hU8jT', phone: '1' }, /^phone/],
    ['a non-boolean active', '/admin/api/employees/1', { openid: 'oE2XCwA7bX3cY9dZ2fW4gV6hU8jT', active: 'yes' }, /^active/],
    ['a non-string name', '/admin/api/employees/1', { openid: 'oE2XCwA7bX3cY9dZ2fW4gV6hU8jT', name: 5 }, /^name/],
    ['an empty employee number', '/admin/api/employees/%20', { openid: 'oE2XCwA7bX3cY9dZ2fW4gV6hU8jT' }, /^employeeNo/],
    ['no employee number', '/admin/api/employees/', { openid: 'oE2XCwA7bX3cY9dZ2fW4gV6hU8jT' }, /^employeeNo/],
    ['a JSON array body', '/admin/api/employees/1', [1], /^body/],
  ])('answers 400 naming the field for %s, and writes nothing', async (_what, path, body, error) => {
    const before = await count();
    const res = await api().put(path).set(auth).send(body as object);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(error);
    expect(await count()).toBe(before);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const res = await api().put('/admin/api/employees/1').set(auth).set('Content-Type', 'application/json').send('{"openid":');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^body/);
  });
});

describe('input that cannot be stored is refused with 400 naming the field, never 503', () => {
  it.each([
    ['a NUL in the name', '/admin/api/employees/91001', { openid: 'oE2XCwNul91001', name: 'a\u0000b' }, /^name: .*U\+0000/],
    ['a zero-width space in the name', '/admin/api/employees/91002', { openid: 'oE2XCwZw91002', name: '张\u200b伟' }, /^name: .*U\+200B/],
    ['a soft hyphen in the name', '/admin/api/employees/91003', { openid: 'oE2XCwZw91003', name: 'Ma\u00adria' }, /^name: .*U\+00AD/],
    ['a lone surrogate in the name', '/admin/api/employees/91004', { openid: 'oE2XCwZw91004', name: 'a\ud800b' }, /^name: .*U\+D800/],
    ['a bidi override in the employee number', `/admin/api/employees/${encodeURIComponent('91005\u202e')}`, { openid: 'oE2XCwZw91005' }, /^employeeNo: .*U\+202E/],
    ['a C1 control in the employee number', `/admin/api/employees/${encodeURIComponent('91006\u0085')}`, { openid: 'oE2XCwZw91006' }, /^employeeNo: .*U\+0085/],
    ['a BOM inside the employee number', `/admin/api/employees/${encodeURIComponent('91\ufeff007')}`, { openid: 'oE2XCwZw91007' }, /^employeeNo: .*U\+FEFF/],
  ])('%s', async (_what, path, body, error) => {
    const before = await count();
    const res = await api().put(path).set(auth).send(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(error);
    expect(await count()).toBe(before);
  });

  it.each([
    ['GET', '/admin/api/employees/%E0%A4%A'],
    ['PUT', '/admin/api/employees/%E0%A4%A'],
    ['DELETE', '/admin/api/employees/%ZZ'],
  ])('answers 400 naming the path for a broken percent-escape: %s %s', async (method, path) => {
    const req = method === 'GET' ? api().get(path) : method === 'PUT' ? api().put(path).send({ openid: 'oE2XCwA7bX3cY9dZ2fW4gV6hU8jT' }) : api().delete(path);
    const res = await req.set(auth);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^path: /);
  });

  it('answers 400 naming the charset for a JSON body in a charset it does not know', async () => {
    const res = await api().put('/admin/api/employees/91008').set(auth).set('Content-Type', 'application/json; charset=klingon').send('{"openid":"oE2XCwCharset1"}');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^charset/);
  });

  it('still reads and deletes a mapping stored before invisible characters were refused', async () => {
    await withClient(db.url, (c) => c.query(`INSERT INTO employees (employee_no, openid, name) VALUES ($1, 'oE2XCwLegacy001', $2)`, ['91009\u200b', 'old\u200bname']));
    const path = `/admin/api/employees/${encodeURIComponent('91009\u200b')}`;
    expect((await api().get(path).set(auth)).body).toMatchObject({ employeeNo: '91009\u200b', name: 'old\u200bname' });
    expect((await api().delete(path).set(auth)).status).toBe(204);
  });
});

describe('sign-in limiter', () => {
  it('refuses an address after 10 failed sign-ins (429, Retry-After) but still accepts a valid token from it (contract §11)', async () => {
    // A bridge of its own: the address (loopback) stays refused for five minutes.
    const own = await startBridge({ databaseUrl: db.url, wechat: false });
    try {
      for (let i = 0; i < 10; i++) expect((await request(own.url).get('/admin/api/whoami').set('Authorization', 'Bearer wrong-token')).status).toBe(401);
      const refused = await request(own.url).get('/admin/api/whoami').set('Authorization', 'Bearer wrong-token');
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      const valid = await request(own.url).get('/admin/api/whoami').set(auth);
      expect(valid.status).toBe(200);
      expect(valid.body).toMatchObject({ actor: 'admin' });
      expect((await request(own.url).get('/admin/api/whoami')).status).toBe(429);
    } finally {
      await own.stop();
    }
  });
});
