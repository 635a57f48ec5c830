import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFixtures } from '../../src/cli/fixture-file.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { fixtureEmployees } from '../support/employees.js';
import { FakeWechat } from '../support/fake-wechat.js';
import { freePort } from '../support/global-setup.js';
import { spawnBridge, type BridgeProcess } from '../support/process.js';

// The replay CLI as a hospital's integration tester runs it: the built dist/src/cli/replay.js as a
// process of its own, against bridge processes on a real Postgres, in sandbox mode and live on the
// fake WeChat, binding its own test employees and removing them again.

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'dist/src/cli/replay.js');
const TOKEN = 'replay-admin-token-0123456789';
const PUSH_TOKEN = 'replay-push-token-0123456789';
const TESTER_OPENID = 'oTESTERqR7tVbY2xHs9AcZk3pLm';
// What `fixtures/0*` expands to in a shell: the nine that expect AA 处理成功.
const FIRST_NINE = listFixtures(path.join(ROOT, 'fixtures'))
  .filter((f) => /^0\d-/.test(path.basename(f)))
  .map((f) => path.relative(ROOT, f));

interface CliRun {
  code: number | null;
  lines: string[];
  stderr: string;
}

interface RunningCli {
  child: ReturnType<typeof spawn>;
  stdout(): string;
  done: Promise<CliRun>;
}

/** Only PATH and HOME from this process: tokens come from the arguments or `env`, as given. */
function startReplay(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, ['--enable-source-maps', CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliRun>((resolve) =>
    child.on('close', (code) => resolve({ code, lines: stdout.split('\n').filter((l) => l !== ''), stderr })),
  );
  return { child, stdout: () => stdout, done };
}

const replay = (args: string[], env?: NodeJS.ProcessEnv): Promise<CliRun> => startReplay(args, env).done;

async function admin(bridge: BridgeProcess, pathAndQuery: string): Promise<unknown> {
  const res = await fetch(`${bridge.url}/admin/api/${pathAndQuery}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return res.json();
}

async function testEmployeesLeft(bridge: BridgeProcess): Promise<number> {
  return ((await admin(bridge, 'employees?q=REPLAY-TEST-')) as { total: number }).total;
}

const fileLines = (run: CliRun): string[] => run.lines.filter((l) => l.startsWith('fixtures/'));
const skippedFiles = (run: CliRun): string[] => fileLines(run).filter((l) => l.includes('  SKIPPED: ')).map((l) => l.slice('fixtures/'.length, 'fixtures/'.length + 2));
const runPrefixOf = (run: CliRun): string => /as (REPLAY-TEST-[0-9A-F]{8}-)<employee_no>/.exec(run.stderr)?.[1] ?? 'no prefix announced';

const running: BridgeProcess[] = [];
const databases: TestDatabase[] = [];

async function startBridge(label: string, env: NodeJS.ProcessEnv): Promise<BridgeProcess> {
  const db = await createTestDatabase(label);
  databases.push(db);
  const bridge = spawnBridge({ PORT: String(await freePort()), DATABASE_URL: db.url, ...env });
  running.push(bridge);
  await bridge.healthy();
  return bridge;
}

afterAll(async () => {
  for (const bridge of running) {
    if (bridge.child.exitCode === null) bridge.child.kill('SIGTERM');
    await bridge.exited;
  }
  for (const db of databases) await db.drop();
});

describe('replay against a sandbox bridge', () => {
  let bridge: BridgeProcess;
  beforeAll(async () => {
    bridge = await startBridge('replay_sandbox', { ADMIN_TOKEN: TOKEN });
  });

  it('--bind: passes what holds in sandbox mode, skips the rest with the reason, and leaves no test binding', async () => {
    const run = await replay(['fixtures', '--url', `${bridge.url}/push`, '--bind', '--token', TOKEN]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/expecting a sandbox bridge \(GET \/admin\/api\/whoami\)/);
    const lines = fileLines(run);
    expect(lines).toHaveLength(49);
    expect(skippedFiles(run)).toEqual(['40', '41', '42', '43', '44', '45', '48', '49']);
    for (const line of lines.filter((l) => l.includes('SKIPPED'))) {
      expect(line).toMatch(/ {2}- {2}- {2}SKIPPED: needs (WeChat to fail on cue \(the fake WeChat's openid conventions\); a sandbox bridge sends nothing|the bridge's Postgres to be stopped)/);
    }
    for (const line of lines.filter((l) => !l.includes('SKIPPED'))) expect(line).toMatch(/ {2}ok$/);
    expect(lines[0]).toMatch(/01-soap11-dhcc-cdata\.xml {2}200 {2}AA {2}处理成功（沙箱模式，未发送微信消息） {2}ok$/);
    expect(run.lines.at(-1)).toBe('replay: 49 file(s): 41 passed, 0 failed, 8 skipped');

    expect(await testEmployeesLeft(bridge)).toBe(0);
    const prefix = runPrefixOf(run);
    const audit = (await admin(bridge, 'audit?limit=500')) as { items: Array<{ employeeNo: string; action: string }> };
    const ours = audit.items.filter((a) => a.employeeNo.startsWith(prefix));
    expect(ours.length).toBe(2 * fixtureEmployees().length); // each bound, then removed
    // The bridge never looked up a fixture's own employee number: only the run's test numbers.
    const messages = (await admin(bridge, 'messages?limit=500')) as { items: Array<{ employeeNo: string | null }> };
    const looked = messages.items.map((m) => m.employeeNo).filter((no): no is string => no !== null);
    expect(looked.length).toBeGreaterThan(30);
    for (const no of looked) expect(no.startsWith(prefix), no).toBe(true);
    expect(looked).toContain(`${prefix}55555`); // the deliberately unbound ones too
  });

  it('a mismatch still fails: the fake WeChat\'s expectations cannot hold on a sandbox bridge', async () => {
    const run = await replay([...FIRST_NINE, '--url', `${bridge.url}/push`, '--bind', '--wechat', 'fake'], { ADMIN_TOKEN: `ops:${TOKEN}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/warning: the bridge says it is in sandbox mode, but --wechat fake was given/);
    expect(fileLines(run)[0]).toMatch(/MISMATCH: reason "处理成功（沙箱模式，未发送微信消息）", expected "处理成功"/);
    expect(run.lines.at(-1)).toMatch(/ 0 passed, 9 failed, 0 skipped$/);
    expect(await testEmployeesLeft(bridge)).toBe(0);
  });

  it('refuses bad usage before pushing anything', async () => {
    const noMode = await replay(['fixtures', '--url', `${bridge.url}/push`]);
    expect(noMode.code).toBe(2);
    expect(noMode.stderr).toMatch(/--wechat sandbox\|fake\|real/);
    const wrongToken = await replay(['fixtures', '--url', `${bridge.url}/push`, '--bind', '--token', 'not-the-token']);
    expect(wrongToken.code).toBe(2);
    expect(wrongToken.stderr).toMatch(/HTTP 401/);
    expect(wrongToken.stderr).not.toContain('not-the-token');
    expect(fileLines(noMode).concat(fileLines(wrongToken))).toEqual([]);
  });
});

describe('replay against a live bridge on the fake WeChat', () => {
  let wechat: FakeWechat;
  let bridge: BridgeProcess;
  beforeAll(async () => {
    wechat = await new FakeWechat({ slowMs: 3000 }).start();
    bridge = await startBridge('replay_live', {
      ADMIN_TOKEN: `tester:${TOKEN}`,
      PUSH_TOKEN,
      WECHAT_APPID: wechat.appId,
      WECHAT_SECRET: wechat.secret,
      WECHAT_API_BASE: wechat.url,
      WECHAT_TIMEOUT_MS: '500',
    });
  });
  afterAll(async () => wechat?.stop());

  it('--bind: every fixture passes but the database outage, and WeChat got the texts for the test numbers', async () => {
    wechat.reset();
    const run = await replay(['fixtures', '--url', `${bridge.url}/push`, '--bind', '--wechat', 'fake'], { ADMIN_TOKEN: TOKEN, PUSH_TOKEN });
    expect(run.code, run.stderr + run.lines.join('\n')).toBe(0);
    expect(skippedFiles(run)).toEqual(['45']);
    expect(fileLines(run).find((l) => l.includes('SKIPPED'))).toMatch(/45-database-down\.xml {2}- {2}- {2}SKIPPED: needs the bridge's Postgres to be stopped \(expects AE 系统繁忙\)/);
    expect(run.lines.at(-1)).toBe('replay: 49 file(s): 48 passed, 0 failed, 1 skipped');
    expect(await testEmployeesLeft(bridge)).toBe(0);

    // Each text names the run's test number of the employee whose fixture openid it went to.
    const prefix = runPrefixOf(run);
    const employeeByOpenid = new Map(fixtureEmployees().map((e) => [e.openid, e.employeeNo]));
    const headers = wechat.sends.map((s) => ({ to: s.touser, applicant: /^申请人工号：(.*)$/m.exec(s.content)?.[1] }));
    const withHeader = headers.filter((h) => h.applicant !== undefined);
    expect(withHeader.length).toBeGreaterThan(30);
    for (const { to, applicant } of withHeader) {
      expect(employeeByOpenid.has(to), to).toBe(true);
      expect(applicant).toBe(`${prefix}${employeeByOpenid.get(to)}`);
    }
    expect(new Set(withHeader.map((h) => h.to))).toEqual(new Set(fixtureEmployees().filter((e) => e.active && !e.openid.includes('_http503_') && !e.openid.includes('_slow_')).map((e) => e.openid)));
    // Masked in the CLI's output, never whole.
    const output = run.lines.join('\n') + run.stderr;
    for (const e of fixtureEmployees()) expect(output).not.toContain(e.openid);
    expect(output).not.toContain(TOKEN);
    expect(output).not.toContain(PUSH_TOKEN);
  });

  it('--wechat real --openid: sends only to the tester, within --max-texts, skipping what needs the fake', async () => {
    wechat.reset();
    const run = await replay(['fixtures', '--url', `${bridge.url}/push`, '--bind', '--wechat', 'real', '--openid', TESTER_OPENID, '--max-texts', '3', '--token', TOKEN, '--push-token', PUSH_TOKEN]);
    expect(run.code, run.stderr + run.lines.join('\n')).toBe(0);
    expect(wechat.delivered(TESTER_OPENID)).toHaveLength(3);
    expect(wechat.sends.every((s) => s.touser === TESTER_OPENID)).toBe(true);
    const lines = fileLines(run);
    expect(lines.filter((l) => l.endsWith('  ok')).length).toBe(3 + 12); // three AA, and the twelve that send nothing
    expect(lines.find((l) => l.startsWith('fixtures/04-'))).toMatch(/SKIPPED: would exceed --max-texts 3/);
    expect(lines.find((l) => l.startsWith('fixtures/40-'))).toMatch(/SKIPPED: needs WeChat to fail on cue/);
    expect(run.stderr).toContain(`with openid ${TESTER_OPENID.slice(0, 4)}…${TESTER_OPENID.slice(-4)}`);
    expect(run.lines.join('\n') + run.stderr).not.toContain(TESTER_OPENID);
    expect(await testEmployeesLeft(bridge)).toBe(0);
  });

  it('SIGTERM mid-run stops, removes the test bindings, and exits 143', async () => {
    const cli = startReplay(['fixtures', '--url', `${bridge.url}/push`, '--bind', '--wechat', 'fake', '--token', TOKEN, '--push-token', PUSH_TOKEN]);
    for (let i = 0; i < 200 && !cli.stdout().includes('41-wechat-err40003'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await testEmployeesLeft(bridge)).toBe(fixtureEmployees().length);
    cli.child.kill('SIGTERM'); // while 42 is being retried
    const run = await cli.done;
    expect(run.code).toBe(143);
    expect(run.stderr).toMatch(/SIGTERM: stopping and removing the test bindings/);
    expect(run.lines.at(-1)).toMatch(/^replay: interrupted after \d+ of 49 file\(s\)/);
    expect(await testEmployeesLeft(bridge)).toBe(0);
  });
});
