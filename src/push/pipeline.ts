import { randomUUID } from 'node:crypto';
import { maskOpenid, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { ackOf, finalStatusOf, type Outcome } from '../outcomes.js';
import type { AckAddressing, Approval, DeliveryAttempt, Envelope } from '../types.js';
import { writeAck, wrapAck, type HttpAnswer } from './acknowledge.js';
import type { Deliverer } from './deliver.js';
import { guessEnvelopeKind } from './envelope.js';
import { textBlocks } from './format.js';
import { ackShapeOf, readPush } from './receive.js';
import { fingerprintOf, type Claimed, type ExistingRow, type Finish, type MessageLog, type Received } from './record.js';
import { composeParts, DEFAULT_MAX_PARTS } from './split.js';

// The push path end to end: unwrap envelope → read approval → record (and look up) → format →
// deliver → acknowledge. Every push ends in exactly one Outcome and one ack, never an exception.

/** Contract §5: a push is answered within 15 s whatever WeChat does; keep a margin for the final write. */
export const PUSH_BUDGET_MS = 14_000;
/** Of the last second, how long the final write may hold up the answer. */
const ANSWER_MARGIN_MS = 700;
/** While Postgres is away, how often and how long the outcome write is retried before the answer. */
const FINISH_RETRY_MS = 250;
/** Enough to ride out a blip; an outage is answered 系统繁忙 promptly and written in the background. */
const FINISH_PATIENCE_MS = 1_000;
const WAIT_POLL_MS = 100;

export interface PipelineOptions {
  bridgeId: string;
  messages: MessageLog;
  /** Null in sandbox mode: everything but the send. */
  deliverer: Deliverer | null;
  log: Logger;
  metrics: Metrics | null;
  /** At most this many WeChat messages per push (WECHAT_MAX_PARTS); the last says the rest is in the ERP. */
  maxParts?: number;
}

export interface PushResult extends HttpAnswer {
  guid: string;
  outcome: Outcome;
}

export type ResendResult =
  | { kind: 'done'; ackCode: string; reason: string; partsSent: number; partsAlreadyAccepted: number }
  | { kind: 'not-found' }
  | { kind: 'conflict'; message: string };

type ResendMark = Pick<DeliveryAttempt, 'resend' | 'actor' | 'forced'>;

interface Processed {
  outcome: Outcome;
  ackXml: string;
}

interface Delivered extends Processed {
  partsSent: number;
  partsAlreadyAccepted: number;
}

export class PushPipeline {
  constructor(private readonly options: PipelineOptions) {}

  /** `arrivedAt`: when the request came in; waiting for admission and the body count against the 15 s. */
  async handle(body: Buffer, contentType: string | undefined, arrivedAt = Date.now()): Promise<PushResult> {
    const deadline = arrivedAt + PUSH_BUDGET_MS;
    const read = readPush(body, contentType);
    const { envelope, addressing } = read;
    let result: Processed;
    if (!read.ok) {
      result = await this.reject(read.rejection, addressing, envelope ? received(envelope, contentType) : undecodable(body, contentType));
    } else {
      try {
        result = await this.process(received(read.envelope, contentType), read.approval, deadline);
      } catch (err) {
        // Postgres unavailable (or any fault of ours): nothing was sent, the ERP may push again.
        const cause = databaseCause(err);
        this.options.metrics?.dbFailures.inc({ cause });
        this.options.log.error({ guid: addressing.guid, cause, err: errorText(err) }, 'push could not be processed');
        result = this.ack({ code: 'BUSY' }, addressing);
      }
    }
    const answer = wrapAck(result.ackXml, ackShapeOf(read, body, contentType));
    this.logPush(result.outcome, addressing, read.ok ? read.approval : null, envelope, Date.now() - arrivedAt);
    return { ...answer, guid: addressing.guid, outcome: result.outcome };
  }

  private async process(rec: Received, approval: Approval, deadline: number): Promise<Processed> {
    const fingerprint = fingerprintOf(approval);
    for (;;) {
      const claim = await this.options.messages.claim(rec, approval, fingerprint);
      if (claim.kind === 'claimed') return this.deliverClaimed(claim, approval, deadline);
      const row = claim.row;
      if (row.fingerprint !== fingerprint) {
        return this.reject({ code: 'GUID_CONFLICT' }, approval, rec, approval, fingerprint);
      }
      if (row.status === 'delivered' || row.status === 'sandbox') {
        return this.ack({ code: 'DUPLICATE', firstAck: formatTime(row.finishedAt) }, approval);
      }
      if (row.status === 'processing' && !row.leaseExpired) {
        const settled = await this.waitForOwner(approval.guid, deadline);
        if (settled === 'timeout') {
          return this.ack({ code: 'WECHAT_UNREACHABLE', detail: '同一消息正在处理中，请稍后查询结果', maybeDelivered: true }, approval);
        }
        if (settled !== 'reclaim') return this.ack({ code: 'CONCURRENT', ack: { code: settled.ackCode!, reason: settled.reason ?? '' } }, approval);
      }
      // failed, unknown or an expired lease: the GUID is claimable again.
    }
  }

  /** Another push of this GUID is being delivered right now: answer with its ack once it has one. */
  private async waitForOwner(guid: string, deadline: number): Promise<ExistingRow | 'reclaim' | 'timeout'> {
    while (Date.now() + WAIT_POLL_MS < deadline) {
      await sleep(WAIT_POLL_MS);
      const row = await this.options.messages.read(guid);
      if (!row) return 'reclaim';
      if (row.status === 'processing') {
        if (row.leaseExpired) return 'reclaim';
        continue;
      }
      return row.ackCode ? row : 'reclaim';
    }
    return 'timeout';
  }

  /**
   * An administrator's resend of a message that did not succeed (or, forced, of one that did):
   * the same look-up, format and delivery as a push, recorded as attempts marked with who did it.
   */
  async resend(guid: string, force: boolean, actor: string): Promise<ResendResult> {
    const claimed = await this.options.messages.claimForResend(guid, force);
    if (!claimed) {
      const row = await this.options.messages.read(guid);
      if (!row) return (await this.options.messages.seen(guid)) ? { kind: 'conflict', message: 'guid: this push was refused and has no approval to send' } : { kind: 'not-found' };
      if (row.status === 'delivered' || row.status === 'sandbox') return { kind: 'conflict', message: 'force: the message was already delivered; resend it with {"force": true}' };
      return { kind: 'conflict', message: 'guid: the message is being processed right now' };
    }
    const delivered = await this.deliverClaimed(claimed, claimed.approval, Date.now() + PUSH_BUDGET_MS, { resend: true, actor, forced: force });
    const ack = ackOf(delivered.outcome);
    const { partsSent, partsAlreadyAccepted } = delivered;
    this.options.log.info({ guid, actor, forced: force, outcome: delivered.outcome.code, ack: ack.code, reason: ack.reason, partsSent, partsAlreadyAccepted }, 'resend');
    return { kind: 'done', ackCode: ack.code, reason: ack.reason, partsSent, partsAlreadyAccepted };
  }

  private async deliverClaimed(claim: Claimed, approval: Approval, deadline: number, resend: ResendMark | null = null): Promise<Delivered> {
    const { parts, total, shortened } = composeParts(textBlocks(approval), this.options.maxParts ?? DEFAULT_MAX_PARTS);
    // Parts WeChat already accepted for this very text are not sent again; a forced resend sends all.
    const skip = new Set(!resend?.forced && sameTexts(claim.previousTexts, parts) ? claim.acceptedParts : []);
    const openid = claim.openid;
    let outcome: Outcome;
    let attempts: DeliveryAttempt[] = [];
    let texts: string[] = [];
    let accepted = [...skip];
    if (openid === null) {
      outcome = { code: 'UNBOUND' };
    } else if (this.options.deliverer === null) {
      outcome = { code: 'SANDBOX' };
      texts = parts;
    } else {
      const delivery = await this.options.deliverer.deliver(openid, parts, deadline, skip);
      outcome = delivery.outcome;
      attempts = resend ? delivery.attempts.map((a) => ({ ...a, ...resend })) : delivery.attempts;
      accepted = delivery.accepted;
      texts = parts;
    }
    const ack = ackOf(outcome);
    // A resend that sent nothing (unbound, sandbox) still leaves its mark in the record.
    if (resend && attempts.length === 0) attempts = [{ at: new Date().toISOString(), part: 0, ms: 0, error: ack.reason, ...resend }];
    const rejected = outcome.code === 'WECHAT_REJECTED' ? outcome : null;
    const processed = this.ack(outcome, approval);
    const finish: Finish = {
      token: claim.token,
      status: finalStatusOf(outcome),
      ackCode: ack.code,
      reason: ack.reason,
      ackXml: resend ? null : processed.ackXml,
      texts,
      attempts,
      errcode: rejected?.errcode ?? null,
      errmsg: rejected?.errmsg ?? null,
      openidMasked: openid === null ? null : maskOpenid(openid),
      acceptedParts: accepted,
      partsTotal: texts.length === 0 ? null : total,
      shortened: texts.length > 0 && shortened,
    };
    const counts = { partsSent: new Set(attempts.filter((a) => a.part > 0).map((a) => a.part)).size, partsAlreadyAccepted: skip.size };
    if (await this.finishDurably(deadline, claim.id, finish)) return { ...processed, ...counts };
    // An AA promises the ERP the message is done; without its record on disk that promise could be
    // lost with Postgres (and an administrator would send it again). Answer busy: by the time the
    // ERP re-pushes, the background write has landed and the re-push is a recognised duplicate.
    const answer = ack.code === 'AA' ? this.ack({ code: 'BUSY' }, approval) : processed;
    void this.retryFinish(claim.id, resend ? finish : { ...finish, ackXml: answer.ackXml });
    return { ...answer, ...counts };
  }

  /**
   * Writes the outcome before the answer leaves, trying again while Postgres is away, up to the
   * deadline. True once it is on disk (or was already: a retry after a lost answer finds nothing
   * left to write). False when the deadline came first; the caller then answers accordingly.
   */
  private async finishDurably(deadline: number, id: string, finish: Finish): Promise<boolean> {
    const until = Date.now() + FINISH_PATIENCE_MS;
    const latest = deadline + ANSWER_MARGIN_MS;
    for (;;) {
      const write = this.options.messages.finish(id, finish).then(() => 'written' as const, (err: unknown) => ({ err }));
      // A write already under way may take until the deadline (Postgres slow, not gone).
      const result = await Promise.race([write, sleep(Math.max(0, latest - Date.now())).then(() => 'late' as const)]);
      if (result === 'written') return true;
      if (result === 'late') {
        this.options.log.warn({ messageId: id }, 'recording the outcome is slow; answered without it');
        return false;
      }
      this.options.log.error({ messageId: id, err: errorText(result.err) }, 'could not record the outcome');
      if (Date.now() + FINISH_RETRY_MS >= Math.min(until, latest)) return false;
      await sleep(FINISH_RETRY_MS);
    }
  }

  private async retryFinish(id: string, finish: Finish): Promise<void> {
    for (let attempt = 1; attempt <= 40; attempt++) {
      await sleep(3000);
      try {
        await this.options.messages.finish(id, finish);
        this.options.log.info({ messageId: id, attempt }, 'recorded the outcome after a database outage');
        return;
      } catch {
        // Still down; the sweeper marks the row unknown if this never succeeds.
      }
    }
    this.options.log.error({ messageId: id }, 'gave up recording the outcome; the message will show as of unknown outcome');
  }

  private async reject(outcome: Outcome, addressing: AckAddressing, rec: Received, approval: Approval | null = null, fingerprint: string | null = null): Promise<Processed> {
    const processed = this.ack(outcome, addressing);
    try {
      await this.options.messages.reject(rec, {
        guid: addressing.guid || null,
        senderId: addressing.senderId,
        receiverId: addressing.receiverId,
        employeeNo: approval?.employeeNo ?? null,
        approval,
        fingerprint,
        reason: ackOf(outcome).reason,
        ackXml: processed.ackXml,
      });
    } catch (err) {
      // The push is refused either way; its own reason is more use to the sender than "busy".
      this.options.log.error({ guid: addressing.guid, err: errorText(err) }, 'could not record a rejected push');
    }
    return processed;
  }

  private ack(outcome: Outcome, addressing: AckAddressing): Processed {
    const ackXml = writeAck({ ack: ackOf(outcome), addressing, bridgeId: this.options.bridgeId, ackId: randomUUID().toUpperCase(), now: new Date() });
    return { outcome, ackXml };
  }

  private logPush(outcome: Outcome, addressing: AckAddressing, approval: Approval | null, envelope: Envelope | null, ms: number): void {
    const ack = ackOf(outcome);
    this.options.metrics?.countPush(outcome.code, ack.code, ms);
    const line = { guid: addressing.guid, envelope: envelope?.kind, action: envelope?.action, employeeNo: approval?.employeeNo, outcome: outcome.code, ack: ack.code, reason: ack.reason, ms };
    if (ack.code === 'AA') this.options.log.info(line, 'push');
    else this.options.log.warn(line, 'push');
  }
}

function received(envelope: Envelope, contentType: string | undefined): Received {
  return { envelope: envelope.kind, action: envelope.action, contentType: contentType ?? null, bodyText: envelope.bodyText };
}

function undecodable(body: Buffer, contentType: string | undefined): Received {
  return { envelope: guessEnvelopeKind(body, contentType), action: null, contentType: contentType ?? null, bodyText: body.toString('latin1') };
}

/** The same parts in the same order: only then do earlier accepted part numbers mean the same text. */
function sameTexts(previous: string[], parts: string[]): boolean {
  return previous.length === parts.length && previous.every((text, i) => text === parts[i]);
}

/**
 * Why the database failed a push. All connections busy while Postgres is healthy (the pool's wait
 * ran out) calls for more connections or fewer concurrent pushes, not for a database engineer.
 */
function databaseCause(err: unknown): 'pool_exhausted' | 'unavailable' | 'other' {
  const message = err instanceof Error ? err.message : String(err);
  if (message === 'timeout exceeded when trying to connect') return 'pool_exhausted';
  const code = (err as { code?: unknown }).code;
  if ((typeof code === 'string' && /^(ECONN|ETIMEDOUT|EHOSTUNREACH|57P|08)/.test(code)) || /Connection terminated|connect/i.test(message)) return 'unavailable';
  return 'other';
}

function formatTime(date: Date | null): string {
  if (!date) return '此前';
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
