import { recordRefusal } from '../db/messages.js';
import type { Logger } from '../log.js';
import { ackOf, type Outcome } from '../outcomes.js';
import type { AckAddressing, AckShape, Approval, HttpAnswer, Received } from '../types.js';
import { compose, type Answer } from './answer.js';
import { claimAndLookUp, fingerprintOf } from './claim.js';
import type { PushContext } from './context.js';
import { deliverClaim } from './deliver.js';
import { answerRepeat } from './duplicates.js';
import { readPush, type ReadPush } from './read.js';

// The push path end to end, one step after another: read (unwrap envelope, read approval) →
// record and look up → (a repeated GUID: duplicates) → format and deliver → acknowledge. Every
// push ends in exactly one outcome and one ack, never an exception.

/** Contract §5: a push is answered within 15 s whatever WeChat does; keep a margin for the final write. */
export const PUSH_BUDGET_MS = 14_000;

export interface PushResult extends HttpAnswer {
  guid: string;
  outcome: Outcome;
}

/** `arrivedAt`: when the request came in; waiting for admission and the body count against the 15 s. */
export async function handlePush(ctx: PushContext, body: Buffer, contentType: string | undefined, arrivedAt = Date.now()): Promise<PushResult> {
  const read = readPush(body, contentType);
  const log = lazyChild(ctx.log, read.addressing.guid);
  const answerOf = answers(ctx, read.addressing, read.ok ? read.envelope : read.shape);
  const rec = received(read, body, contentType);
  let outcome: Outcome;
  if (!read.ok) {
    outcome = read.refusal;
    await refuse(ctx, log, rec, read.addressing, null, null, outcome, answerOf(outcome));
  } else {
    try {
      outcome = await process(ctx, log, rec, read.approval, arrivedAt + PUSH_BUDGET_MS, answerOf);
    } catch (err) {
      // Postgres unavailable (or any fault of ours): nothing was sent, the ERP may push again.
      const cause = databaseCause(err);
      ctx.metrics.dbFailures.inc({ cause });
      log().error({ cause, err }, 'push could not be processed');
      outcome = { code: 'BUSY' };
    }
  }
  const { contentType: answerType, body: answerBody } = answerOf(outcome);
  logPush(ctx, log, outcome, read, Date.now() - arrivedAt);
  return { contentType: answerType, body: answerBody, guid: read.addressing.guid, outcome };
}

async function process(ctx: PushContext, log: () => Logger, rec: Received, approval: Approval, deadline: number, answerOf: (o: Outcome) => Answer): Promise<Outcome> {
  const fingerprint = fingerprintOf(approval);
  for (;;) {
    const claim = await claimAndLookUp(ctx, rec, approval, fingerprint);
    if (claim.kind === 'claimed') return (await deliverClaim(ctx, claim, approval, deadline, (o) => answerOf(o).ackXml)).outcome;
    const repeat = await answerRepeat(ctx, approval.guid, fingerprint, claim.existing, deadline);
    if (repeat === 'reclaim') continue;
    if (repeat.code === 'GUID_CONFLICT') await refuse(ctx, log, rec, approval, approval, fingerprint, repeat, answerOf(repeat));
    return repeat;
  }
}

/** One ack per outcome, made once: the ack kept in the record is the ack sent. */
function answers(ctx: PushContext, addressing: AckAddressing, shape: AckShape): (outcome: Outcome) => Answer {
  const made = new Map<Outcome, Answer>();
  return (outcome) => {
    let answer = made.get(outcome);
    if (!answer) made.set(outcome, (answer = compose(ackOf(outcome), addressing, shape, ctx.bridgeId)));
    return answer;
  };
}

/** A push that never owns its GUID is kept all the same; failing to keep it changes nothing for the sender. */
async function refuse(
  ctx: PushContext,
  log: () => Logger,
  rec: Received,
  addressing: AckAddressing,
  approval: Approval | null,
  fingerprint: string | null,
  outcome: Outcome,
  answer: Answer,
): Promise<void> {
  try {
    await recordRefusal(ctx.db, rec, {
      guid: addressing.guid || null,
      senderId: addressing.senderId,
      receiverId: addressing.receiverId,
      employeeNo: approval?.employeeNo ?? null,
      approval,
      fingerprint,
      reason: ackOf(outcome).reason,
      ackXml: answer.ackXml,
    });
  } catch (err) {
    log().error({ err }, 'could not record a refused push');
  }
}

/** The push as received, for the log; a body whose envelope could not be read is kept byte for byte (latin1). */
function received(read: ReadPush, body: Buffer, contentType: string | undefined): Received {
  const { envelope } = read;
  if (envelope) return { envelope: envelope.kind, action: envelope.action, contentType: contentType ?? null, bodyText: envelope.bodyText };
  return { envelope: read.ok ? 'raw' : read.shape.kind, action: null, contentType: contentType ?? null, bodyText: body.toString('latin1') };
}

function logPush(ctx: PushContext, log: () => Logger, outcome: Outcome, read: ReadPush, ms: number): void {
  const ack = ackOf(outcome);
  ctx.metrics.countPush(outcome.code, ack.code, ms);
  const level = ack.code === 'AA' ? 'info' : 'warn';
  if (!ctx.log.isLevelEnabled(level)) return;
  const line = { envelope: read.envelope?.kind, action: read.envelope?.action, employeeNo: read.ok ? read.approval.employeeNo : undefined, outcome: outcome.code, ack: ack.code, reason: ack.reason, ms };
  log()[level](line, 'push');
}

/** The push's own logger, made when it first logs: at LOG_LEVEL=warn most pushes never do. */
function lazyChild(log: Logger, guid: string): () => Logger {
  let child: Logger | null = null;
  return () => (child ??= log.child({ guid }));
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
