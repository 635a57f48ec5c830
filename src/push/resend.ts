import { claimForResend, guidSeen, messageState } from '../db/messages.js';
import { ackOf } from '../outcomes.js';
import type { PushContext } from './context.js';
import { deliverClaim } from './deliver.js';
import { PUSH_BUDGET_MS } from './pipeline.js';

// An administrator's resend of a message that did not succeed (or, forced, of one that did): the
// same look-up, format and delivery as a push, its attempts marked with who resent it.

export type ResendResult =
  | { kind: 'done'; ackCode: string; reason: string; partsSent: number; partsAlreadyAccepted: number }
  | { kind: 'not-found' }
  | { kind: 'conflict'; message: string };

export async function resend(ctx: PushContext, guid: string, force: boolean, actor: string): Promise<ResendResult> {
  const claimed = await claimForResend(ctx.db, guid, force, ctx.identity.claimant);
  if (!claimed) return whyNot(ctx, guid);
  const mark = { resend: true, actor, forced: force };
  // The ack the ERP got stays as it was: a resend answers no one (ackXml null).
  const delivered = await deliverClaim(ctx, claimed, claimed.approval, Date.now() + PUSH_BUDGET_MS, () => null, mark);
  const ack = ackOf(delivered.outcome);
  const { partsSent, partsAlreadyAccepted } = delivered;
  ctx.log.info({ guid, actor, forced: force, outcome: delivered.outcome.code, ack: ack.code, reason: ack.reason, partsSent, partsAlreadyAccepted }, 'resend');
  return { kind: 'done', ackCode: ack.code, reason: ack.reason, partsSent, partsAlreadyAccepted };
}

async function whyNot(ctx: PushContext, guid: string): Promise<ResendResult> {
  const row = await messageState(ctx.db, guid);
  if (!row) return (await guidSeen(ctx.db, guid)) ? { kind: 'conflict', message: 'guid: this push was refused and has no approval to send' } : { kind: 'not-found' };
  if (row.status === 'delivered' || row.status === 'sandbox') return { kind: 'conflict', message: 'force: the message was already delivered; resend it with {"force": true}' };
  return { kind: 'conflict', message: 'guid: the message is being processed right now' };
}
