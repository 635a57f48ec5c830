import { XMLParser } from 'fast-xml-parser';
import he from 'he';
import { malformed } from '../outcomes.js';

// One parser configuration for every XML we read (the envelope and the payload inside it).
// - Entities are decoded by `he`, not by the parser, so HTML named entities (&nbsp; &ldquo;) and
//   numeric references work and nothing declared in a DTD is ever expanded.
// - Values are never converted to numbers: `000123` and 19-digit card numbers must stay exact.
// - Depth is capped so hostile nesting fails as a format error instead of exhausting the stack.

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
  tagValueProcessor: (_name, value) => decodeEntities(value),
  attributeValueProcessor: (_name, value) => he.decode(value, { isAttributeValue: true }),
});

export function decodeEntities(text: string): string {
  return text.includes('&') ? he.decode(text) : text;
}

const CDATA_SECTION = /<!\[CDATA\[[\s\S]*?\]\]>/g;
const DTD_MARKUP = /<!(DOCTYPE|ENTITY)/i;
// XML 1.0 §2.2 allows no C0 control character but tab, LF and CR, not even as a character
// reference; strict parsers (Xerces, .NET) at the ERP would refuse them if we echoed them back.
// eslint-disable-next-line no-control-regex
const ILLEGAL_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const ILLEGAL_REFERENCE = /&#(?:x0*(?:[0-8bcef]|1[0-9a-f]|fff[ef])|0*(?:[0-8]|1[124-9]|2\d|3[01]|6553[45]));/i;

/** A DOCTYPE or entity declaration outside CDATA: refused, never expanded. */
export function declaresDtd(xml: string): boolean {
  if (!xml.includes('<!')) return false;
  return DTD_MARKUP.test(xml.replace(CDATA_SECTION, ''));
}

/**
 * Parses XML with exactly one root element; anything else is a format error. `validate` runs the
 * strict well-formedness check first: always for the approval, which must be XML; the SOAP
 * envelope skips it (a second full pass on every push) since a broken envelope cannot yield a
 * payload that passes the approval's own check.
 */
export function parseXml(xml: string, what: string, validate = true): { rootName: string; root: XmlNode } {
  if (declaresDtd(xml)) throw malformed(`${what}含有DOCTYPE或实体声明，已拒绝`);
  if (ILLEGAL_CHAR.test(xml) || ILLEGAL_REFERENCE.test(xml)) throw malformed(`${what}含有XML不允许的控制字符`);
  let doc: XmlNode;
  try {
    doc = parser.parse(xml, validate) as XmlNode;
  } catch (err) {
    throw malformed(`${what}不是合法的XML（${firstLine(err)}）`);
  }
  const names = Object.keys(doc).filter((k) => !k.startsWith('?') && !k.startsWith('#'));
  const rootName = names[0];
  if (names.length !== 1 || rootName === undefined) throw malformed(`${what}不是合法的XML`);
  const root = doc[rootName];
  return { rootName, root: isNode(root) ? root : { '#text': typeof root === 'string' ? root : '' } };
}

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
    if (key.startsWith('@_') || key === '#text' || key === '#cdata') continue;
    if (Array.isArray(value)) for (const item of value) out.push([key, item]);
    else out.push([key, value]);
  }
  return out;
}

/** First child element with this local name, whatever its prefix. */
export function child(node: XmlNode, name: string): unknown {
  for (const [key, value] of childElements(node)) if (localName(key) === name) return value;
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
