import he from 'he';

// Entity references in XML text and attribute values, decoded as `he` decodes them.
// `he` decodes every HTML reference, with a regex of all 2,000-odd entity names and a callback per
// reference. Escaped payloads hold thousands of references, nearly all of them &lt; &gt; &quot;
// &amp; &apos; or plain numeric ones: those are decoded here, exactly as `he` decodes them; a text
// with any other reference goes to `he` whole.

/** Text content: XML, HTML named and numeric references decoded as `he.decode` does. */
export function decodeEntities(text: string): string {
  const amp = text.indexOf('&');
  if (amp === -1) return text;
  return decodeCommon(text, amp) ?? he.decode(text);
}

/** An attribute value: as `he.decode(value, { isAttributeValue: true })`. */
export function decodeAttributeValue(text: string): string {
  const amp = text.indexOf('&');
  if (amp === -1) return text;
  return decodeCommon(text, amp) ?? he.decode(text, { isAttributeValue: true });
}

/** The text decoded when every reference in it is a common one (each with its `;`), else null. */
function decodeCommon(text: string, firstAmp: number): string | null {
  let out = '';
  let from = 0;
  for (let amp = firstAmp; amp !== -1; amp = text.indexOf('&', from)) {
    const c1 = text.charCodeAt(amp + 1);
    let decoded: string;
    let end: number;
    if (c1 === 0x6c /* l */ && text.charCodeAt(amp + 2) === 0x74 && text.charCodeAt(amp + 3) === 0x3b) {
      decoded = '<';
      end = amp + 4;
    } else if (c1 === 0x67 /* g */ && text.charCodeAt(amp + 2) === 0x74 && text.charCodeAt(amp + 3) === 0x3b) {
      decoded = '>';
      end = amp + 4;
    } else if (c1 === 0x61 /* a */ && text.startsWith('mp;', amp + 2)) {
      decoded = '&';
      end = amp + 5;
    } else if (c1 === 0x71 /* q */ && text.startsWith('uot;', amp + 2)) {
      decoded = '"';
      end = amp + 6;
    } else if (c1 === 0x61 /* a */ && text.startsWith('pos;', amp + 2)) {
      decoded = "'";
      end = amp + 6;
    } else if (c1 === 0x23 /* # */) {
      end = numericReferenceEnd(text, amp + 2);
      if (end === -1) return null;
      decoded = String.fromCodePoint(referencedCodePoint);
    } else {
      return null;
    }
    out += text.slice(from, amp) + decoded;
    from = end;
  }
  return out + text.slice(from);
}

/** Set by numericReferenceEnd. */
let referencedCodePoint = 0;

/**
 * From just after `&#`: where a numeric reference with its `;` ends, its code point in
 * referencedCodePoint; -1 when `he` would decode it otherwise than as that code point (no `;`,
 * no digits, NUL, C1 controls it maps as Windows-1252, surrogates, past U+10FFFF).
 */
function numericReferenceEnd(text: string, from: number): number {
  const hex = text.charCodeAt(from) === 0x78 || text.charCodeAt(from) === 0x58;
  const radix = hex ? 16 : 10;
  const first = hex ? from + 1 : from;
  let cp = 0;
  let i = first;
  for (let digit = digitAt(text, i, radix); digit !== -1; digit = digitAt(text, ++i, radix)) {
    cp = cp * radix + digit;
    if (cp > 0x10ffff) return -1;
  }
  if (i === first || text.charCodeAt(i) !== 0x3b) return -1;
  if (cp === 0 || (cp >= 0x80 && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  referencedCodePoint = cp;
  return i + 1;
}

export function digitAt(xml: string, at: number, radix: number): number {
  const c = xml.charCodeAt(at);
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return radix === 16 && lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}
