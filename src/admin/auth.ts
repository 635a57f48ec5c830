import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { AdminCredential } from '../config.js';

// Bearer tokens compared in constant time (over digests, so length differences leak nothing).
// The matching token's name is who acted, for the audit trail. Repeated failures from one address
// are slowed down: after MAX_FAILURES within the window, that address gets 429 until it passes.

const MAX_FAILURES = 10;
const WINDOW_MS = 5 * 60_000;

export function requireAdmin(credentials: AdminCredential[], now: () => number = Date.now) {
  const digests = credentials.map((c) => ({ actor: c.actor, digest: digest(c.token) }));
  const failures = new FailureLog(now);
  return (req: Request, res: Response, next: NextFunction): void => {
    const ip = req.ip ?? 'unknown';
    const retryAfter = failures.blockedFor(ip);
    if (retryAfter > 0) {
      res.status(429).set('Retry-After', String(Math.ceil(retryAfter / 1000))).json({ error: 'authorization: too many failed sign-ins from this address; try again later' });
      return;
    }
    const match = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
    const presented = match ? digest(match[1]!.trim()) : null;
    let actor: string | null = null;
    for (const candidate of digests) {
      if (presented && timingSafeEqual(presented, candidate.digest) && actor === null) actor = candidate.actor;
    }
    if (actor === null) {
      failures.record(ip);
      res.status(401).set('WWW-Authenticate', 'Bearer realm="admin"').json({ error: 'authorization: a valid Bearer token is required' });
      return;
    }
    res.locals.actor = actor;
    next();
  };
}

/** Failed attempts per address within a sliding window; in memory, so per process. */
class FailureLog {
  private readonly byIp = new Map<string, number[]>();

  constructor(private readonly now: () => number) {}

  record(ip: string): void {
    const recent = this.recent(ip);
    recent.push(this.now());
    this.byIp.set(ip, recent);
    if (this.byIp.size > 10_000) this.prune();
  }

  /** Milliseconds until this address may try again; 0 when it may now. */
  blockedFor(ip: string): number {
    const recent = this.recent(ip);
    if (recent.length < MAX_FAILURES) return 0;
    return recent[recent.length - MAX_FAILURES]! + WINDOW_MS - this.now();
  }

  private recent(ip: string): number[] {
    const since = this.now() - WINDOW_MS;
    return (this.byIp.get(ip) ?? []).filter((t) => t > since);
  }

  private prune(): void {
    for (const ip of [...this.byIp.keys()]) if (this.recent(ip).length === 0) this.byIp.delete(ip);
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
