import { digestOf, sameSecret, type SecretDigest } from '../secret.js';
import type { NextFunction, Request, Response } from 'express';
import type { AdminCredential } from '../config.js';

// Bearer tokens compared in constant time (over digests, so length differences leak nothing).
// The matching token's name is who acted, for the audit trail. Repeated failures from one address
// are slowed down: after MAX_FAILURES within its window, that address gets 429 until the window
// ends. A valid token is accepted even then (contract §11), so bad sign-ins from an address that
// administrators share (a hospital NAT) cannot lock them out. The price: a refused address still
// learns whether a token is right (200) or wrong (429), so the limit alone does not stop guessing:
// tokens must be too long to guess (generated ones are 192 bits; config.ts accepts 8 characters).

export const MAX_FAILURES = 10;
export const WINDOW_MS = 5 * 60_000;
/** Addresses remembered at once; past this, the one least recently failing is forgotten. */
export const MAX_TRACKED_ADDRESSES = 10_000;

export interface AdminAuthOptions {
  now?: () => number;
  limiter?: SignInLimiter;
}

export function requireAdmin(credentials: AdminCredential[], options: AdminAuthOptions = {}) {
  const digests = credentials.map((c) => ({ actor: c.actor, digest: digestOf(c.token) }));
  const limiter = options.limiter ?? new SignInLimiter({ now: options.now });
  return (req: Request, res: Response, next: NextFunction): void => {
    const actor = actorOf(req.get('authorization'), digests);
    if (actor !== null) {
      res.locals.actor = actor;
      next();
      return;
    }
    const ip = req.ip ?? 'unknown';
    const retryAfter = limiter.blockedFor(ip);
    if (retryAfter > 0) {
      res.status(429).set('Retry-After', String(Math.ceil(retryAfter / 1000))).json({ error: 'authorization: too many failed sign-ins from this address; try again later' });
      return;
    }
    limiter.recordFailure(ip);
    res.status(401).set('WWW-Authenticate', 'Bearer realm="admin"').json({ error: 'authorization: a valid Bearer token is required' });
  };
}

function actorOf(header: string | undefined, digests: Array<{ actor: string; digest: SecretDigest }>): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return null;
  const presented = match[1]!.trim();
  let actor: string | null = null;
  // Every candidate is compared, whichever matches, so the time taken does not tell which one did.
  for (const candidate of digests) {
    if (sameSecret(presented, candidate.digest) && actor === null) actor = candidate.actor;
  }
  return actor;
}

interface FailureWindow {
  /** When the address's first failure of this window happened. */
  start: number;
  failures: number;
}

export interface SignInLimiterOptions {
  now?: (() => number) | undefined;
  cap?: number;
  /** The store, injectable so tests can count what each call does to it. */
  windows?: Map<string, FailureWindow>;
}

/**
 * Failed sign-ins per address in a fixed window that opens at the address's first failure; in
 * memory, so per process. Every call costs a constant number of Map operations, and the Map holds
 * at most `cap` addresses: it doubles as an LRU list (re-inserting an address moves it to the end),
 * so the oldest is evicted first. Someone cycling through more than `cap` addresses can make one
 * forgotten early, which costs them `cap` addresses for each extra MAX_FAILURES tries.
 */
export class SignInLimiter {
  private readonly now: () => number;
  private readonly cap: number;
  private readonly windows: Map<string, FailureWindow>;

  constructor(options: SignInLimiterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.cap = options.cap ?? MAX_TRACKED_ADDRESSES;
    this.windows = options.windows ?? new Map();
  }

  get size(): number {
    return this.windows.size;
  }

  /** Milliseconds until this address may try again; 0 when it may now. */
  blockedFor(ip: string): number {
    const window = this.current(ip);
    if (!window || window.failures < MAX_FAILURES) return 0;
    return window.start + WINDOW_MS - this.now();
  }

  recordFailure(ip: string): void {
    const window = this.current(ip) ?? { start: this.now(), failures: 0 };
    window.failures++;
    this.windows.delete(ip);
    this.windows.set(ip, window);
    if (this.windows.size > this.cap) this.windows.delete(this.windows.keys().next().value!);
  }

  /** The address's open window; an expired one is dropped. */
  private current(ip: string): FailureWindow | undefined {
    const window = this.windows.get(ip);
    if (window && this.now() - window.start >= WINDOW_MS) {
      this.windows.delete(ip);
      return undefined;
    }
    return window;
  }
}

