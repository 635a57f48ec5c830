import { XMLParser } from 'fast-xml-parser';
import he from 'he';
import { malformed } from '../errors.js';

// One parser configuration for every XML we read (the envelope and the payload inside it).
// - Entities are decoded by `he`, not by the parser, so HTML named entities (&nbsp; &ldquo;) and
//   numeric references work and nothing declared in a DTD is ever expanded.
// - Values are never converted to numbers: `000123` and 19-digit card numbers must stay exact.
// - Depth is capped so hostile nesting fails as a format error instead of exhausting the stack.
// - No path strings (`jPath: false`): the callbacks never read them, and the parser would build
//   one per element, attribute and value, each as long as the element is deep.

export type XmlNode = Record<string, unknown>;

export const MAX_XML_DEPTH = 256;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  cdataPropName: '#cdata',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_XML_DEPTH,
  jPath: false,
  tagValueProcessor: (_name, value) => decodeEntities(value),
  attributeValueProcessor: (_name, value) => he.decode(value, { isAttributeValue: true }),
});

export function decodeEntities(text: string): string {
  return text.includes('&') ? he.decode(text) : text;
}

// XML 1.0 §2.2 allows no C0 control character but tab, LF and CR, not even as a character
// reference; strict parsers (Xerces, .NET) at the ERP would refuse them if we echoed them back.
// eslint-disable-next-line no-control-regex
const ILLEGAL_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * Parses XML with exactly one root element; anything else is a format error. The well-formedness
 * check runs on every document, the SOAP envelope included: a lenient parse would take an envelope
 * cut off after its payload, or a payload element never closed, for a whole one.
 */
export function parseXml(xml: string, what: string): { rootName: string; root: XmlNode } {
  const screen = screenMarkup(xml);
  if (screen.declaresDtd) throw malformed(`${what}含有DOCTYPE或实体声明，已拒绝`);
  if (screen.forbiddenReference || ILLEGAL_CHAR.test(xml)) throw malformed(`${what}含有XML不允许的控制字符`);
  let doc: XmlNode;
  try {
    doc = parser.parse(xml, true) as XmlNode;
  } catch (err) {
    throw malformed(`${what}不是合法的XML（${firstLine(err)}）`);
  }
  const names = Object.keys(doc).filter((k) => !k.startsWith('?') && !k.startsWith('#'));
  const rootName = names[0];
  if (names.length !== 1 || rootName === undefined) throw malformed(`${what}不是合法的XML`);
  const root = doc[rootName];
  return { rootName, root: isNode(root) ? root : { '#text': typeof root === 'string' ? root : '' } };
}

// ---- one linear pass over the markup -----------------------------------------------------------
// Every check over untrusted text is a single forward scan. The reader runs on the event loop: a
// regex that retries from each of 116,000 unclosed `<![CDATA[` openers blocked it for 15 s.
// Tokens end exactly where fast-xml-parser ends them, so what it skips as comment or CDATA is
// what is skipped here, and nothing else.

type TokenKind = 'text' | 'comment' | 'cdata' | 'pi' | 'declaration' | 'open' | 'close';

/** `[start, end)` of one piece of markup; markup never closed runs to the end of the text. */
interface Token {
  kind: TokenKind;
  start: number;
  end: number;
}

function* markupTokens(xml: string): Generator<Token> {
  for (let i = 0; i < xml.length; ) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt === -1 ? xml.length : lt;
    if (textEnd > i) yield { kind: 'text', start: i, end: textEnd };
    if (lt === -1) return;
    const token = markupAt(xml, lt);
    yield token;
    i = token.end;
  }
}

function markupAt(xml: string, at: number): Token {
  const token = (kind: TokenKind, end: number): Token => ({ kind, start: at, end });
  if (xml.startsWith('<!--', at)) return token('comment', endAfter(xml, '-->', at + 4));
  // The parser takes any `<![` for CDATA, up to the first `]]>`.
  if (xml.startsWith('<![', at)) return token('cdata', endAfter(xml, ']]>', at));
  if (xml.startsWith('</', at)) return token('close', endAfter(xml, '>', at));
  if (xml.startsWith('<?', at)) return token('pi', tagEnd(xml, at + 1, '?>'));
  if (xml.startsWith('<!', at)) return token('declaration', tagEnd(xml, at + 1, '>'));
  return token('open', tagEnd(xml, at + 1, '>'));
}

function endAfter(xml: string, close: string, from: number): number {
  const at = xml.indexOf(close, from);
  return at === -1 ? xml.length : at + close.length;
}

/** Where a start tag or PI ends: at `close` outside quoted attribute values. */
function tagEnd(xml: string, from: number, close: string): number {
  const first = close.charCodeAt(0);
  for (let i = from; i < xml.length; i++) {
    const c = xml.charCodeAt(i);
    if (c === 0x22 || c === 0x27) {
      i = xml.indexOf(xml[i]!, i + 1);
      if (i === -1) return xml.length;
    } else if (c === first && xml.startsWith(close, i)) {
      return i + close.length;
    }
  }
  return xml.length;
}

export interface MarkupScreen {
  /** `<!DOCTYPE` or `<!ENTITY`, in any letter case. */
  declaresDtd: boolean;
  /** A numeric reference `he` would decode to a character XML 1.0 forbids (`&#1;`, `&#x1F`, `&#65535;`). */
  forbiddenReference: boolean;
}

/** Inside CDATA and comments `&#0;` and `<!DOCTYPE` are literal text; everywhere else they count. */
export function screenMarkup(xml: string): MarkupScreen {
  const screen: MarkupScreen = { declaresDtd: false, forbiddenReference: false };
  for (const token of markupTokens(xml)) {
    if (token.kind === 'comment' || token.kind === 'cdata') continue;
    screenSpan(xml, token, screen);
    if (screen.declaresDtd) break;
  }
  return screen;
}

function screenSpan(xml: string, { start, end }: Token, screen: MarkupScreen): void {
  for (let i = start; i < end; i++) {
    const c = xml.charCodeAt(i);
    if (c === 0x3c && xml.charCodeAt(i + 1) === 0x21 && declaresDtdAt(xml, i + 2)) screen.declaresDtd = true;
    else if (c === 0x26 && xml.charCodeAt(i + 1) === 0x23) i = referenceEnd(xml, i + 2, screen) - 1;
  }
}

function declaresDtdAt(xml: string, at: number): boolean {
  const word = xml.slice(at, at + 7).toUpperCase();
  return word === 'DOCTYPE' || word.startsWith('ENTITY');
}

/**
 * Reads `&#…` as `he` does (decimal, or hex after x/X; the `;` optional) from just after `&#`,
 * flags a forbidden code point, and returns where the digits end.
 */
function referenceEnd(xml: string, from: number, screen: MarkupScreen): number {
  const radix = xml[from] === 'x' || xml[from] === 'X' ? 16 : 10;
  const first = radix === 16 ? from + 1 : from;
  let codePoint = 0;
  let i = first;
  for (let digit = digitAt(xml, i, radix); digit !== -1; digit = digitAt(xml, ++i, radix)) {
    // Past U+10FFFF nothing is forbidden any more (`he` answers U+FFFD): stop growing.
    if (codePoint <= 0x10ffff) codePoint = codePoint * radix + digit;
  }
  if (i > first && isForbiddenCodePoint(codePoint)) screen.forbiddenReference = true;
  return i;
}

function digitAt(xml: string, at: number, radix: number): number {
  const c = xml.charCodeAt(at);
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return radix === 16 && lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

function isForbiddenCodePoint(cp: number): boolean {
  return (cp < 0x20 && cp !== 0x9 && cp !== 0xa && cp !== 0xd) || cp === 0xfffe || cp === 0xffff;
}

/**
 * The markup inside the element that `path` leads to from the root (raw qualified names, each step
 * the first child element of that name), or null when there is none. For a document that parsed.
 */
export function innerMarkup(xml: string, path: string[]): string | null {
  let depth = 0; // elements open before the next tag
  let matched = 0; // steps of `path` open; the next step is a child at depth matched + 1
  let innerStart = -1;
  for (const token of markupTokens(xml)) {
    if (token.kind === 'open') {
      const selfClosing = xml.startsWith('/>', token.end - 2);
      if (innerStart === -1 && depth === matched + 1 && tagName(xml, token) === path[matched]) {
        matched++;
        if (matched === path.length && selfClosing) return '';
        if (matched === path.length) innerStart = token.end;
      }
      if (!selfClosing) depth++;
    } else if (token.kind === 'close') {
      depth--;
      if (depth <= matched) return innerStart === -1 || depth < matched ? null : xml.slice(innerStart, token.start);
    }
  }
  return null;
}

function tagName(xml: string, { start, end }: Token): string {
  let i = start + 1;
  while (i < end && !NAME_END.has(xml.charCodeAt(i))) i++;
  return xml.slice(start + 1, i);
}

/** Space, tab, LF, CR, `/` and `>`: what ends a tag name that the validator accepted. */
const NAME_END = new Set([0x20, 0x09, 0x0a, 0x0d, 0x2f, 0x3e]);

/** The parser's complaint, which may quote the input: one line, printable characters only. */
function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return printable(message.split('\n')[0]!.slice(0, 120));
}

/** Replaces what XML 1.0 (and Postgres text) cannot hold with U+FFFD. */
export function printable(text: string): string {
  return text.replace(NOT_XML_CHAR, '\uFFFD');
}

// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon === -1 ? qualified : qualified.slice(colon + 1);
}

export function prefixOf(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon === -1 ? '' : qualified.slice(0, colon);
}

/** Resolves an element's namespace URI from its prefix, searching the element then its ancestors (innermost first). */
export function namespaceOf(qualifiedName: string, scopes: XmlNode[]): string {
  const prefix = prefixOf(qualifiedName);
  const attr = prefix === '' ? '@_xmlns' : `@_xmlns:${prefix}`;
  for (const scope of scopes) {
    const uri = scope[attr];
    if (typeof uri === 'string') return uri;
  }
  return '';
}

/** Child elements (not attributes or text) in document order of first appearance, arrays flattened. */
export function childElements(node: XmlNode): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [key, value] of Object.entries(node)) {
    if (!isElementKey(key)) continue;
    if (Array.isArray(value)) for (const item of value) out.push([key, item]);
    else out.push([key, value]);
  }
  return out;
}

function isElementKey(key: string): boolean {
  return !key.startsWith('@_') && key !== '#text' && key !== '#cdata';
}

/** First child element with this local name, whatever its prefix. Stops there: a hostile node may have 100,000 others. */
export function child(node: XmlNode, name: string): unknown {
  for (const key of Object.keys(node)) {
    if (!isElementKey(key) || localName(key) !== name) continue;
    const value = node[key];
    return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/** Every child element with this local name, in document order. */
export function children(node: XmlNode, name: string): unknown[] {
  return childElements(node)
    .filter(([key]) => localName(key) === name)
    .map(([, value]) => value);
}

/** The text of an element: its text and CDATA joined, trimmed; '' for absent or element-only content. */
export function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value.trim();
  if (Array.isArray(value)) return textOf(value[0]);
  if (!isNode(value)) return String(value).trim();
  const text = value['#text'];
  const cdata = value['#cdata'];
  const parts = [typeof text === 'string' ? text : '', ...(Array.isArray(cdata) ? cdata : [cdata]).map((c) => (typeof c === 'string' ? c : ''))];
  return parts.join('').trim();
}

export function attrOf(value: unknown, name: string): string {
  if (!isNode(value)) return '';
  const attr = value[`@_${name}`];
  return typeof attr === 'string' ? attr.trim() : '';
}
