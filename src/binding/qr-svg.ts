import QRCode from 'qrcode';

// The invitation's QR code drawn by the bridge (contract §9): WeChat's own image host
// (showqrcode?ticket=…) needs the internet, which an admin workstation or a ward printer may not
// have. The `qrcode` package encodes; the drawing is ours, so it is one small, self-contained SVG:
// no external reference (the xmlns is a name, never fetched), a viewBox in modules so it scales
// to any print size, crisp edges so a scaled module never blurs into its neighbour.

/** ISO/IEC 18004 asks for four modules of light margin around the symbol. */
export const QUIET_ZONE = 4;

/**
 * Error correction M (15 %): the level WeChat's own codes use; H would make the short invitation
 * URL denser without helping a clean printed slip.
 */
export async function qrSvg(content: string): Promise<string> {
  const { modules } = QRCode.create(content, { errorCorrectionLevel: 'M' });
  const side = modules.size + 2 * QUIET_ZONE;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${side} ${side}" shape-rendering="crispEdges" role="img" aria-label="QR code">` +
    `<rect width="${side}" height="${side}" fill="#fff"/>` +
    `<path fill="#000" d="${darkRuns(modules.size, (row, col) => modules.get(row, col) !== 0)}"/>` +
    `</svg>`
  );
}

/** One rectangle per horizontal run of dark modules: a short path, and no seams inside a run. */
function darkRuns(size: number, dark: (row: number, col: number) => boolean): string {
  const commands: string[] = [];
  for (let row = 0; row < size; row++) {
    let col = 0;
    while (col < size) {
      if (!dark(row, col)) {
        col++;
        continue;
      }
      const start = col;
      while (col < size && dark(row, col)) col++;
      commands.push(`M${start + QUIET_ZONE} ${row + QUIET_ZONE}h${col - start}v1h-${col - start}z`);
    }
  }
  return commands.join('');
}
