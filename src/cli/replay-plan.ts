import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import type { Fixture, FixtureEmployee, FixtureExpect } from './fixture-file.js';
import { UsageError, type WechatMode } from './replay-options.js';

// What a replay does with each fixture, given what answers the bridge's WeChat calls: push it with
// its expectation (adjusted for a sandbox bridge), or skip it with the reason. Pure.

export type Step = { kind: 'push'; expect: FixtureExpect | undefined } | { kind: 'skip'; reason: string };

export interface PlanContext {
  mode: WechatMode;
  /** --openid: the test bindings carry the tester's own openid, so sends reach a real person. */
  ownOpenid: boolean;
  /** How many texts may go to WeChat in this run; null: no limit. */
  textBudget: number | null;
}

// A sandbox bridge answers a first push 处理成功（沙箱模式，未发送微信消息） (README, the ack table);
// the contract fixes only 处理成功 at the start, this also tells it from a duplicate's answer.
const SANDBOX_AA_PREFIX = '处理成功（沙箱模式';
const DELIVERED = '处理成功';

export const TEST_EMPLOYEE_PREFIX = 'REPLAY-TEST-';

/**
 * Plans fixtures in replay order. A fixture that re-uses an earlier fixture's GUID (the duplicate
 * and conflict pairs) means nothing once that earlier push was skipped, so it is skipped too.
 */
export function planner(ctx: PlanContext): (fixture: Fixture) => Step {
  const skippedGuids = new Map<string, string>();
  let textsLeft = ctx.textBudget ?? Number.POSITIVE_INFINITY;
  return (fixture) => {
    const guid = fixture.expect?.guid ?? '';
    const firstSkipped = guid === '' ? undefined : skippedGuids.get(guid);
    let reason = firstSkipped !== undefined ? `the first push of its GUID (${firstSkipped}) was skipped` : skipReason(fixture, ctx);
    const texts = reason === null ? textsSent(fixture.expect) : 0;
    if (texts > textsLeft) reason = `would exceed --max-texts ${ctx.textBudget}; message the Official Account again, then replay the files from this one on`;
    if (reason === null) {
      textsLeft -= texts;
      return { kind: 'push', expect: expectationFor(fixture.expect, ctx.mode) };
    }
    if (guid !== '' && !skippedGuids.has(guid)) skippedGuids.set(guid, basename(fixture.file));
    return { kind: 'skip', reason };
  };
}

function skipReason(fixture: Fixture, ctx: PlanContext): string | null {
  switch (fixture.requires) {
    case undefined:
      break;
    case 'database-down':
      return "needs the bridge's Postgres to be stopped (expects AE 系统繁忙), which a replay cannot arrange";
    case 'fake-wechat':
      if (ctx.mode === 'sandbox') return 'needs WeChat to fail on cue (the fake WeChat\'s openid conventions); a sandbox bridge sends nothing';
      if (ctx.mode === 'real') return 'needs WeChat to fail on cue (the fake WeChat\'s openid conventions); the real WeChat does not';
      break;
    default:
      return `needs "${fixture.requires}", which this replay cannot arrange`;
  }
  if (ctx.mode === 'real' && !ctx.ownOpenid && textsSent(fixture.expect) > 0) {
    return 'would send to a made-up fixture openid; add --openid YOUR_OPENID to have it sent to your WeChat';
  }
  return null;
}

/** Without a `texts` list, an AA is the best guess that one text went out. */
function textsSent(expect: FixtureExpect | undefined): number {
  if (expect === undefined) return 0;
  return expect.texts === undefined ? Number(expect.ackCode === 'AA') : expect.texts.length;
}

function expectationFor(expect: FixtureExpect | undefined, mode: WechatMode): FixtureExpect | undefined {
  if (expect === undefined || mode !== 'sandbox' || expect.reason !== DELIVERED) return expect;
  const { reason: _delivered, ...rest } = expect;
  return { ...rest, reasonStartsWith: SANDBOX_AA_PREFIX };
}

/**
 * What the expectations are built for. An explicit --wechat wins (the caller warns when the bridge
 * disagrees); otherwise the bridge's own answer decides sandbox, and a live bridge needs telling,
 * since nothing it exposes says whether its WECHAT_API_BASE is the fake WeChat.
 */
export function resolveMode(explicit: WechatMode | null, bridgeSandbox: boolean | null, ownOpenid: boolean): WechatMode {
  if (explicit !== null) return explicit;
  if (ownOpenid) {
    if (bridgeSandbox === true) throw new UsageError('--openid is for a live bridge on the real WeChat, and this bridge is in sandbox mode');
    return 'real';
  }
  if (bridgeSandbox === true) return 'sandbox';
  if (bridgeSandbox === false) {
    throw new UsageError('the bridge is live: say whether its WECHAT_API_BASE is the fake WeChat (--wechat fake) or the real one (--wechat real --bind)');
  }
  throw new UsageError('cannot tell whether the bridge is in sandbox mode: give the admin token (--token or env ADMIN_TOKEN) so it can be asked, or --wechat sandbox|fake|real');
}

/** A run's own employee-number prefix, so two testers on one bridge never share a binding. */
export function newRunPrefix(): string {
  return `${TEST_EMPLOYEE_PREFIX}${randomBytes(4).toString('hex').toUpperCase()}-`;
}

/** The fixture employees as this run binds them; inactive ones stay inactive. */
export function testBindings(employees: FixtureEmployee[], prefix: string, ownOpenid: string | null): FixtureEmployee[] {
  return employees.map((e) => ({
    employeeNo: `${prefix}${e.employeeNo}`,
    openid: ownOpenid ?? e.openid,
    // Marked in the admin page, where the bindings show while the run lasts.
    name: `[回放测试] ${e.name}`.slice(0, 100),
    active: e.active,
  }));
}

/** A next step for WeChat refusals a tester on the real WeChat can fix; null when there is none. */
export function hintFor(mode: WechatMode, reason: string): string | null {
  if (mode !== 'real') return null;
  const errcode = /^微信发送失败\((-?\d+)\)/.exec(reason)?.[1];
  switch (errcode) {
    case '45015':
    case '45047':
      return 'WeChat sends customer-service messages only within 48 h after the user last messaged the account, and only so many: message the account from that WeChat, then replay again';
    case '43004':
      return 'that WeChat user does not follow the Official Account';
    case '40003':
      return 'not an openid of this Official Account (each account gives a user an openid of its own)';
    default:
      return null;
  }
}

/** The same masking as the bridge's logs: first and last 4 characters. */
export function maskOpenid(openid: string): string {
  return openid.length <= 8 ? '****' : `${openid.slice(0, 4)}…${openid.slice(-4)}`;
}
