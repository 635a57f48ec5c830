import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { decodeBytes } from '../../src/push/charset.js';
import { readPush } from '../../src/push/read.js';
import { approvalXml, request } from '../support/samples.js';

const TEXT = '<a>同意报销：劳务费（第二期）</a>';
const GBK = iconv.encode(TEXT, 'gbk');
/** Not UTF-8 (0xFF never is) and not GBK either (0xFF is no GBK lead byte). */
const NEITHER = Buffer.concat([Buffer.from('<a>ok'), Buffer.from([0xff, 0xfe]), Buffer.from('</a>')]);

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof FormatError) return err.message;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('decodeBytes with a UTF-8 label on bytes that are not UTF-8', () => {
  it('reads GBK bytes as GB18030 when every byte decodes (a HIS sending GBK labelled UTF-8)', () => {
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(GBK)).toThrow();
    expect(decodeBytes(GBK, 'utf-8')).toBe(TEXT);
    expect(decodeBytes(GBK, 'UTF8')).toBe(TEXT);
  });

  it('takes a UTF-8 XML declaration as the label, as it does a Content-Type charset', () => {
    const declared = Buffer.concat([Buffer.from('<?xml version="1.0" encoding="UTF-8"?>'), GBK]);
    expect(decodeBytes(declared, null)).toBe(`<?xml version="1.0" encoding="UTF-8"?>${TEXT}`);
  });

  it('refuses bytes that are neither, naming UTF-8 and where the first bad byte is', () => {
    expect(refusal(() => decodeBytes(NEITHER, 'utf-8'))).toBe('消息格式错误：内容不是有效的UTF-8编码（第6字节起，也不是GBK编码）');
  });

  it('counts a U+FFFD that was sent as valid UTF-8 before the first bad byte', () => {
    const body = Buffer.concat([Buffer.from('<a>\uFFFD'), Buffer.from([0xff]), Buffer.from('</a>')]);
    expect(refusal(() => decodeBytes(body, 'utf-8'))).toContain('第7字节起');
  });

  it('still reads valid UTF-8 (with or without a byte order mark) as UTF-8', () => {
    expect(decodeBytes(Buffer.from(TEXT), 'utf-8')).toBe(TEXT);
    expect(decodeBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TEXT)]), 'utf-8')).toBe(TEXT);
  });
});

describe('decodeBytes without a label', () => {
  it('keeps its rule: UTF-8 when valid, else GB18030 whatever comes out', () => {
    expect(decodeBytes(Buffer.from(TEXT), null)).toBe(TEXT);
    expect(decodeBytes(GBK, null)).toBe(TEXT);
    expect(decodeBytes(NEITHER, null)).toContain('\uFFFD');
  });
});

describe('a push labelled UTF-8 carrying GBK', () => {
  const xml = approvalXml('G-GBK-AS-UTF8', request('10086', '同意报销'));

  it('is read with its Chinese text intact, not as mojibake', () => {
    const read = readPush(iconv.encode(xml, 'gbk'), 'text/xml; charset=utf-8');
    expect(read.ok && read.approval.approvalOpinion).toBe('同意报销');
  });

  it('is refused as a format error when it is not GBK either', () => {
    const read = readPush(Buffer.concat([iconv.encode(xml, 'gbk'), Buffer.from([0xff])]), 'text/xml; charset=utf-8');
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.refusal).toMatchObject({ code: 'MALFORMED', detail: expect.stringMatching(/^内容不是有效的UTF-8编码（/) });
  });
});
