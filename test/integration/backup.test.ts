import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readAck } from '../../src/cli/fixture-file.js';
import { freePort } from '../support/global-setup.js';
import { ROOT, spawnBridge, type BridgeProcess } from '../support/process.js';
import { newGuid, soapPush } from '../support/push.js';

// `npm run migrate` and `npm run backup` while the bridge runs, `npm run restore` into a new DATA_DIR, and the bridge on
// the restored data knows its employees, its audit trail and what it already delivered.

const TOKEN = 'backup-admin-token-1234567';
const auth = { Authorization: `Bearer ${TOKEN}` };
let work: string;
const running: BridgeProcess[] = [];

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'bridge-backup-'));
});

afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await rm(work, { recursive: true, force: true });
});

async function bridgeOn(dataDir: string): Promise<BridgeProcess> {
  const proc = spawnBridge({ PORT: String(await freePort()), EMBEDDED_PG_PORT: String(await freePort()), DATA_DIR: dataDir, ADMIN_TOKEN: TOKEN });
  running.push(proc);
  await proc.healthy();
  return proc;
}

async function cli(script: 'backup' | 'restore' | 'migrate', dataDir: string, file = ''): Promise<{ code: number; out: string }> {
  const env = { PATH: process.env.PATH, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [`dist/src/cli/${script}.js`, ...(file ? [file] : [])], { cwd: ROOT, env });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

const push = async (url: string, guid: string, employeeNo: string) =>
  readAck((await request(url).post('/push').set('Content-Type', 'application/soap+xml').send(soapPush(guid, employeeNo))).text);

it('backs up a running bridge and restores into a new DATA_DIR with everything it knew', async () => {
  const original = path.join(work, 'original');
  const bridge = await bridgeOn(original);
  await request(bridge.url).put('/admin/api/employees/10086').set(auth).send({ openid: 'oE2XCwQb6WdYSo54avF41qKoU3rY', name: '张伟' }).expect(201);
  await request(bridge.url).put('/admin/api/employees/000123').set(auth).send({ openid: 'oE2XCwA7bX3cY9dZ2fW4gV6hU8jT', active: false }).expect(201);
  const delivered = newGuid();
  expect((await push(bridge.url, delivered, '10086')).ackCode).toBe('AA');
  expect((await push(bridge.url, newGuid(), '55555')).reason).toBe('工号关联账号不存在');

  // Maintenance commands use the running bridge's embedded Postgres, never a second one.
  expect(await cli('migrate', original)).toEqual({ code: 0, out: 'database is up to date\n' });

  const file = path.join(work, 'bridge.jsonl.gz');
  const backup = await cli('backup', original, file);
  expect(backup).toMatchObject({ code: 0 });
  expect(backup.out).toMatch(/employees: 2/);
  expect(statSync(file).mode & 0o077).toBe(0); // holds openids
  bridge.child.kill('SIGTERM');
  expect(await bridge.exited).toBe(0);

  const restoredDir = path.join(work, 'restored');
  const restore = await cli('restore', restoredDir, file);
  expect(restore).toMatchObject({ code: 0 });
  expect(restore.out).toMatch(/messages: 2/);

  const restored = await bridgeOn(restoredDir);
  const employee = await request(restored.url).get('/admin/api/employees/000123').set(auth);
  expect(employee.body).toMatchObject({ employeeNo: '000123', active: false });
  expect((await request(restored.url).get('/admin/api/audit').set(auth)).body.total).toBe(2);
  // What was delivered stays delivered: a re-push is a duplicate, not a second message.
  expect((await push(restored.url, delivered, '10086')).reason).toMatch(/^处理成功（重复消息/);
  // Serial ids continue after the restored ones.
  await request(restored.url).put('/admin/api/employees/10086').set(auth).send({ openid: 'oE2XCwQb6WdYSo54avF41qKoU3rY', name: '张伟伟' }).expect(200);
  expect((await request(restored.url).get('/admin/api/audit').set(auth)).body.total).toBe(3);

  // Never over live data: the restored bridge is running, and its database is no longer empty.
  const refused = await cli('restore', restoredDir, file);
  expect(refused.code).toBe(1);
  expect(refused.out).toMatch(/^restore failed: the bridge using this DATA_DIR is running/);
  restored.child.kill('SIGTERM');
  expect(await restored.exited).toBe(0);
  const notEmpty = await cli('restore', restoredDir, file);
  expect(notEmpty.code).toBe(1);
  expect(notEmpty.out).toMatch(/database is not empty/);
}, 120_000);
