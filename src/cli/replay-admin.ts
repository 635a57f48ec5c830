import { request } from 'undici';
import type { FixtureEmployee } from './fixture-file.js';

// The few admin API calls a replay makes (CONTRACT §6): ask whether the bridge is in sandbox mode,
// and create and remove its test bindings. The bearer token goes in the header only, never into
// a message.

export class AdminApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

export interface Whoami {
  actor: string;
  sandbox: boolean;
}

export interface AdminApi {
  whoami(): Promise<Whoami>;
  /** How many employees match `q` (employee number, name or part of the openid). */
  count(q: string): Promise<number>;
  put(employee: FixtureEmployee): Promise<void>;
  /** An employee already gone counts as removed. */
  remove(employeeNo: string): Promise<void>;
}

interface Answer {
  status: number;
  json: unknown;
}

export function adminApi(base: URL, token: string, timeoutMs: number): AdminApi {
  // Relative paths keep a prefix the admin API may be mounted under behind a reverse proxy.
  const root = new URL(base.href.endsWith('/') ? base.href : `${base.href}/`);
  const call = async (method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<Answer> => {
    const url = new URL(path, root);
    const what = `${method} ${url.pathname}`;
    let res;
    try {
      res = await request(url, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new AdminApiError(`${what}: ${networkErrorText(err)}`, null);
    }
    const text = await res.body.text();
    if (res.statusCode >= 400) throw new AdminApiError(`${what}: HTTP ${res.statusCode} ${errorOf(text)}`, res.statusCode);
    return { status: res.statusCode, json: parseJson(text) };
  };
  const employee = (no: string): string => `admin/api/employees/${encodeURIComponent(no)}`;
  return {
    whoami: async () => {
      const { json } = await call('GET', 'admin/api/whoami');
      const answer = json as Partial<Whoami> | null;
      if (typeof answer?.sandbox !== 'boolean') throw new AdminApiError('GET /admin/api/whoami: the answer has no "sandbox"; is --admin-url a bridge?', null);
      return { actor: String(answer.actor ?? ''), sandbox: answer.sandbox };
    },
    count: async (q) => {
      const { json } = await call('GET', `admin/api/employees?q=${encodeURIComponent(q)}&limit=1`);
      const total = (json as { total?: unknown } | null)?.total;
      if (typeof total !== 'number') throw new AdminApiError('GET /admin/api/employees: the answer has no "total"', null);
      return total;
    },
    put: async (e) => {
      await call('PUT', employee(e.employeeNo), { openid: e.openid, name: e.name, active: e.active });
    },
    remove: async (no) => {
      try {
        await call('DELETE', employee(no));
      } catch (err) {
        if (!(err instanceof AdminApiError && err.status === 404)) throw err;
      }
    },
  };
}

/**
 * Binds each in turn and records it in `bound` as soon as it exists, so an interrupted or failed
 * run still knows what to remove. Stops early, without error, once `signal` is aborted.
 */
export async function bindAll(api: AdminApi, bindings: FixtureEmployee[], bound: string[], signal: AbortSignal): Promise<void> {
  for (const binding of bindings) {
    if (signal.aborted) return;
    bound.push(binding.employeeNo); // before the call: a PUT cut short may still have been written
    await api.put(binding);
  }
}

/** Removes every one it can; answers those it could not, with why. */
export async function unbindAll(api: AdminApi, employeeNos: string[]): Promise<Array<{ employeeNo: string; error: string }>> {
  const left: Array<{ employeeNo: string; error: string }> = [];
  for (const employeeNo of employeeNos) {
    try {
      await api.remove(employeeNo);
    } catch (err) {
      left.push({ employeeNo, error: (err as Error).message });
    }
  }
  return left;
}

export function networkErrorText(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError') return 'timed out';
  return oneLine([e.code, e.message].filter(Boolean).join(' ') || String(err));
}

function errorOf(text: string): string {
  const error = (parseJson(text) as { error?: unknown } | null)?.error;
  return oneLine(typeof error === 'string' ? error : text.slice(0, 200));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

export const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();
