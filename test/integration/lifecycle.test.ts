import { existsSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAck } from '../../src/cli/fixture-file.js';
import { freePort } from '../support/global-setup.js';
import { childrenOf, isAlive, postmasterPid, spawnBridge, type BridgeProcess } from '../support/process.js';
import { newGuid, soapPush } from '../support/push.js';

// The service as `npm start` runs it: its own process, embedded Postgres under DATA_DIR, sandbox
// mode, clean stop on SIGTERM (also when the signal goes to npm), data and the generated admin
// token surviving a restart, and start-up failures that exit non-zero with one line.

const TOKEN = 'lifecycle-admin-token-123456';
const HEAP_WARNING = 'PUSH_MAX_INFLIGHT_BYTES lets large pushes in flight take more than half of the heap';
const OPENID = 'oE2XCwQb6WdYSo54avF41qKoU3rY';
let dataDir: string;
let env: NodeJS.ProcessEnv;
const started: BridgeProcess[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'bridge-life-'));
  env = { PORT: String(await freePort()), DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'info' };
});

afterAll(async () => {
  for (const p of started) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

function start(extra: NodeJS.ProcessEnv = {}, via: 'node' | 'npm' = 'node'): BridgeProcess {
  const proc = spawnBridge({ ...env, ...extra }, { via });
  started.push(proc);
  return proc;
}

const pushAck = async (url: string, guid: string) =>
  readAck((await request(url).post('/push').set('Content-Type', 'application/soap+xml').send(soapPush(guid, '10086'))).text);

it('starts on embedded Postgres in sandbox mode, stops on SIGTERM, and keeps its data across a restart', async () => {
  const guid = newGuid();
  const first = start();
  try {
    await first.healthy();
    expect(first.output()).toContain('SANDBOX MODE');
    expect(first.output()).not.toContain(HEAP_WARNING); // the default budget fits the start command's heap
    expect((await request(first.url).get('/readyz')).status).toBe(200);
    const bound = await request(first.url).put('/admin/api/employees/10086').set('Authorization', `Bearer ${TOKEN}`).send({ openid: OPENID });
    expect(bound.status).toBe(201);
    expect((await pushAck(first.url, guid)).ackCode).toBe('AA');
  } finally {
    first.child.kill('SIGTERM');
  }
  expect(await first.exited).toBe(0);
  expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

  const second = start();
  try {
    await second.healthy();
    expect((await request(second.url).get('/admin/api/employees/10086').set('Authorization', `Bearer ${TOKEN}`)).status).toBe(200);
    expect((await pushAck(second.url, guid)).reason).toMatch(/^处理成功（重复消息/);
  } finally {
    second.child.kill('SIGTERM');
  }
  expect(await second.exited).toBe(0);
}, 90_000);

it('stops node and Postgres when SIGTERM goes to the `npm start` process, and npm exits 0', async () => {
  const npm = start({}, 'npm');
  await npm.healthy();
  const [node] = childrenOf(npm.child.pid!);
  expect(node).toBeDefined();
  const postgres = postmasterPid(dataDir);
  expect(isAlive(postgres)).toBe(true);
  npm.child.kill('SIGTERM');
  expect(await npm.exited).toBe(0);
  expect(isAlive(node!)).toBe(false);
  for (let i = 0; i < 50 && isAlive(postgres); i++) await new Promise((r) => setTimeout(r, 100));
  expect(isAlive(postgres)).toBe(false);
  // A next start finds the port and the cluster free.
  const next = start();
  await next.healthy();
  next.child.kill('SIGTERM');
  expect(await next.exited).toBe(0);
}, 90_000);

it('stops cleanly, Postgres included, when SIGTERM arrives while it is still starting', async () => {
  const starting = start();
  for (let i = 0; i < 300 && !starting.output().includes('embedded Postgres running'); i++) await new Promise((r) => setTimeout(r, 20));
  expect(starting.output()).toContain('embedded Postgres running');
  const postgres = postmasterPid(dataDir);
  starting.child.kill('SIGTERM');
  expect(await starting.exited).toBe(0);
  for (let i = 0; i < 50 && isAlive(postgres); i++) await new Promise((r) => setTimeout(r, 100));
  expect(isAlive(postgres)).toBe(false);
}, 60_000);

it("warns at start-up when PUSH_MAX_INFLIGHT_BYTES could take more heap than the start command gives node", async () => {
  const starting = start({ PUSH_MAX_INFLIGHT_BYTES: String(1024 ** 3) });
  for (let i = 0; i < 300 && !starting.output().includes('embedded Postgres running'); i++) await new Promise((r) => setTimeout(r, 20));
  starting.child.kill('SIGTERM');
  expect(await starting.exited).toBe(0);
  const warning = starting
    .output()
    .split('\n')
    .find((line) => line.includes(HEAP_WARNING));
  expect(warning).toBeDefined();
  expect(JSON.parse(warning!)).toMatchObject({ level: 40 /* pino's warn */, pushMaxInflightBytes: 1024 ** 3, heapNeededMb: 8192, heapLimitMb: expect.any(Number) });
}, 60_000);

it('keeps a generated admin token in DATA_DIR (0600), prints it only when made, and accepts it after a restart', async () => {
  const own = await mkdtemp(path.join(tmpdir(), 'bridge-token-'));
  const noToken = { ...env, DATA_DIR: own, ADMIN_TOKEN: '' };
  try {
    const first = start(noToken);
    await first.healthy();
    const file = path.join(own, 'admin-token');
    const token = (await readFile(file, 'utf8')).trim();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.output()).toContain(token);
    expect((await request(first.url).get('/admin/api/whoami').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = start(noToken);
    await second.healthy();
    expect((await request(second.url).get('/admin/api/whoami').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    expect(second.output()).not.toContain(token);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  } finally {
    await rm(own, { recursive: true, force: true });
  }
}, 90_000);

describe('start-up failures exit non-zero with one line on stderr', () => {
  it('names a bad variable (exit 2)', async () => {
    const bad = start({ PORT: 'eighty' });
    expect(await bad.exited).toBe(2);
    const lines = bad.errors().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/PORT/);
  });

  it('names DATA_DIR when it cannot be used (a file where the directory should be)', async () => {
    const file = path.join(dataDir, 'not-a-directory');
    writeFileSync(file, '');
    const bad = start({ DATA_DIR: file });
    expect(await bad.exited).toBe(1);
    const lines = bad.errors().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^start-up failed: DATA_DIR: .*not-a-directory/);
    expect(bad.output()).not.toMatch(/\n\s+at /); // no stack trace anywhere
  });

  it('refuses a port in use before starting Postgres, and leaves its cluster stopped', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    try {
      const port = (blocker.address() as { port: number }).port;
      const failed = start({ PORT: String(port) });
      expect(await failed.exited).toBe(1);
      expect(failed.errors().trim().split('\n')).toHaveLength(1);
      expect(failed.errors()).toMatch(/PORT: .*EADDRINUSE/);
      expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('a second start on the same DATA_DIR does not stop the running bridge or its Postgres', async () => {
    const running = start();
    await running.healthy();
    try {
      const postgres = postmasterPid(dataDir);
      // Same data, another port: the port check passes, the cluster is found busy.
      const second = start({ PORT: String(await freePort()) });
      expect(await second.exited).toBe(1);
      expect(second.errors()).toMatch(/belongs to a bridge that is still running/);
      expect(isAlive(postgres)).toBe(true);
      expect((await pushAck(running.url, newGuid())).ackCode).toBe('AA');
    } finally {
      running.child.kill('SIGTERM');
    }
    expect(await running.exited).toBe(0);
  }, 90_000);
});
