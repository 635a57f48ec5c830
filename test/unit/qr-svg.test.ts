import fc from 'fast-check';
import { XMLValidator } from 'fast-xml-parser';
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { QUIET_ZONE, qrSvg } from '../../src/binding/qr-svg.js';

// The invitation's QR code (contract §9) is drawn by the bridge: the SVG must show exactly the
// modules the `qrcode` package encodes (error correction M), and need nothing from the internet.

const WECHAT_URL = 'http://weixin.qq.com/q/02cPbUhfQa9Ne10000w07l';

interface Drawn {
  side: number;
  /** Dark modules as "row,col" of the symbol (quiet zone removed). */
  dark: Set<string>;
}

/** Reads the SVG back: its viewBox and the dark modules of its path, refusing any other drawing command. */
function readSvg(svg: string): Drawn {
  const viewBox = /viewBox="0 0 (\d+) (\d+)"/.exec(svg);
  if (viewBox === null || viewBox[1] !== viewBox[2]) throw new Error('no square viewBox');
  const paths = [...svg.matchAll(/<path\b[^>]*\bd="([^"]*)"/g)];
  if (paths.length !== 1) throw new Error(`expected one path, found ${paths.length}`);
  const d = paths[0]![1]!;
  const run = /M(\d+) (\d+)h(\d+)v1h-(\d+)z/y;
  const dark = new Set<string>();
  let at = 0;
  while (at < d.length) {
    run.lastIndex = at;
    const m = run.exec(d);
    if (m === null) throw new Error(`unexpected path data at ${at}: ${d.slice(at, at + 30)}`);
    const [x, y, w, back] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
    if (w !== back || w < 1) throw new Error(`a run that does not close: ${m[0]}`);
    for (let col = x; col < x + w; col++) {
      const key = `${y - QUIET_ZONE},${col - QUIET_ZONE}`;
      if (dark.has(key)) throw new Error(`module ${key} drawn twice`);
      dark.add(key);
    }
    at = run.lastIndex;
  }
  return { side: Number(viewBox[1]), dark };
}

/** The dark modules the qrcode package encodes for `content` at level M. */
function expected(content: string): { size: number; dark: Set<string> } {
  const { modules } = QRCode.create(content, { errorCorrectionLevel: 'M' });
  const dark = new Set<string>();
  for (let row = 0; row < modules.size; row++) for (let col = 0; col < modules.size; col++) if (modules.data[row * modules.size + col]) dark.add(`${row},${col}`);
  return { size: modules.size, dark };
}

async function checkMatches(content: string): Promise<void> {
  const drawn = readSvg(await qrSvg(content));
  const want = expected(content);
  expect(drawn.side).toBe(want.size + 2 * QUIET_ZONE);
  expect([...drawn.dark].sort()).toEqual([...want.dark].sort());
}

describe('qrSvg', () => {
  it('draws exactly the dark modules of the QR code (level M) for a WeChat ticket URL', async () => {
    await checkMatches(WECHAT_URL);
    // The finder patterns are where they must be: the top-left corner module is dark, the one inside the ring light.
    const { dark } = readSvg(await qrSvg(WECHAT_URL));
    expect(dark.has('0,0')).toBe(true);
    expect(dark.has('1,1')).toBe(false);
    expect(dark.has('2,2')).toBe(true);
  });

  it('uses error correction M: the symbol differs from what level L or H would draw', async () => {
    const m = readSvg(await qrSvg(WECHAT_URL)).dark;
    for (const level of ['L', 'H'] as const) {
      const { modules } = QRCode.create(WECHAT_URL, { errorCorrectionLevel: level });
      const other = new Set<string>();
      for (let i = 0; i < modules.data.length; i++) if (modules.data[i]) other.add(`${Math.floor(i / modules.size)},${i % modules.size}`);
      expect([...other].sort()).not.toEqual([...m].sort());
    }
  });

  it.each([
    ['a short code', 'ABCD2345'],
    ['Chinese text (byte mode)', '绑定 ABCD2345 审批通知'],
    ['a long URL', `https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=${'gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xLzAyX0dfY'.repeat(3)}`],
    ['characters that would break markup if echoed', '"><script>alert(1)</script>&amp;'],
  ])('matches the qrcode package for %s', async (_what, content) => {
    await checkMatches(content);
  });

  it('matches the qrcode package for any content', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 120 }), async (content) => {
        await checkMatches(content);
      }),
      { numRuns: 40 },
    );
  });

  it('is one self-contained, well-formed SVG: no external reference, no script, no content echoed', async () => {
    const content = '"><image href="http://evil.example/x.png"/><script>1</script>';
    const svg = await qrSvg(content);
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" ')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    const withoutXmlns = svg.replace('xmlns="http://www.w3.org/2000/svg"', '');
    expect(withoutXmlns).not.toMatch(/https?:|href|url\(|<script|<image|<use|<foreignObject|@import|xlink/i);
    expect(svg).not.toContain('evil');
    // Only the drawing: the svg, its white background and one path of dark modules.
    expect([...svg.matchAll(/<(\w+)/g)].map((m) => m[1])).toEqual(['svg', 'rect', 'path']);
  });

  it('scales without blur: a viewBox in modules, crisp edges, a white quiet zone of four modules', async () => {
    const svg = await qrSvg(WECHAT_URL);
    const { size } = expected(WECHAT_URL);
    const side = size + 2 * QUIET_ZONE;
    expect(QUIET_ZONE).toBe(4);
    expect(svg).toContain(`viewBox="0 0 ${side} ${side}"`);
    expect(svg).toContain('shape-rendering="crispEdges"');
    expect(svg).toContain(`<rect width="${side}" height="${side}" fill="#fff"/>`);
    expect(svg).not.toMatch(/<svg[^>]*\b(width|height)=/);
    const { dark } = readSvg(svg);
    // Nothing is drawn in the quiet zone.
    for (const key of dark) {
      const [row, col] = key.split(',').map(Number) as [number, number];
      expect(row >= 0 && row < size && col >= 0 && col < size, key).toBe(true);
    }
  });

  it('draws the same SVG for the same content', async () => {
    expect(await qrSvg(WECHAT_URL)).toBe(await qrSvg(WECHAT_URL));
  });
});
