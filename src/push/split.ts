// WeChat publishes no text limit; SDKs split at 2048 UTF-8 bytes (reference notes). Pack whole
// blocks greedily, so parts break between list items; a block too big for one part breaks between
// its lines, and only a single line longer than the limit is cut inside (at a character boundary).

export const MAX_PART_BYTES = 2048;

export function splitIntoParts(blocks: string[], maxBytes = MAX_PART_BYTES): string[] {
  const units = blocks.flatMap((block) => (bytes(block) <= maxBytes ? [block] : splitBlock(block, maxBytes)));
  const parts: string[] = [];
  let current: string | null = null;
  for (const unit of units) {
    if (current !== null && bytes(current) + 1 + bytes(unit) <= maxBytes) {
      current = `${current}\n${unit}`;
    } else {
      if (current !== null) parts.push(current);
      current = unit;
    }
  }
  if (current !== null) parts.push(current);
  return parts;
}

function splitBlock(block: string, maxBytes: number): string[] {
  return block.split('\n').flatMap((line) => (bytes(line) <= maxBytes ? [line] : cutLine(line, maxBytes)));
}

function cutLine(line: string, maxBytes: number): string[] {
  const pieces: string[] = [];
  let piece = '';
  let pieceBytes = 0;
  for (const char of line) {
    const charBytes = bytes(char);
    if (pieceBytes + charBytes > maxBytes) {
      pieces.push(piece);
      piece = '';
      pieceBytes = 0;
    }
    piece += char;
    pieceBytes += charBytes;
  }
  if (piece !== '') pieces.push(piece);
  return pieces;
}

function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
