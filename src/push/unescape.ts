import { decodeEntities } from './xml.js';

// Integration platforms send the approval XML HTML-escaped, sometimes twice (`&amp;lt;`), and some
// escape only part of it. Peel one layer at a time while the text does not start with `<`; stop as
// soon as a layer changes nothing, so plain text that is not XML is left for the parser to refuse.
// Each layer is decoded as `he.decode` decodes it (decodeEntities: the common references directly,
// anything else by `he`).

export const MAX_ESCAPING_LAYERS = 8;

export function unescapePayload(payload: string): string {
  let text = trimPayload(payload);
  for (let layer = 0; layer < MAX_ESCAPING_LAYERS && !text.startsWith('<') && text.includes('&'); layer++) {
    const decoded = trimPayload(decodeEntities(text));
    if (decoded === text) break;
    text = decoded;
  }
  return text;
}

function trimPayload(text: string): string {
  const trimmed = text.trim();
  return trimmed.charCodeAt(0) === 0xfeff ? trimmed.slice(1).trim() : trimmed;
}
