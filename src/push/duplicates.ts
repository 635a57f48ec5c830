import { setTimeout as sleep } from 'node:timers/promises';
import { messageState } from '../db/messages.js';
import type { Outcome } from '../outcomes.js';
import { localDateTime } from '../time.js';
import type { ExistingMessage } from '../types.js';
import type { PushContext } from './context.js';

// A push whose GUID another push holds or held (contract §4, duplicates): different content is a
// conflict; a delivered GUID is answered as delivered, nothing sent again; one being delivered
// right now is waited for, and its ack given; a GUID whose processing ended AE may be claimed again.

const WAIT_POLL_MS = 100;

/** What the repeated push gets, or 'reclaim': the GUID is free again, claim it. */
export async function answerRepeat(ctx: PushContext, guid: string, fingerprint: string, existing: ExistingMessage, deadline: number): Promise<Outcome | 'reclaim'> {
  if (existing.fingerprint !== fingerprint) return { code: 'GUID_CONFLICT' };
  if (existing.status === 'delivered' || existing.status === 'sandbox') {
    return { code: 'DUPLICATE', firstAck: existing.finishedAt ? localDateTime(existing.finishedAt) : '此前' };
  }
  if (existing.status !== 'processing' || existing.leaseExpired) return 'reclaim';
  const settled = await waitForHolder(ctx, guid, deadline);
  if (settled === 'timeout') return { code: 'WECHAT_UNREACHABLE', detail: '同一消息正在处理中，请稍后查询结果', maybeDelivered: true };
  if (settled === 'reclaim') return 'reclaim';
  return { code: 'CONCURRENT', ack: { code: settled.ackCode!, reason: settled.reason ?? '' } };
}

/** Another push of this GUID is being delivered: its outcome once it has one. */
async function waitForHolder(ctx: PushContext, guid: string, deadline: number): Promise<ExistingMessage | 'reclaim' | 'timeout'> {
  while (Date.now() + WAIT_POLL_MS < deadline) {
    await sleep(WAIT_POLL_MS);
    const row = await messageState(ctx.db, guid);
    if (!row) return 'reclaim';
    if (row.status === 'processing') {
      if (row.leaseExpired) return 'reclaim';
      continue;
    }
    return row.ackCode ? row : 'reclaim';
  }
  return 'timeout';
}
