// The one way to /admin/api. It owns the two rules every call shares: a 401 means the token is no
// longer good (rotated on the server, or the wrong one typed), and errors arrive as
// `{"error": "field: message"}` which the views show as they are.
import { currentToken, signOut } from './session.js';

export const SESSION_EXPIRED = '登录已失效或管理令牌已更换，请重新登录。';

export class ApiError extends Error {
  constructor(status, message, retryAfter = null) {
    super(message);
    this.status = status;
    /** Seconds from a 429's Retry-After header (null when absent or unreadable). */
    this.retryAfter = retryAfter;
  }
}

export const isStatus = (err, status) => err instanceof ApiError && err.status === status;
export const isAbort = (err) => Boolean(err) && err.name === 'AbortError';

/**
 * `query` drops empty values so the server applies its own defaults. `login` is for the whoami
 * checks of the sign-in itself, where a 401 is an answer rather than an expired session. `raw`
 * hands back the Response of a successful call (downloads). `signal` aborts; the AbortError is
 * passed through untouched so that callers can tell "superseded" from "failed".
 */
export async function api(method, path, options = {}) {
  const { query, json, body, contentType, raw, login, signal } = options;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== '' && value !== null && value !== undefined) params.set(key, String(value));
  }
  const qs = params.toString();
  const headers = { Authorization: `Bearer ${options.token || currentToken() || ''}`, Accept: raw ? '*/*' : 'application/json' };
  let payload;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  } else if (body !== undefined) {
    headers['Content-Type'] = contentType;
    payload = body;
  }
  let res;
  try {
    res = await fetch(`/admin/api${path}${qs ? `?${qs}` : ''}`, { method, headers, body: payload, signal, cache: 'no-store', credentials: 'omit' });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(0, `无法连接到桥接服务（${err && err.message ? err.message : err}）`);
  }
  if (res.status === 401 && !login) {
    signOut(SESSION_EXPIRED);
    throw new ApiError(401, '未授权');
  }
  if (raw && res.ok) return res;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const message = data && typeof data.error === 'string' ? data.error : `HTTP ${res.status}${text && !data ? `：${text.slice(0, 200)}` : ''}`;
    throw new ApiError(res.status, message, res.status === 429 ? retryAfterSeconds(res.headers.get('Retry-After')) : null);
  }
  return data;
}

export const get = (path, options) => api('GET', path, options);

/** Retry-After as seconds: a number of seconds or an HTTP date; null when neither. */
function retryAfterSeconds(header) {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** A wait the way staff say it: 45 秒, 4 分 30 秒, 1 小时 5 分. */
export function waitText(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} 秒`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} 分 ${s % 60} 秒` : `${m} 分钟`;
  return `${Math.floor(m / 60)} 小时${m % 60 ? ` ${m % 60} 分` : ''}`;
}

/** The field an error names (`openid: …` → `openid`), to mark that input. */
export const errorField = (err) => (err instanceof ApiError ? err.message.split(':')[0] : '');

export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return err.message;
    // An older bridge without this endpoint answers its generic 404.
    if (err.status === 404 && /no such admin endpoint/.test(err.message)) return '服务端尚未提供此接口（请升级桥接服务）';
    if (err.status === 429) return err.retryAfter !== null && err.retryAfter !== undefined ? `验证失败次数过多，请 ${waitText(err.retryAfter)}后再试` : '验证失败次数过多，请稍后再试';
    if (err.status === 503) return `数据库暂不可用，请稍后重试（${err.message}）`;
    return `服务器返回 ${err.status}：${err.message}`;
  }
  return String(err && err.message ? err.message : err);
}
