import { describe, expect, it } from 'vitest';
import { withinMs } from '../../src/deadline.js';

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('withinMs', () => {
  it('answers the work when it settles first, and leaves no timer behind', async () => {
    const before = timers();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => withinMs(Promise.resolve(i), 60_000, 'late' as const)));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('answers the late value when the work has not settled in time', async () => {
    const never = new Promise<string>(() => undefined);
    expect(await withinMs(never, 20, 'late' as const)).toBe('late');
  });

  it('passes a failure of the work on', async () => {
    await expect(withinMs(Promise.reject(new Error('down')), 60_000, false)).rejects.toThrow('down');
  });

  it('treats a limit already past as no wait at all', async () => {
    expect(await withinMs(new Promise<number>(() => undefined), -500, 'late' as const)).toBe('late');
  });
});
