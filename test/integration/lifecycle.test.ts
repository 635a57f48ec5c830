import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readAck } from '../../src/cli/fixture-file.js';
import { freePort } from '../support/global-setup.js';
import { newGuid, soapPush } from '../support/push.js';

// The service as `npm start` runs it: its own process, embedded Postgres under DATA_DIR, sandbox
// mode, clean stop on SIGTERM, and data that survives a restart.

const ROOT = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'lifecycle-admin-token-123456';
let dataDir: string;
let env: NodeJS.ProcessEnv;
let url: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'bridge-life-'));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  env = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), ADMIN_TOKEN: TOKEN };
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function startProcess(extraEnv: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitHealthy(output: () => string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await request(url).get('/healthz').then((r) => r.status === 200, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`service did not become healthy:\n${output()}`);
}

it('starts on embedded Postgres in sandbox mode, stops on SIGTERM, and keeps its data across a restart', async () => {
  const guid = newGuid();
  const first = startProcess();
  try {
    await waitHealthy(first.output);
    expect(first.output()).toContain('SANDBOX MODE');
    expect((await request(url).get('/readyz')).status).toBe(200);
    const bound = await request(url).put('/admin/api/employees/10086').set('Authorization', `Bearer ${TOKEN}`).send({ openid: 'oE2XCwQb6WdYSo54avF41qKoU3rY' });
    expect(bound.status).toBe(201);
    const ack = readAck((await request(url).post('/push').set('Content-Type', 'application/soap+xml').send(soapPush(guid, '10086'))).text);
    expect(ack.ackCode).toBe('AA');
  } finally {
    first.child.kill('SIGTERM');
  }
  expect(await first.exited).toBe(0);
  expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

  const second = startProcess();
  try {
    await waitHealthy(second.output);
    expect((await request(url).get('/admin/api/employees/10086').set('Authorization', `Bearer ${TOKEN}`)).status).toBe(200);
    const again = readAck((await request(url).post('/push').set('Content-Type', 'application/soap+xml').send(soapPush(guid, '10086'))).text);
    expect(again.reason).toMatch(/^处理成功（重复消息/);
  } finally {
    second.child.kill('SIGTERM');
  }
  expect(await second.exited).toBe(0);
}, 90_000);

it('stops at start-up with one line naming a bad variable', async () => {
  const bad = startProcess({ PORT: 'eighty' });
  expect(await bad.exited).toBe(2);
  const lines = bad.output().trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/PORT/);
});
