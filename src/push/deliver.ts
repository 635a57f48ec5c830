import { maskOpenid } from '../log.js';
import { ackOf, finalStatusOf, type Outcome } from '../outcomes.js';
import type { Approval, ChannelName, Claimed, DeliveryAttempt, Finish } from '../types.js';
import type { PushContext } from './context.js';
import { finishDurably, finishLater } from './finish.js';
import { textBlocks } from './format.js';
import { composeParts } from './split.js';

// The format and deliver steps for a claimed GUID, shared by a push and an administrator's
// resend: the text in parts, sent (all but the parts WeChat already accepted) through the
// deliverer, the outcome committed before anyone is told.

export interface Delivery {
  outcome: Extract<Outcome, { code: 'DELIVERED' | 'SANDBOX' | 'WECHAT_REJECTED' | 'WECHAT_UNREACHABLE' }>;
  attempts: DeliveryAttempt[];
  /** Parts (1-based) WeChat has accepted, earlier ones included. */
  accepted: number[];
}

/** What one push tells the applicant: the approval, and its text already cut into parts. */
export interface Notice {
  guid: string;
  approval: Approval;
  parts: string[];
  /** When the applicant last interacted with the account (the 48-hour window); null: never seen. */
  lastInteractionAt: Date | null;
}

/**
 * One way to reach an employee (customer-service text, template message; WeCom later): one file
 * per channel, each applying the retry and token rules of contract §5. Every attempt it records
 * names the channel.
 */
export interface Channel {
  readonly name: ChannelName;
  /** Custom text skips the parts in `alreadyAccepted` and stops at the first part that fails. */
  send(openid: string, notice: Notice, deadline: number, alreadyAccepted: ReadonlySet<number>): Promise<Delivery>;
}

/** The deliver step's view of the channels: sends a notice the way the policy chooses. */
export interface Deliverer {
  deliver(openid: string, notice: Notice, deadline: number, alreadyAccepted: ReadonlySet<number>): Promise<Delivery>;
}

/** Who resent (an administrator's resend answers no ERP, and marks its attempts). */
export type ResendMark = Pick<DeliveryAttempt, 'resend' | 'actor' | 'forced'>;

export interface Delivered {
  /** What to answer: the outcome, or 系统繁忙 when an AA could not be put on disk in time. */
  outcome: Outcome;
  partsSent: number;
  partsAlreadyAccepted: number;
}

/**
 * `ackXmlFor`: the ack the ERP gets for an outcome, kept in the record (null for a resend, which
 * answers no one); it must return the same ack for the same outcome when asked twice.
 */
export async function deliverClaim(ctx: PushContext, claim: Claimed, approval: Approval, deadline: number, ackXmlFor: (outcome: Outcome) => string | null, resend: ResendMark | null = null): Promise<Delivered> {
  const { parts, total, shortened } = composeParts(textBlocks(approval), ctx.maxParts);
  // Parts WeChat already accepted for this very text are not sent again; a forced resend sends all.
  const skip = new Set(!resend?.forced && sameTexts(claim.previousTexts, parts) ? claim.acceptedParts : []);
  const notice: Notice = { guid: approval.guid, approval, parts, lastInteractionAt: claim.lastInteractionAt };
  const delivery: Delivery | null = claim.openid === null ? null : await ctx.deliverer.deliver(claim.openid, notice, deadline, skip);
  const outcome: Outcome = delivery?.outcome ?? { code: 'UNBOUND' };
  const ack = ackOf(outcome);
  let attempts = (delivery?.attempts ?? []).map((a) => (resend ? { ...a, ...resend } : a));
  // A resend that sent nothing (unbound, sandbox) still leaves its mark in the record.
  if (resend && attempts.length === 0) attempts = [{ at: new Date().toISOString(), part: 0, ms: 0, error: ack.reason, ...resend }];
  const texts = delivery === null ? [] : parts;
  const finish: Finish = {
    token: claim.token,
    status: finalStatusOf(outcome),
    ackCode: ack.code,
    reason: ack.reason,
    ackXml: ackXmlFor(outcome),
    erpAckCode: resend ? null : ack.code,
    texts,
    attempts,
    errcode: outcome.code === 'WECHAT_REJECTED' ? outcome.errcode : null,
    errmsg: outcome.code === 'WECHAT_REJECTED' ? outcome.errmsg : null,
    openidMasked: claim.openid === null ? null : maskOpenid(claim.openid),
    acceptedParts: delivery?.accepted ?? [...skip],
    partsTotal: texts.length === 0 ? null : total,
    shortened: texts.length > 0 && shortened,
  };
  const counts = { partsSent: new Set(attempts.filter((a) => a.part > 0).map((a) => a.part)).size, partsAlreadyAccepted: skip.size };
  if (await finishDurably(ctx, deadline, claim.id, finish)) return { outcome, ...counts };
  // An AA promises the ERP the message is done; without its record on disk that promise could be
  // lost with Postgres (and an administrator would send it again). Answer busy: by the time the
  // ERP re-pushes, the background write has landed and the re-push is a recognised duplicate.
  const answered: Outcome = ack.code === 'AA' ? { code: 'BUSY' } : outcome;
  finishLater(ctx, claim.id, { ...finish, ackXml: ackXmlFor(answered), erpAckCode: resend ? null : ackOf(answered).code });
  return { outcome: answered, ...counts };
}

/** The same parts in the same order: only then do earlier accepted part numbers mean the same text. */
function sameTexts(previous: string[], parts: string[]): boolean {
  return previous.length === parts.length && previous.every((text, i) => text === parts[i]);
}
