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
import { fingerprintOf, type ExistingRow, type MessageLog, type Received } from './record.js';
import { splitIntoParts } from './split.js';

// The push path end to end: unwrap envelope → read approval → record (and look up) → format →
// deliver → acknowledge. Every push ends in exactly one Outcome and one ack, never an exception.

/** Contract §5: a push is answered within 15 s whatever WeChat does; keep a margin for the final write. */
export const PUSH_BUDGET_MS = 14_000;
/** Of the last second, how long the final write may hold up the answer. */
const ANSWER_MARGIN_MS = 700;
const WAIT_POLL_MS = 100;

export interface PipelineOptions {
  bridgeId: string;
  messages: MessageLog;
  /** Null in sandbox mode: everything but the send. */
  deliverer: Deliverer | null;
  log: Logger;
  metrics: Metrics | null;
}

export interface PushResult extends HttpAnswer {
  guid: string;
  outcome: Outcome;
}

export type ResendResult = { kind: 'done'; ackCode: string; reason: string } | { kind: 'not-found' } | { kind: 'conflict'; message: string };

type ResendMark = Pick<DeliveryAttempt, 'resend' | 'actor' | 'forced'>;

interface Processed {
  outcome: Outcome;
  ackXml: string;
}

export class PushPipeline {
  constructor(private readonly options: PipelineOptions) {}

  async handle(body: Buffer, contentType: string | undefined): Promise<PushResult> {
    const started = performance.now();
    const deadline = Date.now() + PUSH_BUDGET_MS;
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
        this.options.log.error({ guid: addressing.guid, err: errorText(err) }, 'push could not be processed');
        result = this.ack({ code: 'BUSY' }, addressing);
      }
    }
    const answer = wrapAck(result.ackXml, ackShapeOf(read, body, contentType));
    this.logPush(result.outcome, addressing, read.ok ? read.approval : null, envelope, Math.round(performance.now() - started));
    return { ...answer, guid: addressing.guid, outcome: result.outcome };
  }

  private async process(rec: Received, approval: Approval, deadline: number): Promise<Processed> {
    const fingerprint = fingerprintOf(approval);
    for (;;) {
      const claim = await this.options.messages.claim(rec, approval, fingerprint);
      if (claim.kind === 'claimed') return this.deliverClaimed(claim.id, claim.openid, approval, deadline);
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
    const { outcome } = await this.deliverClaimed(claimed.id, claimed.openid, claimed.approval, Date.now() + PUSH_BUDGET_MS, { resend: true, actor, forced: force });
    const ack = ackOf(outcome);
    this.options.log.info({ guid, actor, forced: force, outcome: outcome.code, ack: ack.code, reason: ack.reason }, 'resend');
    return { kind: 'done', ackCode: ack.code, reason: ack.reason };
  }

  private async deliverClaimed(id: string, openid: string | null, approval: Approval, deadline: number, resend: ResendMark | null = null): Promise<Processed> {
    const parts = splitIntoParts(textBlocks(approval));
    let outcome: Outcome;
    let attempts: DeliveryAttempt[] = [];
    let texts: string[] = [];
    if (openid === null) {
      outcome = { code: 'UNBOUND' };
    } else if (this.options.deliverer === null) {
      outcome = { code: 'SANDBOX' };
      texts = parts;
    } else {
      const delivery = await this.options.deliverer.deliver(openid, parts, deadline);
      outcome = delivery.outcome;
      attempts = resend ? delivery.attempts.map((a) => ({ ...a, ...resend })) : delivery.attempts;
      texts = parts;
    }
    const processed = this.ack(outcome, approval);
    const ack = ackOf(outcome);
    // A resend that sent nothing (unbound, sandbox) still leaves its mark in the record.
    if (resend && attempts.length === 0) attempts = [{ at: new Date().toISOString(), part: 0, ms: 0, error: ack.reason, ...resend }];
    const rejected = outcome.code === 'WECHAT_REJECTED' ? outcome : null;
    await this.finishDurably(deadline, id, {
      status: finalStatusOf(outcome),
      ackCode: ack.code,
      reason: ack.reason,
      ackXml: resend ? null : processed.ackXml,
      texts,
      attempts,
      errcode: rejected?.errcode ?? null,
      errmsg: rejected?.errmsg ?? null,
      openidMasked: openid === null ? null : maskOpenid(openid),
    });
    return processed;
  }

  /**
   * The outcome is decided (and maybe delivered) whatever happens to this write: if Postgres went
   * away meanwhile, keep trying in the background rather than answer AE and invite a second send;
   * if Postgres is merely slow, answer by the deadline and let the write finish on its own.
   */
  private async finishDurably(deadline: number, id: string, finish: Parameters<MessageLog['finish']>[1]): Promise<void> {
    const write = this.options.messages.finish(id, finish).then(
      () => true,
      (err: unknown) => {
        this.options.log.error({ messageId: id, err: errorText(err) }, 'could not record the outcome; retrying in the background');
        void retryInBackground(() => this.options.messages.finish(id, finish), this.options.log, id);
        return true;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadline + ANSWER_MARGIN_MS - Date.now()), false);
    });
    const written = await Promise.race([write, late]);
    clearTimeout(timer);
    if (!written) this.options.log.warn({ messageId: id }, 'recording the outcome is slow; answered without waiting for it');
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

async function retryInBackground(write: () => Promise<void>, log: Logger, id: string): Promise<void> {
  for (let attempt = 1; attempt <= 20; attempt++) {
    await sleep(3000);
    try {
      await write();
      log.info({ messageId: id, attempt }, 'recorded the outcome after a database outage');
      return;
    } catch {
      // Still down; the sweeper marks the row unknown if this never succeeds.
    }
  }
  log.error({ messageId: id }, 'gave up recording the outcome; the message will show as of unknown outcome');
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
