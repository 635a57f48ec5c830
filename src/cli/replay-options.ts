import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { listFixtures } from './fixture-file.js';

// The replay's command line: what it accepts, and the combinations it refuses before touching a
// bridge. Pure apart from looking at the files named.

export const DEFAULT_URL = 'http://localhost:8080/push';
// The bridge answers within 15 s whatever WeChat does (CONTRACT §5); leave headroom above that.
export const DEFAULT_TIMEOUT_MS = 20_000;

export const WECHAT_MODES = ['sandbox', 'fake', 'real'] as const;
export type WechatMode = (typeof WECHAT_MODES)[number];

// The contract's openid rule (§6), checked here so a typo fails before anything is bound.
const OPENID_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;
// Under WeChat's rules of June 2023, a message from the user lets the account send that user 5
// customer-service texts within 48 h (then errcode 45047), and this bridge has no template fallback.
export const DEFAULT_MAX_TEXTS = 5;

export const USAGE = `usage: npm run replay -- FILES... [options]
       node dist/src/cli/replay.js FILES... [options]

Replays fixture pushes against a running bridge and checks each ack against the fixture's sidecar.

  FILES               fixture body files, or directories (all fixtures in them, in name order);
                      each file's sidecar FILE.json gives its Content-Type, SOAPAction and
                      expectation; sidecars, employees.json and README.md among FILES are skipped
  --url URL           push endpoint (default ${DEFAULT_URL})
  --push-token TOKEN  sent as X-Push-Token, for a bridge with PUSH_TOKEN (default: env PUSH_TOKEN)
  --token TOKEN       admin token, for --bind and to ask the bridge whether it is in sandbox mode
                      (default: env ADMIN_TOKEN; of a name:token,... list the first token)
  --admin-url URL     where the bridge's /admin/api is (default: the origin of --url)
  --wechat MODE       what answers the bridge's WeChat calls; it decides the expectations:
                        sandbox  no WeChat credentials: AA reasons carry the sandbox suffix, and
                                 fixtures that need a WeChat error are skipped
                        fake     the fake WeChat (npm run fake-wechat): every fixture applies
                        real     the real WeChat (needs --bind): fixtures that need a WeChat error
                                 are skipped, and so are those that send, unless --openid is given
                      default: sandbox when GET /admin/api/whoami says so; a live bridge needs it
  --bind              bind the fixture employees (employees.json beside the fixtures) as
                      REPLAY-TEST-<run>-<employee_no> for this run only, rewrite the employee_no
                      of every body to match (unbound ones too, so no real employee can get a
                      fixture), and delete those bindings at the end, also on Ctrl-C or SIGTERM.
                      Needs the admin token. Implies --fresh-guid
  --openid OPENID     with --bind and --wechat real: bind every fixture employee to this openid
                      (your own) so the AA fixtures arrive in your WeChat. Message the Official
                      Account from that WeChat first: WeChat then allows it a few texts for 48 h
  --max-texts N       with --openid: send at most N texts (default ${DEFAULT_MAX_TEXTS}, what one message
                      from you allows); fixtures beyond that are skipped, saying so
  --fresh-guid        give each fixture GUID a new random uppercase UUID for this run (fixtures
                      sharing a GUID, the duplicate pairs, keep sharing one) so a bridge can be
                      replayed again without hitting duplicate detection
  --timeout MS        per-request timeout in milliseconds (default ${DEFAULT_TIMEOUT_MS})

Prints one line per file, then a summary:
  file  HTTP-status  AA|AE  reason  ok | MISMATCH: ... | ERROR: ...
  file  -  -  SKIPPED: why
Exit code: 0 nothing failed (skipped files are not failures), 1 a mismatch or error, 2 bad usage,
130/143 interrupted by SIGINT/SIGTERM (after removing the bindings).`;

export interface Options {
  files: string[];
  url: URL;
  adminUrl: URL;
  /** The bearer token itself, never printed. */
  adminToken: string | null;
  pushToken: string | null;
  /** null: ask the bridge. */
  wechat: WechatMode | null;
  bind: boolean;
  ownOpenid: string | null;
  maxTexts: number;
  freshGuid: boolean;
  timeoutMs: number;
}

export class UsageError extends Error {}

/** null: help was asked for. Environment variables only fill in tokens not given as options. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options | null {
  const { values, positionals } = parseCommandLine(argv);
  if (values.help) return null;
  if (positionals.length === 0) throw new UsageError('no fixture files given');
  const url = parseUrl('--url', values.url);
  const opts: Options = {
    files: expandFiles(positionals),
    url,
    adminUrl: values['admin-url'] === undefined ? new URL(url.origin) : parseUrl('--admin-url', values['admin-url']),
    adminToken: bearerOf(values.token ?? env.ADMIN_TOKEN),
    pushToken: nonEmpty(values['push-token'] ?? env.PUSH_TOKEN),
    wechat: parseWechatMode(values.wechat),
    bind: values.bind,
    ownOpenid: values.openid ?? null,
    maxTexts: values['max-texts'] === undefined ? DEFAULT_MAX_TEXTS : parsePositive('--max-texts', values['max-texts'], 'texts'),
    freshGuid: values['fresh-guid'] || values.bind,
    timeoutMs: parsePositive('--timeout', values.timeout, 'milliseconds'),
  };
  checkCombination(opts);
  return opts;
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string', default: DEFAULT_URL },
        'push-token': { type: 'string' },
        token: { type: 'string' },
        'admin-url': { type: 'string' },
        wechat: { type: 'string' },
        bind: { type: 'boolean', default: false },
        openid: { type: 'string' },
        'max-texts': { type: 'string' },
        'fresh-guid': { type: 'boolean', default: false },
        timeout: { type: 'string', default: String(DEFAULT_TIMEOUT_MS) },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function checkCombination(opts: Options): void {
  if (opts.bind && opts.adminToken === null) throw new UsageError('--bind needs the admin token: --token TOKEN or env ADMIN_TOKEN');
  if (opts.wechat === 'real' && !opts.bind) {
    throw new UsageError('--wechat real needs --bind: the fixtures carry real-looking employee numbers (10086, 000123, ...) that may belong to real staff');
  }
  if (opts.ownOpenid === null) {
    if (opts.maxTexts !== DEFAULT_MAX_TEXTS) throw new UsageError('--max-texts goes with --openid');
    return;
  }
  if (!OPENID_PATTERN.test(opts.ownOpenid)) throw new UsageError('--openid must be 6-64 characters of A-Z a-z 0-9 _ -');
  if (!opts.bind) throw new UsageError('--openid needs --bind (it is the openid the test bindings get)');
  if (opts.wechat !== null && opts.wechat !== 'real') throw new UsageError(`--openid goes with --wechat real, not --wechat ${opts.wechat}`);
}

/** ADMIN_TOKEN may be the bridge's own `name:token,name:token` setting: use its first token. */
export function bearerOf(raw: string | undefined): string | null {
  const first = raw?.split(',').map((e) => e.trim()).find((e) => e !== '');
  if (first === undefined) return null;
  const listForm = raw!.includes(',') || first.includes(':');
  return nonEmpty(listForm ? first.slice(first.indexOf(':') + 1).trim() : first);
}

const nonEmpty = (s: string | undefined): string | null => (s === undefined || s.trim() === '' ? null : s.trim());

function parseWechatMode(raw: string | undefined): WechatMode | null {
  if (raw === undefined) return null;
  if (!(WECHAT_MODES as readonly string[]).includes(raw)) throw new UsageError(`--wechat must be one of ${WECHAT_MODES.join(', ')}, got "${raw}"`);
  return raw as WechatMode;
}

function parsePositive(option: string, raw: string, unit: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${option} must be a positive integer of ${unit}, got "${raw}"`);
  return n;
}

function parseUrl(option: string, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${option} is not a URL: "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${option} must be http(s), got "${text}"`);
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
