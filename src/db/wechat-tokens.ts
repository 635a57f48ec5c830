import { EntitySchema } from 'typeorm';
import type { StoredToken, WechatTokenRow } from '../types.js';
import type { Database } from './data-source.js';

// The WeChat access token every replica shares (contract §5): every statement on `wechat_tokens`.
// One row per account and token API. Fetching happens under a transaction-scoped advisory lock, so
// two replicas never fetch at the same moment (wechat/token.ts decides when).

export const WechatTokenSchema = new EntitySchema<WechatTokenRow>({
  name: 'WechatToken',
  tableName: 'wechat_tokens',
  columns: {
    appId: { name: 'app_id', type: 'text', primary: true },
    api: { type: 'text', primary: true },
    accessToken: { name: 'access_token', type: 'text' },
    expiresAt: { name: 'expires_at', type: 'timestamptz' },
    fetchedAt: { name: 'fetched_at', type: 'timestamptz' },
    fetchedBy: { name: 'fetched_by', type: 'text' },
    fetchCount: { name: 'fetch_count', type: 'bigint' },
  },
});

export interface TokenKey {
  appId: string;
  api: 'stable' | 'classic';
}

export async function readToken(db: Database, key: TokenKey): Promise<StoredToken | null> {
  const row = await db.dataSource.getRepository(WechatTokenSchema).findOneBy({ appId: key.appId, api: key.api });
  return row ? toStored(row) : null;
}

/** Drops `failed` only if it is still the stored token: a neighbour may already have replaced it. */
export async function deleteTokenIfCurrent(db: Database, key: TokenKey, failed: string): Promise<void> {
  await db.dataSource.getRepository(WechatTokenSchema).delete({ appId: key.appId, api: key.api, accessToken: failed });
}

/**
 * Under the account's advisory lock: `decide` sees the stored token (as it is once the lock is
 * held) and either keeps it or returns a fetched one, which is stored. Waiting replicas then find
 * the fresh token instead of fetching (and, with the classic API, invalidating) another.
 */
export async function replaceTokenUnderLock(
  db: Database,
  key: TokenKey,
  fetchedBy: string,
  decide: (current: StoredToken | null) => Promise<{ keep: StoredToken } | { fetched: { accessToken: string; expiresIn: number } }>,
): Promise<StoredToken> {
  return db.transaction(async (tx) => {
    await tx.query(`SET LOCAL lock_timeout = '10s'`);
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`wechat-token:${key.appId}:${key.api}`]);
    const [current] = await tx.query<RawToken>('SELECT access_token, expires_at, fetched_at FROM wechat_tokens WHERE app_id = $1 AND api = $2', [key.appId, key.api]);
    const decision = await decide(current ? fromRaw(current) : null);
    if ('keep' in decision) return decision.keep;
    const [stored] = await tx.query<RawToken>(
      `INSERT INTO wechat_tokens (app_id, api, access_token, expires_at, fetched_at, fetched_by)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4), now(), $5)
       ON CONFLICT (app_id, api) DO UPDATE SET
         access_token = EXCLUDED.access_token, expires_at = EXCLUDED.expires_at, fetched_at = EXCLUDED.fetched_at,
         fetched_by = EXCLUDED.fetched_by, fetch_count = wechat_tokens.fetch_count + 1
       RETURNING access_token, expires_at, fetched_at`,
      [key.appId, key.api, decision.fetched.accessToken, decision.fetched.expiresIn, fetchedBy],
    );
    return fromRaw(stored!);
  });
}

/** What administrators may see of the shared token: its age, never its value. */
export async function tokenStatus(db: Database): Promise<{ api: string; fetchedAt: string; expiresAt: string; fetchCount: number } | null> {
  const [row] = await db.dataSource.getRepository(WechatTokenSchema).find({ order: { fetchedAt: 'DESC' }, take: 1 });
  return row ? { api: row.api, fetchedAt: row.fetchedAt.toISOString(), expiresAt: row.expiresAt.toISOString(), fetchCount: Number(row.fetchCount) } : null;
}

interface RawToken {
  access_token: string;
  expires_at: Date;
  fetched_at: Date;
}

function fromRaw(row: RawToken): StoredToken {
  return { accessToken: row.access_token, expiresAt: new Date(row.expires_at), fetchedAt: new Date(row.fetched_at) };
}

function toStored(row: WechatTokenRow): StoredToken {
  return { accessToken: row.accessToken, expiresAt: new Date(row.expiresAt), fetchedAt: new Date(row.fetchedAt) };
}
