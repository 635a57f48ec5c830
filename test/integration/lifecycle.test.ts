import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readAck } from '../../src/cli/fixture-file.js';
import { freePort } from '../support/global-setup.js';
import { spawnBridge } from '../support/process.js';
import { newGuid, soapPush } from '../support/push.js';

// The service as `npm start` runs it: its own process, embedded Postgres under DATA_DIR, sandbox
// mode, clean stop on SIGTERM, and data that survives a restart.

const TOKEN = 'lifecycle-admin-token-123456';
let dataDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'bridge-life-'));
  env = { PORT: String(await freePort()), DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'info' };
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

it('starts on embedded Postgres in sandbox mode, stops on SIGTERM, and keeps its data across a restart', async () => {
  const guid = newGuid();
  const first = spawnBridge(env);
  try {
    await first.healthy();
    expect(first.output()).toContain('SANDBOX MODE');
    expect((await request(first.url).get('/readyz')).status).toBe(200);
    const bound = await request(first.url).put('/admin/api/employees/10086').set('Authorization', `Bearer ${TOKEN}`).send({ openid: 'oE2XCwQb6WdYSo54avF41qKoU3rY' });
    expect(bound.status).toBe(201);
    const ack = readAck((await request(first.url).post('/push').set('Content-Type', 'application/soap+xml').send(soapPush(guid, '10086'))).text);
    expect(ack.ackCode).toBe('AA');
  } finally {
    first.child.kill('SIGTERM');
  }
  expect(await first.exited).toBe(0);
  expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

  const second = spawnBridge(env);
  try {
    await second.healthy();
    expect((await request(second.url).get('/admin/api/employees/10086').set('Authorization', `Bearer ${TOKEN}`)).status).toBe(200);
    const again = readAck((await request(second.url).post('/push').set('Content-Type', 'application/soap+xml').send(soapPush(guid, '10086'))).text);
    expect(again.reason).toMatch(/^处理成功（重复消息/);
  } finally {
    second.child.kill('SIGTERM');
  }
  expect(await second.exited).toBe(0);
}, 90_000);

it('stops at start-up with one line naming a bad variable', async () => {
  const bad = spawnBridge({ ...env, PORT: 'eighty' });
  expect(await bad.exited).toBe(2);
  const lines = bad.output().trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/PORT/);
});

it('stops its embedded Postgres again when it cannot start (port taken)', async () => {
  const blocker = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => blocker.once('listening', resolve));
  try {
    const port = (blocker.address() as { port: number }).port;
    const failed = spawnBridge({ ...env, PORT: String(port) });
    expect(await failed.exited).toBe(1);
    expect(failed.output()).toMatch(/EADDRINUSE/);
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  } finally {
    blocker.close();
  }
}, 60_000);
