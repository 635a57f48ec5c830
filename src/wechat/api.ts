import { Pool } from 'undici';
import type { WechatConfig } from '../config.js';
import type { Metrics } from '../metrics.js';

// The WeChat HTTP API over one keep-alive undici pool with explicit timeouts. This layer only
// moves bytes and says what happened; what to do about it (retry, refresh, give up) is the
// caller's decision. Nothing here logs, and no error text carries the URL (it holds the token).

export type CallResult =
  /** `text`: the body as sent, for values JSON.parse would round (a template msgid can exceed 2^53). */
  | { kind: 'answered'; httpStatus: number; json: WechatJson | null; text: string; ms: number }
  /** Failed before the request could reach WeChat: safe to retry. */
  | { kind: 'not-sent'; error: string; ms: number }
  /** Timed out or lost after the request may have reached WeChat: never retry a send. */
  | { kind: 'maybe-sent'; error: string; ms: number };

export interface WechatJson {
  errcode?: number;
  errmsg?: string;
  access_token?: string;
  expires_in?: number;
  [key: string]: unknown;
}

const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The WeChat connection pool's settings (the bench's relay builds its pool with them too). */
export function wechatPoolOptions(maxConnections: number, timeoutMs: number): Pool.Options {
  return { connections: maxConnections, pipelining: 1, keepAliveTimeout: 4000, keepAliveMaxTimeout: 30000, connect: { timeout: Math.min(timeoutMs, 3000) } };
}

export class WechatApi {
  private readonly pool: Pool;
  private readonly prefix: string;

  constructor(
    private readonly config: WechatConfig,
    private readonly metrics: Metrics,
  ) {
    const base = new URL(config.apiBase);
    this.prefix = base.pathname.replace(/\/+$/, '');
    this.pool = new Pool(base.origin, wechatPoolOptions(config.maxConnections, config.timeoutMs));
  }

  async post(path: string, query: Record<string, string>, body: unknown, timeoutMs: number): Promise<CallResult> {
    return this.call('POST', path, query, JSON.stringify(body), timeoutMs);
  }

  async get(path: string, query: Record<string, string>, timeoutMs: number): Promise<CallResult> {
    return this.call('GET', path, query, undefined, timeoutMs);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async call(method: 'GET' | 'POST', path: string, query: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<CallResult> {
    const started = performance.now();
    const ms = (): number => Math.round(performance.now() - started);
    // The whole call's limit, cleared when it ends: AbortSignal.timeout would keep a timer and its
    // signal alive for timeoutMs after every call (thousands at a few hundred pushes a second).
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new DOMException(`call exceeded ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    try {
      const res = await this.pool.request({
        method,
        path: `${this.prefix}${path}?${new URLSearchParams(query).toString()}`,
        headers: body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' },
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: abort.signal,
      });
      const text = await res.body.text();
      return this.observed(path, { kind: 'answered', httpStatus: res.statusCode, json: parseJson(text), text, ms: ms() });
    } catch (err) {
      const code = errorCode(err);
      const error = describe(err, code, timeoutMs);
      return this.observed(path, NOT_SENT_CODES.has(code) ? { kind: 'not-sent', error, ms: ms() } : { kind: 'maybe-sent', error, ms: ms() });
    } finally {
      clearTimeout(timer);
    }
  }

  private observed(path: string, result: CallResult): CallResult {
    const api = path.slice(path.lastIndexOf('/') + 1);
    this.metrics.wechatSeconds.observe({ api }, result.ms / 1000);
    this.metrics.wechatCalls.inc({ api, result: resultLabel(result) });
    return result;
  }
}

function resultLabel(result: CallResult): string {
  if (result.kind === 'not-sent') return 'not_sent';
  if (result.kind === 'maybe-sent') return 'timeout_or_lost';
  if (result.httpStatus >= 500) return 'http_5xx';
  const errcode = result.json?.errcode;
  return typeof errcode === 'number' ? String(errcode) : result.json?.access_token ? 'token' : 'unrecognised';
}

function parseJson(text: string): WechatJson | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as WechatJson) : null;
  } catch {
    return null;
  }
}

function errorCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const { code, name, cause } = err as { code?: unknown; name?: unknown; cause?: unknown };
  if (typeof code === 'string') return code;
  if (cause) return errorCode(cause);
  return typeof name === 'string' ? name : '';
}

function describe(err: unknown, code: string, timeoutMs: number): string {
  if (code === 'TimeoutError' || code === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return `请求超时（${timeoutMs}ms）`;
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return '连接超时';
  if (code === 'ECONNREFUSED') return '连接被拒绝';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return '域名解析失败';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return '连接被中断';
  return code || (err instanceof Error ? err.message.slice(0, 80) : '未知网络错误');
}
