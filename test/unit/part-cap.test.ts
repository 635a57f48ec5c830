import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byteLength, composeParts, SHORTENED_NOTICE, splitIntoParts } from '../../src/push/split.js';

// The cap on messages per push (WECHAT_MAX_PARTS): pure, on text blocks.

const header = '审批消息\n\n申请人工号：10086';
const item = (i: number, name = '项目') => `项目名称：${name}${i}\n卡主工号：3000${i}\n卡号：622202123456789${i}`;

describe('composeParts', () => {
  it('keeps a text of at most maxParts parts whole, unmarked', () => {
    const blocks = [header, ...Array.from({ length: 60 }, (_, i) => item(i))];
    const all = splitIntoParts(blocks);
    expect(all.length).toBeGreaterThan(1);
    expect(composeParts(blocks, all.length)).toEqual({ parts: all, total: all.length, shortened: false });
  });

  it('keeps the first maxParts parts, the last ending with the notice within 2048 bytes, and counts all', () => {
    const blocks = [header, ...Array.from({ length: 400 }, (_, i) => item(i, '临床试验项目'.repeat(5)))];
    const all = splitIntoParts(blocks);
    const capped = composeParts(blocks, 3);
    expect(capped.total).toBe(all.length);
    expect(capped.shortened).toBe(true);
    expect(capped.parts.slice(0, 2)).toEqual(all.slice(0, 2));
    const last = capped.parts[2]!;
    expect(last.endsWith(`\n${SHORTENED_NOTICE}`)).toBe(true);
    expect(Buffer.byteLength(last)).toBeLessThanOrEqual(2048);
    // What precedes the notice is whole lines from the start of the third part.
    expect(all[2]!.startsWith(last.slice(0, -SHORTENED_NOTICE.length - 1))).toBe(true);
  });

  it('cuts a single huge line to make room for the notice', () => {
    const capped = composeParts([`审批意见：${'意'.repeat(100_000)}`], 1);
    expect(capped.parts).toHaveLength(1);
    expect(capped.parts[0]!.endsWith(SHORTENED_NOTICE)).toBe(true);
    expect(Buffer.byteLength(capped.parts[0]!)).toBeLessThanOrEqual(2048);
    expect(capped.total).toBe(Math.ceil(Buffer.byteLength(`审批意见：${'意'.repeat(100_000)}`) / 2046));
  });

  it('never exceeds maxParts or 2048 bytes a part, whatever the blocks (property)', () => {
    const block = fc.string({ unit: 'grapheme', maxLength: 3000 });
    fc.assert(
      fc.property(fc.array(block, { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 6 }), (blocks, max) => {
        const capped = composeParts(blocks, max);
        expect(capped.parts.length).toBeLessThanOrEqual(max);
        for (const part of capped.parts) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(2048);
        expect(capped.total).toBe(splitIntoParts(blocks).length);
        if (!capped.shortened) expect(capped.parts).toEqual(splitIntoParts(blocks));
      }),
      { numRuns: 300 },
    );
  });

  it('counts UTF-8 bytes as Buffer does, surrogate pairs and lone surrogates included (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 50 }), (text) => {
        expect(byteLength(text)).toBe(Buffer.byteLength(text, 'utf8'));
      }),
      { numRuns: 2000 },
    );
  });
});
