// The outline: a document's elements read straight from the text, without a tree.

import { decodeAttributeValue, decodeEntities } from './xml-entities.js';
import {
  Ch,
  DANGEROUS_NAMES,
  F_ATTRIBUTES,
  F_CDATA,
  F_CHILD_ELEMENT,
  isSpace,
  R_ATTR_END,
  R_CONTENT_END,
  R_CONTENT_START,
  R_FLAGS,
  R_NAME_END,
  R_NAME_START,
  R_PARENT,
  RECORD,
} from './xml-scan.js';
import { prefixOf } from './xml-tree.js';

/**
 * Elements of a well-formed document down to the outline's depth, read straight from the text.
 * Everything here answers what the fast-xml-parser tree of the same document would: names as the
 * tree keys them, child elements in the tree's order, attribute values and text as it decodes them.
 */
export class XmlOutline {
  private linkTable: Int32Array | null = null;

  constructor(
    readonly xml: string,
    private readonly records: number[],
  ) {}

  /** The root element. */
  get root(): number {
    return 0;
  }

  /** The qualified name, as the tree keys it (the parser renames a few that would shadow Object methods). */
  name(element: number): string {
    const name = this.xml.slice(this.records[element + R_NAME_START], this.records[element + R_NAME_END]);
    return DANGEROUS_NAMES.includes(name) ? `__${name}` : name;
  }

  /** True when the tree holds this element as an object (attributes, child elements or CDATA), not as a string. */
  isNode(element: number): boolean {
    return this.records[element + R_FLAGS] !== 0;
  }

  hasChildElements(element: number): boolean {
    return (this.records[element + R_FLAGS]! & F_CHILD_ELEMENT) !== 0;
  }

  hasCdata(element: number): boolean {
    return (this.records[element + R_FLAGS]! & F_CDATA) !== 0;
  }

  /**
   * Child elements (in the outline) in the order the tree lists them: grouped by name, groups in
   * the order of their first appearance.
   */
  children(element: number): number[] {
    const found: number[] = [];
    for (let c = this.firstChild(element); c !== -1; c = this.nextSibling(c)) found.push(c);
    return this.treeOrder(found);
  }

  /** Child elements with this local name (any prefix), in the order the tree lists them. */
  childrenByLocalName(element: number, name: string): number[] {
    const found: number[] = [];
    for (let c = this.firstChild(element); c !== -1; c = this.nextSibling(c)) if (this.hasLocalName(c, name)) found.push(c);
    return this.treeOrder(found);
  }

  /**
   * The first child element with this local name (any prefix), in document order: also the first
   * the tree lists, since its name's group is the first to appear. -1 when none.
   */
  childByLocalName(element: number, name: string): number {
    for (let c = this.firstChild(element); c !== -1; c = this.nextSibling(c)) if (this.hasLocalName(c, name)) return c;
    return -1;
  }

  /**
   * The first element with this local name below `element`, depth first in the order the tree lists
   * children (not document order: `<a/><b><x/></b><a><x/></a>` finds the second `x`). -1 when none.
   */
  descendantByLocalName(element: number, name: string): number {
    for (const c of this.children(element)) {
      if (this.hasLocalName(c, name)) return c;
      const found = this.descendantByLocalName(c, name);
      if (found !== -1) return found;
    }
    return -1;
  }

  /** The first child element in document order; -1 when none. */
  firstChild(element: number): number {
    return this.links()[2 * (element / RECORD)]!;
  }

  /** The next element with the same parent, in document order; -1 when none. */
  nextSibling(element: number): number {
    return this.links()[2 * (element / RECORD) + 1]!;
  }

  /** Whether the local name the tree keys this element by (after the first `:`) is `name`; compared in place. */
  hasLocalName(element: number, name: string): boolean {
    const xml = this.xml;
    const start = this.records[element + R_NAME_START]!;
    const end = this.records[element + R_NAME_END]!;
    let colon = start;
    while (colon < end && xml.charCodeAt(colon) !== Ch.Colon) colon++;
    if (colon < end) return spanIs(xml, colon + 1, end, name);
    // Unprefixed names that would shadow Object methods are keyed with `__` (`toString` as `__toString`).
    if (spanIs(xml, start, end, name)) return !DANGEROUS_NAMES.includes(name);
    return name.startsWith('__') && DANGEROUS_NAMES.includes(name.slice(2)) && spanIs(xml, start, end, name.slice(2));
  }

  /** The value of an attribute as the tree holds it (trimmed, references decoded), or undefined. */
  attribute(element: number, name: string): string | undefined {
    const xml = this.xml;
    const end = this.records[element + R_ATTR_END]!;
    if ((this.records[element + R_FLAGS]! & F_ATTRIBUTES) === 0) return undefined;
    // The tag was read whole by the scan: `name = "value"` pairs, whitespace and stray `=` between.
    let i = this.records[element + R_NAME_END]!;
    while (i < end) {
      const c = xml.charCodeAt(i);
      if (isSpace(c) || c === Ch.Eq) {
        i++;
        continue;
      }
      const nameStart = i;
      while (!isSpace(xml.charCodeAt(i)) && xml.charCodeAt(i) !== Ch.Eq) i++;
      const matches = i - nameStart === name.length && xml.startsWith(name, nameStart);
      while (xml.charCodeAt(i) !== Ch.Quote && xml.charCodeAt(i) !== Ch.Apos) i++;
      const close = xml.indexOf(xml[i]!, i + 1);
      if (matches) return decodeAttributeValue(normalizeNewlines(xml.slice(i + 1, close)).trim());
      i = close + 1;
    }
    return undefined;
  }

  /** Resolves an element's namespace URI from its prefix, searching the given elements (innermost first). */
  namespaceOf(qualifiedName: string, scopes: number[]): string {
    const prefix = prefixOf(qualifiedName);
    const attr = prefix === '' ? 'xmlns' : `xmlns:${prefix}`;
    for (const scope of scopes) {
      const uri = this.attribute(scope, attr);
      if (uri !== undefined) return uri;
    }
    return '';
  }

  /** The element's text as textOf reads it from the tree: its text and CDATA joined, trimmed. */
  text(element: number): string {
    const xml = this.xml;
    const start = this.records[element + R_CONTENT_START]!;
    const end = this.records[element + R_CONTENT_END]!;
    if (start >= end) return '';
    const lt = xml.indexOf('<', start);
    if (lt === -1 || lt >= end) return textSegment(xml.slice(start, end)).trim();
    // The parser joins the text around comments into one piece, and ends a piece at any tag, CDATA
    // or PI; each piece is trimmed and decoded, the pieces are joined, then the CDATA sections.
    let text = '';
    let piece = '';
    let cdata = '';
    let depth = 0;
    for (let i = start; i < end; ) {
      let next = xml.indexOf('<', i);
      if (next === -1 || next > end) next = end;
      if (depth === 0) piece += xml.slice(i, next);
      if (next >= end) break;
      const c1 = xml.charCodeAt(next + 1);
      if (c1 === Ch.Bang && xml.startsWith('--', next + 2)) {
        i = xml.indexOf('-->', next + 4) + 3;
        continue;
      }
      if (depth === 0) {
        text += textSegment(piece);
        piece = '';
      }
      if (c1 === Ch.Bang) {
        const close = xml.indexOf(']]>', next);
        if (depth === 0) cdata += normalizeNewlines(xml.slice(next + 9, close));
        i = close + 3;
      } else if (c1 === Ch.Question) {
        i = xml.indexOf('?>', next + 2) + 2;
      } else {
        const gt = tagEndOf(xml, next + 1);
        if (c1 === Ch.Slash) depth--;
        else if (xml.charCodeAt(gt - 2) !== Ch.Slash) depth++;
        i = gt;
      }
    }
    text += textSegment(piece);
    return (text + cdata).trim();
  }

  /** The first child element with this qualified name as written, in document order; -1 when none. */
  firstChildNamed(element: number, rawName: string): number {
    const records = this.records;
    for (let c = this.firstChild(element); c !== -1; c = this.nextSibling(c)) {
      if (spanIs(this.xml, records[c + R_NAME_START]!, records[c + R_NAME_END]!, rawName)) return c;
    }
    return -1;
  }

  /** The element's content, verbatim. */
  innerMarkup(element: number): string {
    return this.xml.slice(this.records[element + R_CONTENT_START], this.records[element + R_CONTENT_END]);
  }

  /** Elements in the tree's order: grouped by name, groups in the order of their first appearance. */
  private treeOrder(elements: number[]): number[] {
    if (elements.length < 2) return elements;
    const groups = new Map<string, number[]>();
    for (const r of elements) {
      const name = this.name(r);
      const group = groups.get(name);
      if (group === undefined) groups.set(name, [r]);
      else group.push(r);
    }
    return groups.size === elements.length || groups.size === 1 ? elements : [...groups.values()].flat();
  }

  /**
   * Per element, its first child and its next sibling (records; -1 for none), so that each walk over
   * children is linear in their number, not in the document's: a hostile element may have 100,000.
   * Built on first use, in one pass (records are in document order, parents first).
   */
  private links(): Int32Array {
    if (this.linkTable !== null) return this.linkTable;
    const records = this.records;
    const count = records.length / RECORD;
    const links = new Int32Array(2 * count).fill(-1);
    const lastChild = new Int32Array(count).fill(-1);
    for (let r = RECORD; r < records.length; r += RECORD) {
      const parent = records[r + R_PARENT]! / RECORD;
      const previous = lastChild[parent]!;
      links[previous === -1 ? 2 * parent : 2 * (previous / RECORD) + 1] = r;
      lastChild[parent] = r;
    }
    this.linkTable = links;
    return links;
  }
}

/** One piece of text as the parser stores it: newlines normalized, trimmed, references decoded. */
function textSegment(raw: string): string {
  const trimmed = normalizeNewlines(raw).trim();
  return trimmed === '' ? '' : decodeEntities(trimmed);
}

/** XML §2.11, as the parser applies it to the whole document before reading it. */
function normalizeNewlines(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

/** After the `>` of a tag that the scan read whole (quoted values may hold `>`). */
function tagEndOf(xml: string, from: number): number {
  for (let i = from; ; i++) {
    const c = xml.charCodeAt(i);
    if (c === Ch.Quote || c === Ch.Apos) i = xml.indexOf(c === Ch.Quote ? '"' : "'", i + 1);
    else if (c === Ch.Gt) return i + 1;
  }
}

function spanIs(xml: string, start: number, end: number, text: string): boolean {
  return end - start === text.length && xml.startsWith(text, start);
}
