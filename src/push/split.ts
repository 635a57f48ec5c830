// WeChat publishes no text limit; SDKs split at 2048 UTF-8 bytes (reference notes). Pack whole
// blocks greedily, so parts break between list items; a block too big for one part breaks between
// its lines, and only a single line longer than the limit is cut inside (at a character boundary).
// A push may not become more than `maxParts` messages (a 1 MB opinion would be 500): the last part
// kept then ends with a line saying the rest is in the ERP.

export const MAX_PART_BYTES = 2048;
export const DEFAULT_MAX_PARTS = 5;
export const SHORTENED_NOTICE = '……（内容过长，未发送的其余内容请在ERP系统中查看）';

export interface TextParts {
  parts: string[];
  /** How many parts the whole text needs (more than `parts.length` when shortened). */
  total: number;
  shortened: boolean;
}

export function composeParts(blocks: string[], maxParts = DEFAULT_MAX_PARTS, maxBytes = MAX_PART_BYTES): TextParts {
  const { parts, total } = packParts(blocks, maxBytes, maxParts + 1);
  if (parts.length <= maxParts) return { parts, total, shortened: false };
  const kept = parts.slice(0, maxParts);
  kept[maxParts - 1] = `${fitting(kept[maxParts - 1]!, maxBytes - byteLength(`\n${SHORTENED_NOTICE}`))}\n${SHORTENED_NOTICE}`;
  return { parts: kept, total, shortened: true };
}

/** Every part of the whole text (no cap): the contract's split. */
export function splitIntoParts(blocks: string[], maxBytes = MAX_PART_BYTES): string[] {
  return packParts(blocks, maxBytes, Number.POSITIVE_INFINITY).parts;
}

/**
 * Packs units into parts, keeping at most `keep` parts but counting them all. Counting is by
 * bytes only, so a huge text costs one linear pass and no strings beyond the parts kept.
 */
function packParts(blocks: string[], maxBytes: number, keep: number): { parts: string[]; total: number } {
  const parts: string[] = [];
  let total = 0;
  let current: string[] = [];
  let currentBytes = -1; // bytes of current joined with '\n'; -1: empty
  const flush = (): void => {
    if (currentBytes < 0) return;
    total++;
    if (parts.length < keep) parts.push(current.join('\n'));
    current = [];
    currentBytes = -1;
  };
  for (const block of blocks) {
    for (const unit of unitsOf(block, maxBytes, () => parts.length < keep)) {
      if (currentBytes >= 0 && currentBytes + 1 + unit.bytes <= maxBytes) {
        current.push(unit.text);
        currentBytes += 1 + unit.bytes;
      } else {
        flush();
        current = [unit.text];
        currentBytes = unit.bytes;
      }
    }
  }
  flush();
  return { parts, total };
}

interface Unit {
  text: string;
  bytes: number;
}

/** A block whole, or its lines, or a line's pieces; text is materialised only while parts are kept. */
function* unitsOf(block: string, maxBytes: number, wanted: () => boolean): Generator<Unit> {
  const blockBytes = byteLength(block);
  if (blockBytes <= maxBytes) {
    yield { text: block, bytes: blockBytes };
    return;
  }
  for (const line of block.split('\n')) {
    const lineBytes = byteLength(line);
    if (lineBytes <= maxBytes) yield { text: line, bytes: lineBytes };
    else yield* cutLine(line, maxBytes, wanted);
  }
}

function* cutLine(line: string, maxBytes: number, wanted: () => boolean): Generator<Unit> {
  let start = 0;
  let pieceBytes = 0;
  for (let i = 0; i < line.length; ) {
    const cp = line.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    const b = utf8Bytes(cp);
    if (pieceBytes + b > maxBytes) {
      yield { text: wanted() ? line.slice(start, i) : '', bytes: pieceBytes };
      start = i;
      pieceBytes = 0;
    }
    pieceBytes += b;
    i += width;
  }
  if (pieceBytes > 0) yield { text: wanted() ? line.slice(start) : '', bytes: pieceBytes };
}

/** The longest start of `text` within `room` bytes: whole lines when any fit, else a cut line. */
function fitting(text: string, room: number): string {
  const lines = text.split('\n');
  let used = -1;
  let n = 0;
  while (n < lines.length && used + 1 + byteLength(lines[n]!) <= room) used += 1 + byteLength(lines[n++]!);
  if (n > 0) return lines.slice(0, n).join('\n');
  let cut = '';
  let bytes = 0;
  for (const ch of lines[0]!) {
    const b = utf8Bytes(ch.codePointAt(0)!);
    if (bytes + b > room) break;
    cut += ch;
    bytes += b;
  }
  return cut;
}

export function byteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3; // BMP, or a lone surrogate (written as U+FFFD, 3 bytes)
  }
  return bytes;
}

function utf8Bytes(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}
