import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { checkAck, listFixtures, loadFixture, readAck, withFreshGuid } from './fixture-file.js';
import type { Fixture, FixtureExpect } from './fixture-file.js';

// Replays recorded pushes (fixtures/) against a running bridge and compares each ack with the
// fixture's sidecar. It cannot see what reached WeChat, so `expect.texts` is not checked here.

const DEFAULT_URL = 'http://localhost:8080/push';
// The bridge answers within 15 s whatever WeChat does (CONTRACT §5); leave headroom above that.
const DEFAULT_TIMEOUT_MS = 20_000;

const USAGE = `usage: npm run replay -- FILES... [--url URL] [--fresh-guid] [--timeout MS]

  FILES         fixture body files, or directories (all fixtures in them, in name order);
                each file's sidecar FILE.json gives its Content-Type, SOAPAction and expectation;
                sidecars, employees.json and README.md among FILES are skipped
  --url URL     push endpoint (default ${DEFAULT_URL})
  --fresh-guid  give each fixture GUID a new random uppercase UUID for this run (fixtures sharing
                a GUID, the duplicate pairs, keep sharing one) so a deployment can be replayed again
  --timeout MS  per-request timeout in milliseconds (default ${DEFAULT_TIMEOUT_MS})

Prints one line per file: file  HTTP-status  AA|AE  reason  [ok|MISMATCH: ...]
Exit code: 0 all expectations met, 1 a mismatch or error, 2 bad usage.`;

interface Options {
  files: string[];
  url: URL;
  freshGuid: boolean;
  timeoutMs: number;
}

class UsageError extends Error {}

/** null: help was asked for. */
function parseOptions(argv: string[]): Options | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string', default: DEFAULT_URL },
        'fresh-guid': { type: 'boolean', default: false },
        timeout: { type: 'string', default: String(DEFAULT_TIMEOUT_MS) },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return null;
  if (positionals.length === 0) throw new UsageError('no fixture files given');
  const timeoutMs = Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout must be a positive integer of milliseconds, got "${values.timeout}"`);
  return { files: expandFiles(positionals), url: parseUrl(values.url), freshGuid: values['fresh-guid'], timeoutMs };
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url is not a URL: "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must be http(s), got "${text}"`);
  return url;
}

// Directories expand in name order; a shell glob like fixtures/* also drags in sidecars, drop those.
function expandFiles(args: string[]): string[] {
  const files: string[] = [];
  for (const arg of args) {
    if (!existsSync(arg)) throw new UsageError(`no such file or directory: ${arg}`);
    if (statSync(arg).isDirectory()) files.push(...listFixtures(arg));
    else if (!arg.endsWith('.json') && basename(arg) !== 'README.md') files.push(arg);
  }
  if (files.length === 0) throw new UsageError('no fixture body files among the arguments');
  return files;
}

/** What a replay needs per file; kept apart from the HTTP so a failing sidecar is just one bad line. */
interface Push {
  body: Buffer;
  expect: FixtureExpect | undefined;
}

function preparePush(fixture: Fixture, freshGuids: Map<string, string> | null): Push {
  const oldGuid = fixture.expect?.guid ?? '';
  if (freshGuids === null || oldGuid === '' || fixture.expect === undefined) return { body: fixture.body, expect: fixture.expect };
  let guid = freshGuids.get(oldGuid);
  if (guid === undefined) {
    guid = randomUUID().toUpperCase();
    freshGuids.set(oldGuid, guid);
  }
  return { body: withFreshGuid(fixture, guid), expect: { ...fixture.expect, guid } };
}

async function post(fixture: Fixture, body: Buffer, opts: Options): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'content-type': fixture.contentType };
  if (fixture.soapAction !== undefined) headers.soapaction = fixture.soapAction;
  const res = await request(opts.url, {
    method: 'POST',
    headers,
    body,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    signal: AbortSignal.timeout(opts.timeoutMs),
  });
  // The contract fixes acks to UTF-8, so no charset sniffing here.
  return { status: res.statusCode, text: await res.body.text() };
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** Replays one file and prints its line; returns whether it met its expectation (or had none). */
async function replayOne(file: string, opts: Options, freshGuids: Map<string, string> | null): Promise<boolean> {
  let fixture: Fixture;
  let push: Push;
  try {
    fixture = loadFixture(file);
    push = preparePush(fixture, freshGuids);
  } catch (err) {
    console.log(`${file}  -  -  ERROR: ${oneLine((err as Error).message)}`);
    return false;
  }
  let status: number;
  let text: string;
  try {
    ({ status, text } = await post(fixture, push.body, opts));
  } catch (err) {
    console.log(`${file}  -  -  ERROR: ${describeNetworkError(err)}`);
    return false;
  }
  let ack;
  try {
    ack = readAck(text);
  } catch (err) {
    console.log(`${file}  ${status}  -  ERROR: ${oneLine((err as Error).message)}`);
    return false;
  }
  const head = `${file}  ${status}  ${ack.ackCode}  ${oneLine(ack.reason)}`;
  if (push.expect === undefined) {
    console.log(head);
    return true;
  }
  const mismatches = checkAck(ack, push.expect);
  if (status !== 200) mismatches.unshift(`HTTP ${status}, expected 200`);
  console.log(mismatches.length === 0 ? `${head}  ok` : `${head}  MISMATCH: ${oneLine(mismatches.join('; '))}`);
  return mismatches.length === 0;
}

function describeNetworkError(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError') return 'timed out';
  return oneLine([e.code, e.message].filter(Boolean).join(' ') || String(err));
}

/** Runs the CLI; resolves to the process exit code. */
export async function replay(argv: string[]): Promise<number> {
  let opts: Options | null;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`replay: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === null) {
    console.log(USAGE);
    return 0;
  }
  const freshGuids = opts.freshGuid ? new Map<string, string>() : null;
  let failed = 0;
  for (const file of opts.files) {
    if (!(await replayOne(file, opts, freshGuids))) failed += 1;
  }
  console.error(`replay: ${opts.files.length} file(s), ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  process.exitCode = await replay(process.argv.slice(2));
}
