import type { NextFunction, Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { MAX_FAILURES, MAX_TRACKED_ADDRESSES, requireAdmin, SignInLimiter, WINDOW_MS } from '../../src/admin/auth.js';

// The admin sign-in check and its limiter (src/admin/auth.ts), with an injected clock and a Map
// that counts what is done to it, so cost is asserted as work done, not as time.

const TOKEN = 'good-token-0123456789';

/** Every get/set/delete/has and every entry an iteration visits. */
class CountingMap<K, V> extends Map<K, V> {
  operations = 0;
  maxSize = 0;
  override get(key: K): V | undefined {
    this.operations++;
    return super.get(key);
  }
  override set(key: K, value: V): this {
    this.operations++;
    super.set(key, value);
    this.maxSize = Math.max(this.maxSize, this.size);
    return this;
  }
  override delete(key: K): boolean {
    this.operations++;
    return super.delete(key);
  }
  override has(key: K): boolean {
    this.operations++;
    return super.has(key);
  }
  override *keys(): MapIterator<K> {
    for (const key of super.keys()) {
      this.operations++;
      yield key;
    }
  }
  override *entries(): MapIterator<[K, V]> {
    for (const entry of super.entries()) {
      this.operations++;
      yield entry;
    }
  }
  override *values(): MapIterator<V> {
    for (const value of super.values()) {
      this.operations++;
      yield value;
    }
  }
  override [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
  override forEach(callback: (value: V, key: K, map: Map<K, V>) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }
}

function harness() {
  let clock = 1_000_000;
  const windows = new CountingMap<string, { start: number; failures: number }>();
  const limiter = new SignInLimiter({ now: () => clock, windows });
  const check = requireAdmin([{ actor: 'ops', token: TOKEN }], { limiter });
  const call = (ip: string, token: string | null) => {
    const out = { status: 200, headers: {} as Record<string, string>, actor: undefined as unknown, passed: false };
    const req = { ip, get: (name: string) => (name.toLowerCase() === 'authorization' && token !== null ? `Bearer ${token}` : undefined) } as unknown as Request;
    const res = {
      locals: {} as Record<string, unknown>,
      status(code: number) {
        out.status = code;
        return this;
      },
      set(name: string, value: string) {
        out.headers[name] = value;
        return this;
      },
      json() {
        return this;
      },
    };
    check(req, res as unknown as Response, (() => {
      out.passed = true;
      out.actor = res.locals.actor;
    }) as NextFunction);
    return out;
  };
  return { call, windows, limiter, advance: (ms: number) => (clock += ms) };
}

const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

describe('sign-in limiter', () => {
  it('with 20,000 addresses failing, memory stays at the cap and each request costs a constant amount of work', () => {
    const { call, windows, limiter } = harness();
    let worst = 0;
    for (let i = 0; i < 20_000; i++) {
      const before = windows.operations;
      expect(call(address(i), 'wrong').status).toBe(401);
      worst = Math.max(worst, windows.operations - before);
      expect(limiter.size).toBeLessThanOrEqual(MAX_TRACKED_ADDRESSES);
    }
    expect(windows.maxSize).toBeLessThanOrEqual(MAX_TRACKED_ADDRESSES + 1);
    expect(limiter.size).toBe(MAX_TRACKED_ADDRESSES);
    expect(worst).toBeLessThanOrEqual(8);

    const before = windows.operations;
    const valid = call('192.168.1.1', TOKEN);
    expect(valid).toMatchObject({ passed: true, actor: 'ops' });
    expect(windows.operations - before).toBe(0);
  });

  it('forgets the least recently failing address first', () => {
    const { call, limiter } = harness();
    for (let i = 0; i < MAX_FAILURES; i++) call('203.0.113.7', 'wrong');
    expect(call('203.0.113.7', 'wrong').status).toBe(429);
    for (let i = 0; i < MAX_TRACKED_ADDRESSES; i++) call(address(i), 'wrong');
    expect(limiter.size).toBe(MAX_TRACKED_ADDRESSES);
    expect(call('203.0.113.7', 'wrong').status).toBe(401);
  });

  it('refuses an address after MAX_FAILURES failures for the rest of its window, with Retry-After', () => {
    const { call, advance } = harness();
    for (let i = 0; i < MAX_FAILURES; i++) expect(call('203.0.113.9', 'wrong').status).toBe(401);
    advance(60_000);
    const refused = call('203.0.113.9', 'wrong');
    expect(refused.status).toBe(429);
    expect(refused.headers['Retry-After']).toBe(String((WINDOW_MS - 60_000) / 1000));
    expect(call('203.0.113.9', null).status).toBe(429);
    expect(call('198.51.100.1', 'wrong').status).toBe(401);
    advance(WINDOW_MS - 60_000);
    expect(call('203.0.113.9', 'wrong').status).toBe(401);
  });

  it('accepts a valid token from an address it is refusing (contract §11)', () => {
    const { call } = harness();
    for (let i = 0; i < MAX_FAILURES; i++) call('203.0.113.10', 'wrong');
    expect(call('203.0.113.10', 'wrong').status).toBe(429);
    expect(call('203.0.113.10', TOKEN)).toMatchObject({ status: 200, passed: true, actor: 'ops' });
    expect(call('203.0.113.10', 'wrong').status).toBe(429);
  });
});
