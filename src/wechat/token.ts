import type { LiveWechatConfig } from '../config.js';
import type { Database } from '../db/data-source.js';
import { deleteTokenIfCurrent, readToken, replaceTokenUnderLock, type TokenKey } from '../db/wechat-tokens.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { StoredToken } from '../types.js';
import type { CallResult, WechatApi } from './api.js';

// The access token is shared by every replica through Postgres (contract §5; db/wechat-tokens.ts).
// Each process keeps a copy in memory; a fetch from WeChat happens under the account's advisory
// lock, and the row is re-read once the lock is held, so a replica that waited uses its
// neighbour's token instead of fetching (and, with the classic API, invalidating) another one.

/** Refresh this long before expiry, in the background while the current token still serves. */
const REFRESH_BEFORE_MS = 5 * 60_000;
/** Never use a token closer to expiry than this. */
const USABLE_UNTIL_MS = 30_000;
/** WeChat's stable_token keeps returning the same token near expiry; don't ask again more often than this. */
const MIN_REFETCH_INTERVAL_MS = 30_000;

/** errcodes that mean WeChat refused the access token itself (contract §5): drop it if current, get another, retry once. */
export const TOKEN_ERRCODES: ReadonlySet<number> = new Set([40001, 40014, 42001]);

export class TokenError extends Error {
  constructor(
    readonly result: CallResult,
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

export class TokenProvider {
  private cached: StoredToken | null = null;
  private loading: Promise<StoredToken> | null = null;
  private readonly key: TokenKey;

  constructor(
    private readonly db: Database,
    private readonly api: WechatApi,
    private readonly config: LiveWechatConfig,
    private readonly instanceId: string,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.key = { appId: config.appId, api: config.tokenApi };
  }

  /** A token valid for at least the next 30 s; fetches one only when no replica has one. */
  async get(): Promise<string> {
    const now = Date.now();
    const cached = this.cached;
    if (cached && isUsable(cached, now)) {
      if (isRefreshDue(cached, now)) this.refreshInBackground(cached);
      return cached.accessToken;
    }
    return (await this.singleFlight(() => this.load(null))).accessToken;
  }

  /**
   * WeChat rejected `failed` (40001/40014/42001): drop it only if it is still the stored token, so
   * a replica holding a stale copy cannot discard the fresh token a neighbour just fetched.
   */
  async invalidate(failed: string): Promise<void> {
    if (this.cached?.accessToken === failed) this.cached = null;
    await deleteTokenIfCurrent(this.db, this.key, failed);
  }

  /** After `invalidate`: a token other than `failed`, forcing WeChat to issue one if it hands the same back. */
  async getReplacing(failed: string): Promise<string> {
    return (await this.singleFlight(() => this.load(failed))).accessToken;
  }

  private singleFlight(work: () => Promise<StoredToken>): Promise<StoredToken> {
    this.loading ??= work().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private refreshInBackground(current: StoredToken): void {
    if (this.loading) return;
    this.singleFlight(() => this.load(null, current)).catch((err: unknown) => {
      this.log.warn({ err }, 'background access token refresh failed; the current token still serves');
    });
  }

  private async load(failed: string | null, refreshing: StoredToken | null = null): Promise<StoredToken> {
    const stored = await this.read();
    if (stored && stored.accessToken !== failed && isUsable(stored, Date.now()) && !(refreshing && sameToken(stored, refreshing) && isRefreshDue(stored, Date.now()))) {
      this.cached = stored;
      return stored;
    }
    const token = await replaceTokenUnderLock(this.db, this.key, this.instanceId, async (current) => {
      const now = Date.now();
      if (current && current.accessToken !== failed && isUsable(current, now) && !isRefreshDue(current, now)) return { keep: current };
      return { fetched: await this.fetch(failed) };
    });
    this.cached = token;
    return token;
  }

  private read(): Promise<StoredToken | null> {
    return readToken(this.db, this.key);
  }

  /** One token call to WeChat, with a second, forced call if WeChat hands back the token it just rejected. */
  private async fetch(failed: string | null): Promise<{ accessToken: string; expiresIn: number }> {
    const first = await this.call(false);
    if (failed === null || first.accessToken !== failed || this.config.tokenApi !== 'stable') return first;
    this.log.warn('WeChat returned the rejected access token again; forcing a new one');
    return this.call(true);
  }

  private async call(forceRefresh: boolean): Promise<{ accessToken: string; expiresIn: number }> {
    const { appId, secret, timeoutMs, tokenApi } = this.config;
    this.metrics.tokenFetches.inc({ api: tokenApi });
    const result =
      tokenApi === 'stable'
        ? await this.api.post('/cgi-bin/stable_token', {}, { grant_type: 'client_credential', appid: appId, secret, force_refresh: forceRefresh }, timeoutMs)
        : await this.api.get('/cgi-bin/token', { grant_type: 'client_credential', appid: appId, secret }, timeoutMs);
    if (result.kind !== 'answered') throw new TokenError(result, `获取access_token失败：${result.error}`);
    const json = result.json;
    if (result.httpStatus >= 500 || json === null) throw new TokenError(result, `获取access_token失败：HTTP ${result.httpStatus}`);
    if (typeof json.access_token !== 'string' || json.access_token === '') {
      throw new TokenError(result, `获取access_token失败(${json.errcode ?? '?'}): ${json.errmsg ?? ''}`);
    }
    const expiresIn = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 7200;
    this.log.info({ api: tokenApi, expiresIn, forceRefresh, instance: this.instanceId }, 'fetched a WeChat access token');
    return { accessToken: json.access_token, expiresIn };
  }
}

function isUsable(token: StoredToken, now: number): boolean {
  return token.expiresAt.getTime() - now > USABLE_UNTIL_MS;
}

function isRefreshDue(token: StoredToken, now: number): boolean {
  return token.expiresAt.getTime() - now < REFRESH_BEFORE_MS && now - token.fetchedAt.getTime() > MIN_REFETCH_INTERVAL_MS;
}

function sameToken(a: StoredToken, b: StoredToken): boolean {
  return a.accessToken === b.accessToken;
}
