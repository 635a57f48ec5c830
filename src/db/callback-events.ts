import { EntitySchema } from 'typeorm';
import type { CallbackEventRow } from '../types.js';
import type { Database } from './data-source.js';

// WeChat retries a callback it got no answer to (three times within about 15 s): every statement on
// `callback_events`. The first delivery is acted on; the retries get its reply and do nothing.

export const CallbackEventSchema = new EntitySchema<CallbackEventRow>({
  name: 'CallbackEvent',
  tableName: 'callback_events',
  columns: {
    dedupeKey: { name: 'dedupe_key', type: 'text', primary: true },
    receivedAt: { name: 'received_at', type: 'timestamptz' },
    answered: { type: 'boolean' },
    reply: { type: 'text', nullable: true },
  },
});

/** Keys are kept this long: far beyond WeChat's retries, short enough to stay small. */
const KEEP_DAYS = 7;

/** 'first' when this delivery is to be acted on; else what the first one answered (null: nothing; 'pending': not yet). */
export async function firstDelivery(db: Database, key: string): Promise<'first' | { reply: string | null | 'pending' }> {
  const [inserted] = await db.query(`INSERT INTO callback_events (dedupe_key) VALUES ($1) ON CONFLICT DO NOTHING RETURNING dedupe_key`, [key]);
  if (inserted) return 'first';
  return { reply: await replyOf(db, key) };
}

/** The reply the first delivery answered; 'pending' while it is still being acted on. */
export async function replyOf(db: Database, key: string): Promise<string | null | 'pending'> {
  const row = await db.dataSource.getRepository(CallbackEventSchema).findOneBy({ dedupeKey: key });
  if (!row) return null;
  return row.answered ? row.reply : 'pending';
}

/** A first delivery that could not be acted on: the next retry is the first again. */
export async function forgetDelivery(db: Database, key: string): Promise<void> {
  await db.query(`DELETE FROM callback_events WHERE dedupe_key = $1 AND NOT answered`, [key]);
}

export async function recordReply(db: Database, key: string, reply: string | null): Promise<void> {
  await db.dataSource.getRepository(CallbackEventSchema).update({ dedupeKey: key }, { answered: true, reply });
}

export async function pruneCallbackEvents(db: Database): Promise<number> {
  const rows = await db.query(`DELETE FROM callback_events WHERE received_at < now() - make_interval(days => $1) RETURNING dedupe_key`, [KEEP_DAYS]);
  return rows.length;
}
