import iconv from 'iconv-lite';
import { malformed } from '../outcomes.js';

// Bytes → text. The charset comes from the Content-Type, else from the XML declaration (possibly
// HTML-escaped), else UTF-8. GBK and GB2312 are decoded as GB18030, their superset, so a sender
// that labels GBK text "gb2312" (common) still decodes correctly.

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
  if (normalized === 'utf8') return stripBom(bytes.toString('utf8'));
  if (!iconv.encodingExists(normalized)) throw malformed(`不支持的字符集 ${charset}`);
  return stripBom(iconv.decode(bytes, normalized));
}

/** Nothing declared: UTF-8 when the bytes are valid UTF-8, else the GB family that Chinese HIS systems send unlabelled. */
function decodeUndeclared(bytes: Buffer): string {
  try {
    return stripBom(strictUtf8.decode(bytes));
  } catch {
    return iconv.decode(bytes, 'gb18030');
  }
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
