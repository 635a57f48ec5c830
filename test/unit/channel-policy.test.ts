import { describe, expect, it } from 'vitest';
import { chooseChannel, liveDeliverer, outsideWindow } from '../../src/push/channel-policy.js';
import type { Channel, Delivery, Notice } from '../../src/push/deliver.js';
import type { ChannelName } from '../../src/types.js';

// The one policy function of contract §10, and the deliverer that follows it.

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const hoursAgo = (h: number): Date => new Date(NOW - h * 3600_000);

describe('chooseChannel', () => {
  it.each([
    [0.1, { first: 'custom', fallback: 'template' }],
    [46.9, { first: 'custom', fallback: 'template' }],
    [47.01, { first: 'template', fallback: null }],
    [200, { first: 'template', fallback: null }],
  ])('auto, last interaction %s hours ago → %o', (hours, choice) => {
    expect(chooseChannel('auto', hoursAgo(hours), NOW)).toEqual(choice);
  });

  it('auto: never interacted (or not seen by the callback) → the template', () => {
    expect(chooseChannel('auto', null, NOW)).toEqual({ first: 'template', fallback: null });
  });

  it('custom and template ignore the window', () => {
    for (const last of [null, hoursAgo(1), hoursAgo(100)]) {
      expect(chooseChannel('custom', last, NOW)).toEqual({ first: 'custom', fallback: null });
      expect(chooseChannel('template', last, NOW)).toEqual({ first: 'template', fallback: null });
    }
  });
});

describe('outsideWindow', () => {
  it.each([
    [45015, true],
    [45047, true],
    [43004, false],
    [40003, false],
    [-1, false],
  ])('errcode %s → %s', (errcode, expected) => {
    expect(outsideWindow({ outcome: { code: 'WECHAT_REJECTED', errcode, errmsg: '' }, attempts: [], accepted: [] })).toBe(expected);
  });

  it('is false for anything but a rejection', () => {
    expect(outsideWindow({ outcome: { code: 'DELIVERED' }, attempts: [], accepted: [] })).toBe(false);
    expect(outsideWindow({ outcome: { code: 'WECHAT_UNREACHABLE', detail: 'timeout', maybeDelivered: true }, attempts: [], accepted: [] })).toBe(false);
  });
});

/** A channel that answers what it is told and remembers what it was asked (pure: no I/O to fake). */
function scripted(name: ChannelName, answer: Delivery): Channel & { calls: Array<ReadonlySet<number>> } {
  const calls: Array<ReadonlySet<number>> = [];
  return {
    name,
    calls,
    send: async (_openid, _notice, _deadline, accepted) => {
      calls.push(accepted);
      return answer;
    },
  };
}

const notice = (lastInteractionAt: Date | null): Notice => ({
  guid: 'g-1',
  approval: {} as Notice['approval'],
  parts: ['a', 'b'],
  lastInteractionAt,
});

describe('liveDeliverer', () => {
  it('falls back to the template after 45047, keeping the parts the text channel got through', async () => {
    const custom = scripted('custom', { outcome: { code: 'WECHAT_REJECTED', errcode: 45047, errmsg: 'out of count' }, attempts: [{ at: 't1', channel: 'custom', part: 2, ms: 1, errcode: 45047 }], accepted: [1] });
    const template = scripted('template', { outcome: { code: 'DELIVERED' }, attempts: [{ at: 't2', channel: 'template', part: 0, ms: 1, errcode: 0, msgid: '1' }], accepted: [] });
    const delivered = await liveDeliverer('auto', { custom, template }, () => NOW).deliver('o', notice(hoursAgo(1)), NOW + 10_000, new Set());
    expect(delivered.outcome).toEqual({ code: 'DELIVERED' });
    expect(delivered.attempts.map((a) => a.channel)).toEqual(['custom', 'template']);
    expect(delivered.accepted).toEqual([1]);
    expect(template.calls).toHaveLength(1);
  });

  it('does not fall back on a timeout (the text may have arrived)', async () => {
    const custom = scripted('custom', { outcome: { code: 'WECHAT_UNREACHABLE', detail: 'timeout', maybeDelivered: true }, attempts: [], accepted: [] });
    const template = scripted('template', { outcome: { code: 'DELIVERED' }, attempts: [], accepted: [] });
    const delivered = await liveDeliverer('auto', { custom, template }, () => NOW).deliver('o', notice(hoursAgo(1)), NOW + 10_000, new Set());
    expect(delivered.outcome.code).toBe('WECHAT_UNREACHABLE');
    expect(template.calls).toHaveLength(0);
  });

  it('passes the parts already accepted to the text channel only', async () => {
    const custom = scripted('custom', { outcome: { code: 'DELIVERED' }, attempts: [], accepted: [1, 2] });
    const template = scripted('template', { outcome: { code: 'DELIVERED' }, attempts: [], accepted: [] });
    await liveDeliverer('auto', { custom, template }, () => NOW).deliver('o', notice(hoursAgo(1)), NOW + 10_000, new Set([1]));
    expect([...custom.calls[0]!]).toEqual([1]);
  });
});
