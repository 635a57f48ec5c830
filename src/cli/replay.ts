import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { checkAck, loadEmployees, loadFixture, readAck, withEmployeeNoPrefix, withFreshGuid } from './fixture-file.js';
import type { Fixture, FixtureEmployee, FixtureExpect, ReadAck } from './fixture-file.js';
import { AdminApiError, adminApi, bindAll, networkErrorText, oneLine, unbindAll, type AdminApi, type Whoami } from './replay-admin.js';
import { parseOptions, USAGE, UsageError, type Options, type WechatMode } from './replay-options.js';
import { hintFor, maskOpenid, newRunPrefix, planner, resolveMode, testBindings, type Step } from './replay-plan.js';

// Replays recorded pushes (fixtures/) against a running bridge and compares each ack with the
// fixture's sidecar, as it must read for whatever answers the bridge's WeChat calls: nothing
// (sandbox), the fake WeChat, or the real one. It cannot see what reached WeChat, so
// `expect.texts` is not checked here. With --bind it brings its own employee bindings, under
// numbers no real employee has, and takes them away again.

interface Run {
  opts: Options;
  mode: WechatMode;
  /** --bind: this run's employee_no prefix; null: the bodies go out as they are. */
  prefix: string | null;
  bindings: FixtureEmployee[];
  interrupt: AbortSignal;
}

type Result = 'passed' | 'failed' | 'skipped';
type Tally = Record<Result, number>;

/** Runs the CLI; resolves to the process exit code. */
export async function replay(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let opts: Options | null;
  try {
    opts = parseOptions(argv, env);
  } catch (err) {
    return usageFailure(err);
  }
  if (opts === null) {
    console.log(USAGE);
    return 0;
  }
  let prefix: string | null = null;
  const interrupt = onInterrupt(() => prefix);
  try {
    const admin = opts.adminToken === null ? null : adminApi(opts.adminUrl, opts.adminToken, opts.timeoutMs);
    const run = await prepare(opts, admin, interrupt.signal);
    prefix = run.prefix;
    const code = admin !== null && run.prefix !== null ? await replayWithBindings(run, admin) : await replayAll(run);
    return interrupt.exitCode() ?? code;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`replay: ${err.message}`);
      return 2;
    }
    if (!(err instanceof AdminApiError)) throw err;
    console.error(`replay: ${err.message}`);
    return err.status === 401 || err.status === 403 ? 2 : 1;
  } finally {
    interrupt.dispose();
  }
}

function usageFailure(err: unknown): number {
  if (!(err instanceof UsageError)) throw err;
  console.error(`replay: ${err.message}\n\n${USAGE}`);
  return 2;
}

async function prepare(opts: Options, admin: AdminApi | null, interrupt: AbortSignal): Promise<Run> {
  const whoami = await askBridge(opts, admin);
  const mode = resolveMode(opts.wechat, whoami?.sandbox ?? null, opts.ownOpenid !== null);
  // Not the query: the bridge also takes its push token as ?token=.
  console.error(`replay: ${opts.files.length} file(s) to ${opts.url.origin}${opts.url.pathname}, expecting ${describeMode(mode, opts.wechat === null)}`);
  if (whoami !== null && opts.wechat !== null && whoami.sandbox !== (opts.wechat === 'sandbox')) {
    console.error(`replay: warning: the bridge says it is ${whoami.sandbox ? 'in sandbox mode' : 'live'}, but --wechat ${opts.wechat} was given; expectations follow --wechat`);
  }
  if (!opts.bind || admin === null) return { opts, mode, prefix: null, bindings: [], interrupt };
  const prefix = await unusedPrefix(admin);
  return { opts, mode, prefix, bindings: testBindings(employeesBeside(opts.files), prefix, opts.ownOpenid), interrupt };
}

/** Without a token there is nothing to ask; with one, a refused token is worth stopping for. */
async function askBridge(opts: Options, admin: AdminApi | null): Promise<Whoami | null> {
  if (admin === null) return null;
  try {
    return await admin.whoami();
  } catch (err) {
    const needed = opts.bind || opts.wechat === null;
    if (needed || (err instanceof AdminApiError && err.status === 401)) throw err;
    console.error(`replay: warning: could not ask the bridge whether it is in sandbox mode (${(err as Error).message}); going by --wechat ${opts.wechat}`);
    return null;
  }
}

function describeMode(mode: WechatMode, detected: boolean): string {
  const how = detected ? 'GET /admin/api/whoami' : `--wechat ${mode}`;
  if (mode === 'sandbox') return `a sandbox bridge (${how})`;
  if (mode === 'fake') return `a live bridge on the fake WeChat (${how})`;
  return `a live bridge on the real WeChat (${detected ? '--openid' : how})`;
}

/** Another run's bindings would be clobbered and then deleted by this one: make sure there are none. */
async function unusedPrefix(admin: AdminApi): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const prefix = newRunPrefix();
    if ((await admin.count(prefix)) === 0) return prefix;
  }
  throw new AdminApiError('could not find an unused REPLAY-TEST- run number', null);
}

function employeesBeside(files: string[]): FixtureEmployee[] {
  const dirs = [...new Set(files.map((f) => dirname(f)))];
  const found = dirs.map((d) => join(d, 'employees.json')).filter((f) => existsSync(f));
  if (found.length === 0) throw new UsageError(`--bind needs employees.json beside the fixtures (looked in ${dirs.join(', ')})`);
  const byNo = new Map<string, FixtureEmployee>();
  for (const file of found) {
    let employees: FixtureEmployee[];
    try {
      employees = loadEmployees(file);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    for (const e of employees) if (!byNo.has(e.employeeNo)) byNo.set(e.employeeNo, e);
  }
  return [...byNo.values()];
}

/** The bindings go away whatever happens in between: a failure, an error, or Ctrl-C. */
async function replayWithBindings(run: Run, admin: AdminApi): Promise<number> {
  const bound: string[] = [];
  let code = 1;
  let left: Array<{ employeeNo: string; error: string }> = [];
  try {
    await bindAll(admin, run.bindings, bound, run.interrupt);
    announceBindings(bound.length, run);
    code = await replayAll(run);
  } finally {
    left = await unbindAll(admin, bound);
    reportUnbinding(bound.length, left, run.prefix ?? '');
  }
  return left.length === 0 ? code : Math.max(code, 1);
}

function announceBindings(count: number, run: Run): void {
  const openid = run.opts.ownOpenid === null ? '' : ` with openid ${maskOpenid(run.opts.ownOpenid)}`;
  console.error(`replay: bound ${count} fixture employee(s) as ${run.prefix}<employee_no>${openid}`);
  if (run.opts.ownOpenid !== null) {
    console.error(`replay: note: WeChat delivers to it only within 48 h after that WeChat user last messaged the Official Account; sending at most ${run.opts.maxTexts} text(s)`);
  }
}

function reportUnbinding(count: number, left: Array<{ employeeNo: string; error: string }>, prefix: string): void {
  if (left.length === 0) {
    console.error(`replay: removed the ${count} test binding(s)`);
    return;
  }
  for (const { employeeNo, error } of left) console.error(`replay: could not remove the test binding ${employeeNo}: ${error}`);
  console.error(`replay: remove them by hand: search the admin page's employees for ${prefix}`);
}

async function replayAll(run: Run): Promise<number> {
  const ownOpenid = run.opts.ownOpenid !== null;
  const plan = planner({ mode: run.mode, ownOpenid, textBudget: ownOpenid ? run.opts.maxTexts : null });
  const freshGuids = run.opts.freshGuid ? new Map<string, string>() : null;
  const tally: Tally = { passed: 0, failed: 0, skipped: 0 };
  for (const file of run.opts.files) {
    if (run.interrupt.aborted) break;
    const result = await replayOne(file, run, plan, freshGuids);
    if (result === null) break;
    tally[result] += 1;
  }
  printSummary(tally, run.opts.files.length, run.interrupt.aborted);
  return tally.failed === 0 && !run.interrupt.aborted ? 0 : 1;
}

function printSummary(tally: Tally, files: number, interrupted: boolean): void {
  const done = tally.passed + tally.failed + tally.skipped;
  const scope = interrupted ? `interrupted after ${done} of ${files} file(s)` : `${files} file(s)`;
  console.log(`replay: ${scope}: ${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped`);
}

/** What a replay needs per file; kept apart from the HTTP so a failing sidecar is just one bad line. */
interface Push {
  body: Buffer;
  expect: FixtureExpect | undefined;
}

/** Replays one file and prints its line; null when interrupted before it was answered. */
async function replayOne(file: string, run: Run, plan: (f: Fixture) => Step, freshGuids: Map<string, string> | null): Promise<Result | null> {
  let fixture: Fixture;
  let push: Push;
  try {
    fixture = loadFixture(file);
    const step = plan(fixture);
    if (step.kind === 'skip') {
      console.log(`${file}  -  -  SKIPPED: ${step.reason}`);
      return 'skipped';
    }
    push = preparePush(fixture, step.expect, freshGuids, run.prefix);
  } catch (err) {
    console.log(`${file}  -  -  ERROR: ${oneLine((err as Error).message)}`);
    return 'failed';
  }
  let answer: { status: number; text: string };
  try {
    answer = await post(fixture, push.body, run);
  } catch (err) {
    if (run.interrupt.aborted) return null;
    console.log(`${file}  -  -  ERROR: ${networkErrorText(err)}`);
    return 'failed';
  }
  let ack: ReadAck;
  try {
    ack = readAck(answer.text);
  } catch (err) {
    console.log(`${file}  ${answer.status}  -  ERROR: ${oneLine((err as Error).message)}`);
    return 'failed';
  }
  const verdict = judge(ack, answer.status, push.expect, run.mode);
  console.log(`${file}  ${answer.status}  ${ack.ackCode}  ${oneLine(ack.reason)}${verdict.suffix}`);
  return verdict.result;
}

function judge(ack: ReadAck, status: number, expect: FixtureExpect | undefined, mode: WechatMode): { result: Result; suffix: string } {
  if (expect === undefined) return { result: 'passed', suffix: '' };
  const mismatches = checkAck(ack, expect);
  if (status !== 200) mismatches.unshift(`HTTP ${status}, expected 200`);
  if (mismatches.length === 0) return { result: 'passed', suffix: '  ok' };
  const hint = status === 403 ? 'the bridge refused the push: give --push-token (its PUSH_TOKEN), or check its PUSH_ALLOW_IPS' : hintFor(mode, ack.reason);
  return { result: 'failed', suffix: `  MISMATCH: ${oneLine(mismatches.join('; '))}${hint === null ? '' : ` (hint: ${hint})`}` };
}

function preparePush(fixture: Fixture, expect: FixtureExpect | undefined, freshGuids: Map<string, string> | null, prefix: string | null): Push {
  const guid = freshGuidFor(fixture.expect?.guid ?? '', freshGuids);
  const body = guid === null ? fixture.body : withFreshGuid(fixture, guid);
  return {
    body: prefix === null ? body : withEmployeeNoPrefix(body, prefix),
    expect: guid === null || expect === undefined ? expect : { ...expect, guid },
  };
}

/** Both fixtures of a pair get the same new GUID. */
function freshGuidFor(oldGuid: string, freshGuids: Map<string, string> | null): string | null {
  if (freshGuids === null || oldGuid === '') return null;
  let guid = freshGuids.get(oldGuid);
  if (guid === undefined) {
    guid = randomUUID().toUpperCase();
    freshGuids.set(oldGuid, guid);
  }
  return guid;
}

async function post(fixture: Fixture, body: Buffer, run: Run): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'content-type': fixture.contentType };
  if (fixture.soapAction !== undefined) headers.soapaction = fixture.soapAction;
  if (run.opts.pushToken !== null) headers['x-push-token'] = run.opts.pushToken;
  const { timeoutMs } = run.opts;
  const res = await request(run.opts.url, {
    method: 'POST',
    headers,
    body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), run.interrupt]),
  });
  // The contract fixes acks to UTF-8, so no charset sniffing here.
  return { status: res.statusCode, text: await res.body.text() };
}

/**
 * The first SIGINT/SIGTERM stops the replay and lets the bindings be removed; a second one exits at
 * once, saying what may be left behind.
 */
function onInterrupt(prefix: () => string | null): { signal: AbortSignal; exitCode(): number | null; dispose(): void } {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const exitCodeOf = (s: NodeJS.Signals): number => (s === 'SIGINT' ? 130 : 143);
  const handler = (signal: NodeJS.Signals): void => {
    const p = prefix();
    if (received !== null) {
      console.error(`replay: ${signal} again: exiting now${p === null ? '' : `; test bindings may be left: search the admin page's employees for ${p}`}`);
      process.exit(exitCodeOf(signal));
    }
    received = signal;
    console.error(`replay: ${signal}: stopping${p === null ? '' : ' and removing the test bindings'}`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    exitCode: () => (received === null ? null : exitCodeOf(received)),
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  process.exitCode = await replay(process.argv.slice(2));
}
