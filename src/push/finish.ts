import { setTimeout as sleep } from 'node:timers/promises';
import { finishMessage } from '../db/messages.js';
import { withinMs } from '../deadline.js';
import type { Finish } from '../types.js';
import type { PushContext } from './context.js';

// Recording the outcome durably: before the answer leaves, and, if Postgres is away at that
// moment, in the background once it is back.

/** While Postgres is away, how often and how long the outcome write is retried before the answer. */
const RETRY_MS = 250;
/** Enough to ride out a blip; an outage is answered 系统繁忙 promptly and written in the background. */
const PATIENCE_MS = 1_000;
/** Of the last second, how long the final write may hold up the answer. */
const ANSWER_MARGIN_MS = 700;
const BACKGROUND = { attempts: 40, everyMs: 3_000 };

/**
 * True once the outcome is on disk (or was already: a retry after a lost answer finds nothing left
 * to write). False when Postgres did not take it in time; the caller answers accordingly.
 */
export async function finishDurably(ctx: PushContext, deadline: number, id: string, finish: Finish): Promise<boolean> {
  const until = Date.now() + PATIENCE_MS;
  const latest = deadline + ANSWER_MARGIN_MS;
  for (;;) {
    const write = finishMessage(ctx.db, id, finish).then(
      () => 'written' as const,
      (err: unknown) => ({ err }),
    );
    // A write already under way may take until the deadline (Postgres slow, not gone).
    const result = await withinMs(write, latest - Date.now(), 'late' as const);
    if (result === 'written') return true;
    if (result === 'late') {
      ctx.log.warn({ messageId: id }, 'recording the outcome is slow; answered without it');
      return false;
    }
    ctx.log.error({ messageId: id, err: result.err }, 'could not record the outcome');
    if (Date.now() + RETRY_MS >= Math.min(until, latest)) return false;
    await sleep(RETRY_MS);
  }
}

/** Keeps trying after the answer; the sweeper marks the row unknown if this never succeeds. */
export function finishLater(ctx: PushContext, id: string, finish: Finish): void {
  void (async () => {
    for (let attempt = 1; attempt <= BACKGROUND.attempts; attempt++) {
      await sleep(BACKGROUND.everyMs);
      try {
        await finishMessage(ctx.db, id, finish);
        ctx.log.info({ messageId: id, attempt }, 'recorded the outcome after a database outage');
        return;
      } catch {
        // Still down.
      }
    }
    ctx.log.error({ messageId: id }, 'gave up recording the outcome; the message will show as of unknown outcome');
  })();
}
