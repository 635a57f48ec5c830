import { describe, expect, it } from 'vitest';
import { readPayload } from '../../src/push/approval.js';
import { formatText, textBlocks } from '../../src/push/format.js';
import { MAX_PART_BYTES, splitIntoParts } from '../../src/push/split.js';
import type { Approval } from '../../src/types.js';
import { sample } from '../support/samples.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

function approvalWith(items: number, projectName = (i: number) => `临床试验项目${i} 多中心随机双盲对照研究`): Approval {
  return {
    guid: 'G',
    senderId: '',
    receiverId: '',
    employeeNo: '10086',
    operator: '20011',
    billType: '劳务费报销',
    billNum: 'BX1',
    approvalDate: '2026-11-22 10:15:00',
    approvalOpinion: '同意',
    items: Array.from({ length: items }, (_, i) => ({ pi: `3${String(i).padStart(4, '0')}`, cardNum: `62220212345678${String(i).padStart(5, '0')}`, projectName: projectName(i) })),
  };
}

describe('formatText', () => {
  it('produces exactly the contract sample text', () => {
    const read = readPayload(sample('approval.xml'));
    if (!read.ok) throw read.error;
    expect(formatText(read.approval)).toBe(sample('expected-text.txt').replace(/\n$/, ''));
  });

  it('prints missing fields as empty values, never null or undefined', () => {
    const text = formatText({ ...approvalWith(1), operator: '', items: [{ pi: '', cardNum: '', projectName: '' }] });
    expect(text).toContain('经办人工号：\n');
    expect(text.endsWith('卡号：')).toBe(true);
    expect(text).not.toMatch(/null|undefined|\[object/);
  });

  it('has no trailing newline and one block per list item', () => {
    const approval = approvalWith(3);
    expect(formatText(approval).endsWith('\n')).toBe(false);
    expect(textBlocks(approval)).toHaveLength(4);
  });
});

describe('splitIntoParts', () => {
  it('keeps a short text in one part', () => {
    const blocks = textBlocks(approvalWith(2));
    expect(splitIntoParts(blocks)).toEqual([formatText(approvalWith(2))]);
  });

  it('splits a long text between list items, each part ≤ 2048 bytes, parts joined equal to the whole', () => {
    const approval = approvalWith(40);
    const parts = splitIntoParts(textBlocks(approval));
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(bytes(part)).toBeLessThanOrEqual(MAX_PART_BYTES);
      // every part after the first starts at a list item
    }
    for (const part of parts.slice(1)) expect(part.startsWith('项目名称：')).toBe(true);
    expect(parts.join('\n')).toBe(formatText(approval));
  });

  it('fills parts greedily: no part could have taken the next block', () => {
    const blocks = textBlocks(approvalWith(60));
    const parts = splitIntoParts(blocks);
    for (let i = 0; i < parts.length - 1; i++) {
      const nextFirstBlock = parts[i + 1]!.split('\n').slice(0, 3).join('\n');
      expect(bytes(parts[i]!) + 1 + bytes(nextFirstBlock)).toBeGreaterThan(MAX_PART_BYTES);
    }
  });

  it('splits an oversized block at line boundaries', () => {
    const approval = { ...approvalWith(1), approvalOpinion: '同意。'.repeat(200), billType: '差旅费'.repeat(150) };
    const parts = splitIntoParts(textBlocks(approval));
    expect(parts.join('\n')).toBe(formatText(approval));
    for (const part of parts) expect(bytes(part)).toBeLessThanOrEqual(MAX_PART_BYTES);
  });

  it('cuts a single line longer than the limit at character boundaries', () => {
    const line = '审'.repeat(1000) + '😀'.repeat(10);
    const parts = splitIntoParts([line]);
    expect(parts.length).toBe(2);
    expect(parts.join('')).toBe(line);
    for (const part of parts) expect(bytes(part)).toBeLessThanOrEqual(MAX_PART_BYTES);
  });

  it('respects exactly the byte limit at the boundary', () => {
    const a = 'a'.repeat(1000);
    const b = 'b'.repeat(1047);
    expect(splitIntoParts([a, b])).toEqual([`${a}\n${b}`]);
    expect(splitIntoParts([a, `${b}b`])).toEqual([a, `${b}b`]);
  });
});
