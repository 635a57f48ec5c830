import iconv from 'iconv-lite';
import { FormatError } from '../errors.js';

// Bytes → text. The charset comes from the Content-Type, else from the XML declaration (possibly
// HTML-escaped), else UTF-8. GBK and GB2312 are decoded as GB18030, their superset, so a sender
// that labels GBK text "gb2312" (common) still decodes correctly. Every step is linear in the body;
// the declaration is looked for in the first 512 bytes only.

const DECLARED_ENCODING = /(?:<|&lt;)\?xml[^>]*?encoding\s*=\s*(?:"|'|&quot;|&#34;)([A-Za-z0-9_.:-]+)/i;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function charsetOfContentType(contentType: string | undefined): string | null {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return match?.[1]?.toLowerCase() ?? null;
}

export function declaredEncoding(head: string): string | null {
  return DECLARED_ENCODING.exec(head)?.[1]?.toLowerCase() ?? null;
}

export function decodeBytes(bytes: Buffer, headerCharset: string | null): string {
  const charset = headerCharset ?? declaredEncoding(bytes.subarray(0, 512).toString('latin1'));
  if (charset === null) return decodeUndeclared(bytes);
  const normalized = normalize(charset);
  if (normalized === 'utf8') return decodeLabelledUtf8(bytes);
  if (!iconv.encodingExists(normalized)) throw new FormatError('UNKNOWN_CHARSET', `不支持的字符集 ${charset}`);
  return stripBom(iconv.decode(bytes, normalized));
}

/** Nothing declared: UTF-8 when the bytes are valid UTF-8, else the GB family that Chinese HIS systems send unlabelled. */
function decodeUndeclared(bytes: Buffer): string {
  return strictUtf8OrNull(bytes) ?? iconv.decode(bytes, 'gb18030');
}

/**
 * Labelled UTF-8 but not UTF-8: most often a HIS that sends GBK under a UTF-8 label. Read it as
 * GB18030 when every byte decodes; anything else would be delivered as mojibake, so refuse it.
 */
function decodeLabelledUtf8(bytes: Buffer): string {
  const utf8 = strictUtf8OrNull(bytes);
  if (utf8 !== null) return utf8;
  const gb = iconv.decode(bytes, 'gb18030');
  if (!gb.includes('\uFFFD')) return stripBom(gb);
  throw new FormatError('UNDECODABLE', `内容不是有效的UTF-8编码（第${invalidUtf8Offset(bytes) + 1}字节起，也不是GBK编码）`);
}

function strictUtf8OrNull(bytes: Buffer): string | null {
  try {
    return stripBom(strictUtf8.decode(bytes));
  } catch {
    return null;
  }
}

/** Byte offset of the first byte that is not valid UTF-8, for bytes known to hold one. */
function invalidUtf8Offset(bytes: Buffer): number {
  const text = bytes.toString('utf8'); // each invalid sequence becomes one U+FFFD
  let offset = 0;
  let from = 0;
  for (let at = text.indexOf('\uFFFD'); at !== -1; at = text.indexOf('\uFFFD', from)) {
    offset += Buffer.byteLength(text.slice(from, at));
    // A U+FFFD that was sent as such (EF BF BD) is valid; keep looking past it.
    if (bytes[offset] !== 0xef || bytes[offset + 1] !== 0xbf || bytes[offset + 2] !== 0xbd) return offset;
    offset += 3;
    from = at + 1;
  }
  return offset;
}

function normalize(charset: string): string {
  const c = charset.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (c === 'utf8') return 'utf8';
  if (c === 'gbk' || c === 'gb2312' || c === 'gb18030' || c === 'cp936' || c === 'euccn' || c === 'xgbk') return 'gb18030';
  return charset;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
