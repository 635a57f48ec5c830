import { EntitySchema, In } from 'typeorm';
import type { WechatUserRow } from '../types.js';
import type { Database } from './data-source.js';

// What we know of each openid from the account's callback: every statement on `wechat_users`. The
// last interaction opens the 48-hour customer-service window; failed binding codes are counted
// here for the brute-force limit.

export const WechatUserSchema = new EntitySchema<WechatUserRow>({
  name: 'WechatUser',
  tableName: 'wechat_users',
  columns: {
    openid: { type: 'text', primary: true },
    lastInteractionAt: { name: 'last_interaction_at', type: 'timestamptz', nullable: true },
    following: { type: 'boolean' },
    failedBinds: { name: 'failed_binds', type: 'integer' },
    failedBindsSince: { name: 'failed_binds_since', type: 'timestamptz', nullable: true },
    updatedAt: { name: 'updated_at', type: 'timestamptz' },
  },
});

/** Failed codes allowed per openid within the window before codes are no longer checked (§9). */
export const BIND_FAILURES = { max: 5, windowSeconds: 3600 };

/** For a statement that looked an openid up: when it last interacted, as a scalar subquery. */
export function lastInteractionSql(openidExpr: string): string {
  return `(SELECT w.last_interaction_at FROM wechat_users w WHERE w.openid = ${openidExpr})`;
}

export async function recordInteraction(db: Database, openid: string, at: Date): Promise<void> {
  await db.query(
    `INSERT INTO wechat_users (openid, last_interaction_at) VALUES ($1, $2)
     ON CONFLICT (openid) DO UPDATE SET last_interaction_at = GREATEST(wechat_users.last_interaction_at, EXCLUDED.last_interaction_at), updated_at = now()`,
    [openid, at],
  );
}

export async function setFollowing(db: Database, openid: string, following: boolean): Promise<void> {
  await db.query(
    `INSERT INTO wechat_users (openid, following) VALUES ($1, $2)
     ON CONFLICT (openid) DO UPDATE SET following = EXCLUDED.following, updated_at = now()`,
    [openid, following],
  );
}

/** Whether this openid has used up its failed codes for now. */
export async function bindingBlocked(db: Database, openid: string): Promise<boolean> {
  const [row] = await db.query<{ blocked: boolean }>(
    `SELECT failed_binds >= $2 AND failed_binds_since > now() - make_interval(secs => $3) AS blocked FROM wechat_users WHERE openid = $1`,
    [openid, BIND_FAILURES.max, BIND_FAILURES.windowSeconds],
  );
  return row?.blocked ?? false;
}

/** Counts a failed code; the count starts over once the window has passed. */
export async function countFailedBind(db: Database, openid: string): Promise<void> {
  await db.query(
    `INSERT INTO wechat_users (openid, failed_binds, failed_binds_since) VALUES ($1, 1, now())
     ON CONFLICT (openid) DO UPDATE SET
       failed_binds = CASE WHEN wechat_users.failed_binds_since > now() - make_interval(secs => $2) THEN wechat_users.failed_binds + 1 ELSE 1 END,
       failed_binds_since = CASE WHEN wechat_users.failed_binds_since > now() - make_interval(secs => $2) THEN wechat_users.failed_binds_since ELSE now() END,
       updated_at = now()`,
    [openid, BIND_FAILURES.windowSeconds],
  );
}

export async function lastInteractions(db: Database, openids: string[]): Promise<Map<string, Date>> {
  if (openids.length === 0) return new Map();
  const rows = await db.dataSource.getRepository(WechatUserSchema).findBy({ openid: In(openids) });
  return new Map(rows.filter((r) => r.lastInteractionAt !== null).map((r) => [r.openid, r.lastInteractionAt!]));
}
