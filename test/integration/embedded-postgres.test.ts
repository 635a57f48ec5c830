import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { readAck } from '../../src/cli/fixture-file.js';
import { STATE_ROOT } from '../../src/db/postgres-user.js';
import { freePort } from '../support/global-setup.js';
import { isAlive, postmasterPid, ROOT, spawnBridge, type BridgeProcess, type SpawnOptions } from '../support/process.js';
import { newGuid, soapPush } from '../support/push.js';

// The embedded Postgres as a hospital meets it: started by an ordinary user (Postgres runs as that
// user, no OS user is created), by root with DATA_DIR under a 0700 home (Postgres runs as the OS
// user `postgres`, which cannot enter it), and dying under a running bridge. Each start leaves no
// password file behind and no socket in /tmp.

const TOKEN = 'embedded-admin-token-123456';
const OPENID = 'oE2XCwQb6WdYSo54avF41qKoU3rY';
const isRoot = process.getuid?.() === 0;
const cleanups: Array<() => void> = [];
const running: BridgeProcess[] = [];

afterAll(() => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const clean of cleanups.reverse()) clean();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const pgPorts = new Set<string>();

async function startBridge(dataDir: string, options: SpawnOptions = {}): Promise<BridgeProcess> {
  const pgPort = String(await freePort());
  pgPorts.add(pgPort);
  const proc = spawnBridge({ PORT: String(await freePort()), EMBEDDED_PG_PORT: pgPort, DATA_DIR: dataDir, ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'info' }, options);
  running.push(proc);
  await proc.healthy();
  return proc;
}

async function bindAndPush(url: string, guid = newGuid()): Promise<string> {
  await request(url).put('/admin/api/employees/10086').set('Authorization', `Bearer ${TOKEN}`).send({ openid: OPENID }).expect((r) => expect([200, 201]).toContain(r.status));
  const res = await request(url).post('/push').set('Content-Type', 'application/soap+xml').send(soapPush(guid, '10086'));
  return readAck(res.text).ackCode;
}

async function stop(proc: BridgeProcess): Promise<void> {
  proc.child.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
}

function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** What a start may leave behind: only DATA_DIR's own files, each secret readable by its owner alone. */
function expectNoSecretsLeftBehind(dataDir: string): void {
  expect(readdirSync(dataDir).filter((n) => n.startsWith('.pg-init-'))).toEqual([]);
  expect(readdirSync(tmpdir()).filter((n) => n.startsWith('pg-password-'))).toEqual([]);
  for (const port of pgPorts) expect(existsSync(path.join(tmpdir(), `.s.PGSQL.${port}`))).toBe(false);
  expect(statSync(path.join(dataDir, 'postgres.password')).mode & 0o077).toBe(0);
}

/**
 * As root, an unprivileged user needs a copy of the built bridge it can read when the checkout
 * sits under a 0700 home; hard links when the file system allows, else a copy.
 */
function checkoutReadableBy(uid: number): string {
  const canRead = spawnSync('/bin/sh', ['-c', 'test -r "$1"', 'sh', path.join(ROOT, 'dist/src/main.js')], { uid, gid: uid }).status === 0;
  if (canRead) return ROOT;
  const stage = tempDir('bridge-stage-');
  chmodSync(stage, 0o755);
  for (const part of ['package.json', 'dist', 'node_modules', 'public']) {
    const linked = spawnSync('cp', ['-al', path.join(ROOT, part), stage]).status === 0;
    if (!linked) execFileSync('cp', ['-a', path.join(ROOT, part), stage]);
  }
  return stage;
}

describe('embedded Postgres', () => {
  it('runs as the ordinary user that starts the bridge, creating no OS user', async () => {
    // As root, the part of an unprivileged user is played by `nobody`.
    const uid = isRoot ? Number(execFileSync('id', ['-u', 'nobody']).toString()) : process.getuid!();
    const home = tempDir('bridge-user-');
    if (isRoot) chownSync(home, uid, uid);
    const dataDir = path.join(home, 'data');
    const options: SpawnOptions = isRoot ? { uid, gid: uid, cwd: checkoutReadableBy(uid) } : {};
    const passwdBefore = readFileSync('/etc/passwd', 'utf8');

    const bridge = await startBridge(dataDir, options);
    expect(uidOf(postmasterPid(dataDir))).toBe(uid);
    expect(statSync(path.join(dataDir, 'postgres')).uid).toBe(uid);
    expect(await bindAndPush(bridge.url)).toBe('AA');
    await stop(bridge);
    expect(readFileSync('/etc/passwd', 'utf8')).toBe(passwdBefore);
    expectNoSecretsLeftBehind(dataDir);
  }, 120_000);

  it('starts with DATA_DIR under a 0700 parent, and keeps its data across a restart', async () => {
    const home = tempDir('bridge-home-');
    chmodSync(home, 0o700);
    const dataDir = path.join(home, 'data');
    const guid = newGuid();

    const first = await startBridge(dataDir);
    expect(await bindAndPush(first.url, guid)).toBe('AA');
    const postgres = postmasterPid(dataDir);
    if (isRoot) {
      // Postgres refuses root: it runs as `postgres`, which cannot enter `home`; the cluster is kept
      // where it can reach it, linked from DATA_DIR/postgres.
      expect(uidOf(postgres)).toBe(Number(execFileSync('id', ['-u', 'postgres']).toString()));
      expect(lstatSync(path.join(dataDir, 'postgres')).isSymbolicLink()).toBe(true);
      const cluster = realpathSync(path.join(dataDir, 'postgres'));
      expect(cluster.startsWith(`${STATE_ROOT}/clusters/`)).toBe(true);
      cleanups.push(() => rmSync(path.dirname(cluster), { recursive: true, force: true }));
    } else {
      expect(uidOf(postgres)).toBe(process.getuid!());
    }
    await stop(first);
    expect(isAlive(postgres)).toBe(false);

    const second = await startBridge(dataDir);
    const again = readAck((await request(second.url).post('/push').set('Content-Type', 'application/soap+xml').send(soapPush(guid, '10086'))).text);
    expect(again.reason).toMatch(/^处理成功（重复消息/);
    await stop(second);
    expectNoSecretsLeftBehind(dataDir);
  }, 120_000);

  it('restarts its Postgres when it dies, and exits non-zero when it cannot', async () => {
    const dataDir = path.join(tempDir('bridge-death-'), 'data');
    const bridge = await startBridge(dataDir);
    const first = postmasterPid(dataDir);
    process.kill(first, 'SIGKILL');
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      ready = (await request(bridge.url).get('/readyz')).status;
    }
    expect(ready).toBe(200);
    expect(postmasterPid(dataDir)).not.toBe(first);
    expect(await bindAndPush(bridge.url)).toBe('AA');
    expect(bridge.output()).toMatch(/embedded Postgres stopped unexpectedly; restarting it/);

    // Now it cannot come back: the cluster is gone from under it.
    const cluster = realpathSync(path.join(dataDir, 'postgres'));
    const second = postmasterPid(dataDir);
    process.kill(second, 'SIGKILL');
    rmSync(cluster, { recursive: true, force: true });
    expect(await bridge.exited).toBe(1);
    expect(bridge.output()).toMatch(/embedded Postgres keeps stopping/);
  }, 120_000);
});
