import { XMLParser } from 'fast-xml-parser';
import { malformed } from '../errors.js';
import { decodeAttributeValue, decodeEntities } from './xml-entities.js';
import { XmlOutline } from './xml-outline.js';
import { firstLine, MAX_XML_DEPTH, Scanner } from './xml-scan.js';
import { isNode, type XmlNode } from './xml-tree.js';

export { decodeAttributeValue, decodeEntities } from './xml-entities.js';
export { XmlOutline } from './xml-outline.js';
export { MAX_XML_DEPTH, printable } from './xml-scan.js';
export * from './xml-reader.js';
export * from './xml-tree.js';

// Reading XML safely, for every XML we read (the envelope, the payload, WeChat's callbacks):
// xml-scan.ts screens and checks the text in one linear pass, fast-xml-parser builds the tree
// (xml-tree.ts reads it), or xml-outline.ts reads the elements without one; xml-reader.ts reads
// either the same way.
//
// One parser configuration:
// - Entities are decoded by `he`, not by the parser, so HTML named entities (&nbsp; &ldquo;) and
//   numeric references work and nothing declared in a DTD is ever expanded.
// - Values are never converted to numbers: `000123` and 19-digit card numbers must stay exact.
// - Depth is capped so hostile nesting fails as a format error instead of exhausting the stack.
// - No path strings (`jPath: false`): the callbacks never read them, and the parser would build
//   one per element, attribute and value, each as long as the element is deep.
// - No validation pass in the parser: our own scan (xml-scan.ts) checks well-formedness in the same pass
//   that screens for DTDs and forbidden references, so the parser only builds the tree.

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
  attributeValueProcessor: (_name, value) => decodeAttributeValue(value),
});

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
  checkScan(xml, new Scanner(xml, null, 0), what);
  let doc: XmlNode;
  try {
    doc = parser.parse(xml) as XmlNode;
  } catch (err) {
    throw malformed(`${what}不是合法的XML（${firstLine(err instanceof Error ? err.message : String(err))}）`);
  }
  const names = Object.keys(doc).filter((k) => !k.startsWith('?') && !k.startsWith('#'));
  const rootName = names[0];
  if (names.length !== 1 || rootName === undefined) throw malformed(`${what}不是合法的XML`);
  const root = doc[rootName];
  return { rootName, root: isNode(root) ? root : { '#text': typeof root === 'string' ? root : '' } };
}

/**
 * The document's elements down to `depth` (the root is depth 1; ALL_DEPTHS for all), without
 * building a tree: for the SOAP envelope, whose payload parameter is one long text the tree would
 * only copy, and for the payload, of which a dozen values are read. Refuses exactly what parseXml
 * refuses. Null for a document with a name that the parser would split (U+1680 or U+FEFF inside
 * it: XML name characters, JavaScript whitespace); read its tree instead.
 */
export function outlineXml(xml: string, what: string, depth: number): XmlOutline | null {
  const { outline, exoticNames } = scanOutline(xml, what, depth);
  return exoticNames ? null : outline;
}

/**
 * The `depth` at which an outline holds every element: an element may open at most MAX_XML_DEPTH
 * levels below the root, so the deepest are self-closing ones one level further down.
 */
export const ALL_DEPTHS = MAX_XML_DEPTH + 2;

function scanOutline(xml: string, what: string, depth: number): { outline: XmlOutline; exoticNames: boolean } {
  const records: number[] = [];
  const scan = new Scanner(xml, records, depth);
  checkScan(xml, scan, what);
  return { outline: new XmlOutline(xml, records), exoticNames: scan.exoticNames };
}

function checkScan(xml: string, scan: Scanner, what: string): void {
  scan.run();
  if (scan.declaresDtd) throw malformed(`${what}含有DOCTYPE或实体声明，已拒绝`);
  if (scan.forbiddenReference || ILLEGAL_CHAR.test(xml)) throw malformed(`${what}含有XML不允许的控制字符`);
  if (scan.problem !== null) throw malformed(`${what}不是合法的XML（${firstLine(scan.problem)}）`);
}

export interface MarkupScreen {
  /** `<!DOCTYPE` or `<!ENTITY`, in any letter case. */
  declaresDtd: boolean;
  /** A numeric reference `he` would decode to a character XML 1.0 forbids (`&#1;`, `&#x1F`, `&#65535;`). */
  forbiddenReference: boolean;
}

/** Inside CDATA and comments `&#0;` and `<!DOCTYPE` are literal text; everywhere else they count. */
export function screenMarkup(xml: string): MarkupScreen {
  const scan = new Scanner(xml, null, 0);
  scan.run();
  return { declaresDtd: scan.declaresDtd, forbiddenReference: scan.forbiddenReference };
}

/**
 * The markup inside the element that `path` leads to from the root (raw qualified names, each step
 * the first child element of that name), or null when there is none. For a well-formed document.
 */
export function innerMarkup(xml: string, path: string[]): string | null {
  let outline: XmlOutline;
  try {
    outline = scanOutline(xml, 'XML', path.length + 1).outline;
  } catch {
    return null;
  }
  let element = outline.root;
  for (const name of path) {
    element = outline.firstChildNamed(element, name);
    if (element === -1) return null;
  }
  return outline.innerMarkup(element);
}
