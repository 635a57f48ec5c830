// One linear pass over the markup of an XML document: the screen and the well-formedness check
// that run before fast-xml-parser builds a tree, and the element records the outline reads.
// Every check over untrusted text is a single forward scan, with no regex and no object per token.
// The reader runs on the event loop: a regex that retried from each of 116,000 unclosed
// `<![CDATA[` openers blocked it for 15 s.
//
// The pass does two things at once:
// - Screening, on the pieces of markup as fast-xml-parser delimits them (what it skips as comment or
//   CDATA is skipped here, and nothing else): DOCTYPE/ENTITY declarations and numeric references to
//   characters XML forbids. It always runs to the end, so those two are reported whatever else is
//   wrong, as before.
// - Well-formedness, until the first problem: what fast-xml-parser's validator checked (names,
//   attribute syntax, `&` in text, balanced and matching tags, one root, nothing but whitespace,
//   comments and PIs around it) plus what its parser refused (unclosed comments, CDATA and PIs,
//   nesting past MAX_XML_DEPTH, names that would pollute prototypes). Messages are the validator's.

import { digitAt } from './xml-entities.js';

/** Deeper nesting is refused (as a format error, not a stack overflow). */
export const MAX_XML_DEPTH = 256;

export const enum Ch {
  Tab = 0x09,
  Lf = 0x0a,
  Cr = 0x0d,
  Space = 0x20,
  Quote = 0x22,
  Hash = 0x23,
  Apos = 0x27,
  Slash = 0x2f,
  Colon = 0x3a,
  Semi = 0x3b,
  Eq = 0x3d,
  Gt = 0x3e,
  Question = 0x3f,
  Bang = 0x21,
  Dash = 0x2d,
  LBracket = 0x5b,
}

// Outline records: a flat number array, RECORD numbers per element, in document order.
export const R_NAME_START = 0;
/** The name's end, where the attributes start. */
export const R_NAME_END = 1;
/** The `>` of the start tag, or the `/` of `/>`. */
export const R_ATTR_END = 2;
/** Content span [start, end): empty for a self-closing element. */
export const R_CONTENT_START = 3;
export const R_CONTENT_END = 4;
export const R_PARENT = 5;
export const R_FLAGS = 6;
export const RECORD = 7;
export const F_CHILD_ELEMENT = 1;
export const F_CDATA = 2;
export const F_ATTRIBUTES = 4;

/** Names fast-xml-parser refuses as tag names (prototype pollution). */
const CRITICAL_NAMES = ['__proto__', 'constructor', 'prototype'];
/** Names fast-xml-parser renames with a `__` prefix in the tree. */
export const DANGEROUS_NAMES = ['hasOwnProperty', 'toString', 'valueOf', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__'];

/** Scratch for duplicate-attribute checks: name spans of the tag being read. */
const SMALL_TAG = 8;
const tagAttrStart = new Int32Array(SMALL_TAG);
const tagAttrEnd = new Int32Array(SMALL_TAG);

/** Open elements: name span and outline record (-1 when not recorded). Depth is capped, so is this. */
const openNameStart = new Int32Array(MAX_XML_DEPTH + 1);
const openNameEnd = new Int32Array(MAX_XML_DEPTH + 1);
const openRecord = new Int32Array(MAX_XML_DEPTH + 1);

export class Scanner {
  declaresDtd = false;
  forbiddenReference = false;
  /** The first well-formedness problem, as the validator (then the parser) would have reported it. */
  problem: string | null = null;
  /** A tag or attribute name holds U+1680 or U+FEFF, where the parser would split it. */
  exoticNames = false;

  private readonly n: number;
  /** A problem the parser (not the validator) found: reported only when the validator found none. */
  private deferred: string | null = null;
  /** Next `&` / `<` at or after the last position asked for (n when none): each is found once. */
  private amp = -1;
  private lt = -1;
  /** Open elements. */
  private depth = 0;
  private rootOpened = false;
  private rootClosed = false;
  /** A leading byte order mark, which the validator skipped. */
  private readonly bom: number;

  constructor(
    private readonly xml: string,
    private readonly records: number[] | null,
    private readonly outlineDepth: number,
  ) {
    this.n = xml.length;
    this.bom = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  }

  run(): void {
    const xml = this.xml;
    const n = this.n;
    let i = this.bom;
    while (i < n && !this.declaresDtd) {
      const lt = this.ltFrom(i);
      if (lt > i) this.text(i, lt);
      if (lt >= n) break;
      const c1 = xml.charCodeAt(lt + 1);
      if (c1 === Ch.Bang) i = this.bang(lt);
      else if (c1 === Ch.Slash) i = this.closeTag(lt);
      else if (c1 === Ch.Question) i = this.pi(lt);
      else i = this.openTag(lt);
    }
    if (this.problem !== null) return;
    if (!this.rootOpened) this.problem = 'Start tag expected.:1:undefined';
    else if (this.depth > 0) this.failUnclosed(null);
    else this.problem = this.deferred;
  }

  // -- pieces of markup

  /** Text from `from` to the next `<`. */
  private text(from: number, to: number): void {
    const xml = this.xml;
    if (this.problem === null && this.depth === 0) {
      // Outside the root element: whitespace only.
      for (let i = from; i < to; i++) {
        const c = xml.charCodeAt(i);
        if (isSpace(c)) continue;
        this.fail(this.rootClosed ? 'Extra text at the end' : `char '${xml[i]}' is not expected.`, i);
        break;
      }
    }
    for (let amp = this.ampFrom(from); amp < to; amp = this.ampFrom(amp + 1)) {
      if (xml.charCodeAt(amp + 1) === Ch.Hash) this.screenReference(amp + 2);
      if (this.problem === null && this.depth > 0 && !isReference(xml, amp)) this.fail("char '&' is not expected.", amp);
    }
  }

  /** `<!--`, `<![` or another `<!` declaration; returns where it ends. */
  private bang(lt: number): number {
    const xml = this.xml;
    if (xml.charCodeAt(lt + 2) === Ch.Dash && xml.charCodeAt(lt + 3) === Ch.Dash) {
      const close = xml.indexOf('-->', lt + 4);
      if (close !== -1) return close + 3;
      this.defer('Comment is not closed.');
      return this.n;
    }
    if (xml.charCodeAt(lt + 2) === Ch.LBracket) {
      // The parser takes any `<![` for CDATA, up to the first `]]>`.
      const close = xml.indexOf(']]>', lt);
      if (close === -1) this.defer('CDATA is not closed.');
      else if (!xml.startsWith('CDATA[', lt + 3)) this.fail(`Invalid CDATA section '${xml.slice(lt, lt + 9)}'.`, lt);
      else if (this.depth === 0) this.fail('CDATA section outside the root element.', lt);
      else this.flagOpen(F_CDATA);
      return close === -1 ? this.n : close + 3;
    }
    const closed = this.tagEnd(lt + 1, Ch.Gt);
    const end = closed === -1 ? this.n : closed;
    this.screen(lt, end);
    this.fail(`Unexpected declaration '${xml.slice(lt, Math.min(end, lt + 12))}'.`, lt);
    return end;
  }

  /** A processing instruction; returns where it ends. */
  private pi(lt: number): number {
    const xml = this.xml;
    const closed = this.tagEnd(lt + 1, Ch.Question);
    const end = closed === -1 ? this.n : closed;
    this.screen(lt, end);
    if (closed === -1) {
      this.defer('Pi Tag is not closed.');
      return end;
    }
    // The validator ends a PI at its first `?>`, the parser at the first outside quotes: both must.
    if (xml.indexOf('?>', lt + 2) !== end - 2) this.fail("Processing instruction with '?>' inside quotes.", lt);
    // The validator's check of an XML declaration (which it only made before the first tag): the
    // target, read up to a `?` or a space, is `xml` anywhere but at the start.
    if (this.rootOpened || lt === this.bom) return end;
    let t = lt + 2;
    while (t < end && xml.charCodeAt(t) !== Ch.Question && xml.charCodeAt(t) !== Ch.Space) t++;
    if (t - lt === 5 && xml.startsWith('xml', lt + 2)) this.fail('XML declaration allowed only at the start of the document.', t);
    return end;
  }

  /** `</name>`; returns where it ends. */
  private closeTag(lt: number): number {
    if (this.problem !== null) return this.screenedCloseTag(lt);
    const xml = this.xml;
    const n = this.n;
    const nameStart = lt + 2;
    let i = this.nameEnd(nameStart);
    const nameEnd = i;
    while (i < n && isSpace(xml.charCodeAt(i))) i++;
    if (nameEnd === nameStart || xml.charCodeAt(i) !== Ch.Gt || trimmable(xml, nameStart, nameEnd)) return this.tagFailure(lt);
    const end = i + 1;
    this.screen(lt, end);
    this.closeElement(lt, nameStart, nameEnd);
    return end;
  }

  /** Where an element ends (an end tag read whole): it must close the innermost open element. */
  private closeElement(lt: number, nameStart: number, nameEnd: number): void {
    const xml = this.xml;
    if (this.depth === 0) {
      this.fail(`Closing tag '${xml.slice(nameStart, nameEnd)}' has not been opened.`, lt);
      return;
    }
    const d = this.depth - 1;
    if (!sameSpan(xml, openNameStart[d]!, openNameEnd[d]!, nameStart, nameEnd)) {
      const opened = position(xml, openNameStart[d]! - 1);
      this.fail(`Expected closing tag '${this.openName(d)}' (opened in line ${opened.line}, col ${opened.col}) instead of closing tag '${xml.slice(nameStart, nameEnd)}'.`, lt);
      return;
    }
    const record = openRecord[d]!;
    if (record !== -1) this.records![record + R_CONTENT_END] = lt;
    this.depth = d;
    if (d === 0) this.rootClosed = true;
  }

  /** A start tag; returns where it ends. */
  private openTag(lt: number): number {
    if (this.problem !== null) return this.screenedOpenTag(lt);
    const xml = this.xml;
    const n = this.n;
    const nameStart = lt + 1;
    let i = this.nameEnd(nameStart);
    const nameEnd = i;
    const after = xml.charCodeAt(i);
    if (nameEnd === nameStart || !(isSpace(after) || after === Ch.Gt || after === Ch.Slash) || trimmable(xml, nameStart, nameEnd)) return this.tagFailure(lt);
    // Attributes, as the validator tokenizes them: each after whitespace, `name="value"` or
    // `name='value'` (whitespace around `=` allowed), names distinct; a stray `=` is skipped.
    let attributes = 0;
    let seen: Set<string> | null = null;
    let attrEnd: number;
    for (;;) {
      const tokenStart = i;
      while (i < n && isSpace(xml.charCodeAt(i))) i++;
      const c = xml.charCodeAt(i);
      if (c === Ch.Gt || (c === Ch.Slash && xml.charCodeAt(i + 1) === Ch.Gt)) {
        attrEnd = i;
        break;
      }
      if (c === Ch.Eq) {
        i++;
        continue;
      }
      const attrStart = i;
      i = this.nameEnd(attrStart);
      const attrNameEnd = i;
      if (attrStart === tokenStart || attrNameEnd === attrStart) return this.tagFailure(lt);
      while (i < n && isSpace(xml.charCodeAt(i))) i++;
      if (xml.charCodeAt(i) !== Ch.Eq) return this.tagFailure(lt);
      for (i++; i < n && isSpace(xml.charCodeAt(i)); i++);
      const quote = xml.charCodeAt(i);
      if (quote !== Ch.Quote && quote !== Ch.Apos) return this.tagFailure(lt);
      const close = xml.indexOf(quote === Ch.Quote ? '"' : "'", i + 1);
      if (close === -1) return this.tagFailure(lt);
      i = close + 1;
      // Distinct names: compared in place while the tag is small, in a set beyond.
      if (attributes < SMALL_TAG) {
        for (let a = 0; a < attributes; a++) if (sameSpan(xml, tagAttrStart[a]!, tagAttrEnd[a]!, attrStart, attrNameEnd)) return this.tagFailure(lt);
        tagAttrStart[attributes] = attrStart;
        tagAttrEnd[attributes] = attrNameEnd;
      } else {
        if (seen === null) {
          seen = new Set<string>();
          for (let a = 0; a < SMALL_TAG; a++) seen.add(xml.slice(tagAttrStart[a]!, tagAttrEnd[a]!));
        }
        const name = xml.slice(attrStart, attrNameEnd);
        if (seen.has(name)) return this.tagFailure(lt);
        seen.add(name);
      }
      attributes++;
    }
    const selfClosing = xml.charCodeAt(attrEnd) === Ch.Slash;
    const end = attrEnd + (selfClosing ? 2 : 1);
    this.screen(lt, end);
    const critical = criticalName(xml, nameStart, nameEnd);
    if (critical !== null) this.defer(`[SECURITY] Invalid name: "${critical}" is a reserved JavaScript keyword that could cause prototype pollution`);
    this.element(lt, nameStart, nameEnd, attrEnd, end, selfClosing, attributes > 0);
    return end;
  }

  /** Where an element starts (a start tag read whole): nesting, the one root, the outline. */
  private element(lt: number, nameStart: number, nameEnd: number, attrEnd: number, end: number, selfClosing: boolean, attributes: boolean): void {
    if (this.rootClosed) {
      this.fail('Multiple possible root nodes found.', attrEnd);
      return;
    }
    const depth = this.depth;
    if (!selfClosing && depth > MAX_XML_DEPTH) {
      // The parser's cap; failing here, not at the end, keeps the scan's own stack bounded.
      this.fail('Maximum nested tags exceeded', -1);
      return;
    }
    this.rootOpened = true;
    let record = -1;
    const records = this.records;
    if (records !== null) {
      const parent = depth === 0 ? -1 : openRecord[depth - 1]!;
      if (parent !== -1) records[parent + R_FLAGS]! |= F_CHILD_ELEMENT;
      if (depth < this.outlineDepth) {
        record = records.length;
        // With odd names (read the validator's way, trimmed) the outline keeps them raw, as written.
        const recordStart = this.exoticNames ? lt + 1 : nameStart;
        const recordEnd = this.exoticNames ? rawNameEnd(this.xml, lt + 1) : nameEnd;
        records.push(recordStart, recordEnd, attrEnd, end, end, parent, attributes ? F_ATTRIBUTES : 0);
      }
    }
    if (selfClosing) {
      if (depth === 0) this.rootClosed = true;
      return;
    }
    openNameStart[depth] = nameStart;
    openNameEnd[depth] = nameEnd;
    openRecord[depth] = record;
    this.depth = depth + 1;
  }

  /** Marks the innermost open element, when it is in the outline. */
  private flagOpen(flag: number): void {
    if (this.records === null || this.depth === 0) return;
    const record = openRecord[this.depth - 1]!;
    if (record !== -1) this.records[record + R_FLAGS]! |= flag;
  }

  /** The end of the name starting at `from` (`from` itself when no name starts there). */
  private nameEnd(from: number): number {
    const xml = this.xml;
    const n = this.n;
    if (from >= n) return from;
    const first = xml.charCodeAt(from);
    if (!isNameStartChar(first)) return from;
    if (first === 0xfeff) this.exoticNames = true;
    let i = from + 1;
    for (; i < n; i++) {
      const c = xml.charCodeAt(i);
      if (c < 0x80) {
        if (!isAsciiNameChar(c)) break;
      } else {
        if (!isNameChar(c)) break;
        if (c === 0x1680 || c === 0xfeff) this.exoticNames = true;
      }
    }
    return i;
  }

  // -- screening

  /** A start tag as the parser delimits it, screened. */
  private screenedOpenTag(lt: number): number {
    const closed = this.tagEnd(lt + 1, Ch.Gt);
    const end = closed === -1 ? this.n : closed;
    this.screen(lt, end);
    return end;
  }

  /** A close tag as the parser delimits it (to the first `>`), screened. */
  private screenedCloseTag(lt: number): number {
    const gt = this.xml.indexOf('>', lt);
    const end = gt === -1 ? this.n : gt + 1;
    this.screen(lt, end);
    return end;
  }

  /** Screens markup [from, to) for declarations and forbidden references. */
  private screen(from: number, to: number): void {
    const xml = this.xml;
    for (let amp = this.ampFrom(from); amp < to; amp = this.ampFrom(amp + 1)) {
      if (xml.charCodeAt(amp + 1) === Ch.Hash) this.screenReference(amp + 2);
    }
    for (let lt = this.ltFrom(from); lt < to; lt = this.ltFrom(lt + 1)) {
      if (xml.charCodeAt(lt + 1) === Ch.Bang && declaresDtdAt(xml, lt + 2)) this.declaresDtd = true;
    }
  }

  /**
   * Reads `&#…` as `he` does (decimal, or hex after x/X; the `;` optional) from just after `&#`,
   * and flags a forbidden code point.
   */
  private screenReference(from: number): void {
    const xml = this.xml;
    const radix = xml.charCodeAt(from) === 0x78 || xml.charCodeAt(from) === 0x58 ? 16 : 10;
    const first = radix === 16 ? from + 1 : from;
    let codePoint = 0;
    let i = first;
    for (let digit = digitAt(xml, i, radix); digit !== -1; digit = digitAt(xml, ++i, radix)) {
      // Past U+10FFFF nothing is forbidden any more (`he` answers U+FFFD): stop growing.
      if (codePoint <= 0x10ffff) codePoint = codePoint * radix + digit;
    }
    if (i > first && isForbiddenCodePoint(codePoint)) this.forbiddenReference = true;
  }

  private ampFrom(from: number): number {
    if (this.amp < from) {
      const at = this.xml.indexOf('&', from);
      this.amp = at === -1 ? this.n : at;
    }
    return this.amp;
  }

  private ltFrom(from: number): number {
    if (this.lt < from) {
      const at = this.xml.indexOf('<', from);
      this.lt = at === -1 ? this.n : at;
    }
    return this.lt;
  }

  /** Where a start tag, declaration or PI ends: after `>` (or `?>`) outside quoted values; -1 when never closed. */
  private tagEnd(from: number, close: number): number {
    const xml = this.xml;
    const n = this.n;
    for (let i = from; i < n; i++) {
      const c = xml.charCodeAt(i);
      if (c === Ch.Quote || c === Ch.Apos) {
        i = xml.indexOf(c === Ch.Quote ? '"' : "'", i + 1);
        if (i === -1) return -1;
      } else if (c === close && (close === Ch.Gt || xml.charCodeAt(i + 1) === Ch.Gt)) {
        return close === Ch.Gt ? i + 1 : i + 2;
      }
    }
    return -1;
  }

  // -- problems (the error path: allocations are fine here)

  /**
   * A tag the scan's own reading refused: screened as the parser delimits it, then judged by the
   * validator's rules, read the validator's way. Those accept a few odd tags (a name followed by
   * U+3000, which its trim() removed): such a tag counts as read, and the document's outline as
   * unreliable (the parser keys it differently). Otherwise the validator's complaint is the problem.
   */
  private tagFailure(lt: number): number {
    const xml = this.xml;
    const closing = xml.charCodeAt(lt + 1) === Ch.Slash;
    const end = closing ? this.screenedCloseTag(lt) : this.screenedOpenTag(lt);
    const tag = validatorTag(xml, lt);
    if (tag.problem !== null) {
      this.fail(tag.problem, tag.at);
    } else if (tag.closed && !(closing && tag.selfClosing) && end === tag.end) {
      this.exoticNames = true;
      if (closing) this.closeElement(lt, tag.nameStart, tag.nameEnd);
      else this.element(lt, tag.nameStart, tag.nameEnd, tag.end - (tag.selfClosing ? 2 : 1), tag.end, tag.selfClosing, tag.attributes);
    } else if (closing) {
      this.fail(`Closing tag '${xml.slice(tag.nameStart, tag.nameEnd)}' can't have attributes or invalid starting.`, lt);
    } else {
      this.failUnclosed(xml.slice(tag.nameStart, tag.nameEnd)); // never closed: the validator took it as open to the end
    }
    return end;
  }

  /** What the validator said of elements left open at the end (and one more, never closed). */
  private failUnclosed(extra: string | null): void {
    const names: string[] = [];
    for (let d = 0; d < this.depth; d++) names.push(this.openName(d));
    if (extra !== null) names.push(extra);
    if (names.length === 1) this.fail(`Unclosed tag '${names[0]}'.`, this.depth === 1 ? openNameStart[0]! - 1 : 0);
    else this.fail(`Invalid '${JSON.stringify(names, null, 4).replace(/\r?\n/g, '')}' found.`, 0);
  }

  /** Records the first problem, with the line and column the validator would give (none for at < 0). */
  private fail(message: string, at: number): void {
    if (this.problem !== null) return;
    if (at < 0) {
      this.problem = message;
    } else {
      const { line, col } = position(this.xml, at);
      this.problem = `${message}:${line}:${col}`;
    }
  }

  private defer(message: string): void {
    if (this.deferred === null) this.deferred = message;
  }

  private openName(d: number): string {
    return this.xml.slice(openNameStart[d]!, openNameEnd[d]!);
  }
}

interface ValidatorTag {
  /** The validator's complaint and where, or null. */
  problem: string | null;
  at: number;
  /** The name it read (trimmed). */
  nameStart: number;
  nameEnd: number;
  /** After the tag's `>` (outside quotes), when `closed`. */
  end: number;
  closed: boolean;
  selfClosing: boolean;
  attributes: boolean;
}

/**
 * fast-xml-parser's validator (validator.js) on the one tag at `lt`: its complaint, or how it read
 * the tag. Only for tags the scan's own reading refused.
 */
function validatorTag(xml: string, lt: number): ValidatorTag {
  const n = xml.length;
  const closing = xml.charCodeAt(lt + 1) === Ch.Slash;
  let i = closing ? lt + 2 : lt + 1;
  let nameStart = i;
  while (i < n && xml.charCodeAt(i) !== Ch.Gt && !isSpace(xml.charCodeAt(i))) i++;
  let nameEnd = i;
  // It trimmed the name the way String.prototype.trim does, then dropped one trailing `/`.
  while (nameStart < nameEnd && /\s/.test(xml[nameStart]!)) nameStart++;
  while (nameEnd > nameStart && /\s/.test(xml[nameEnd - 1]!)) nameEnd--;
  const selfClosingName = nameEnd > nameStart && xml.charCodeAt(nameEnd - 1) === Ch.Slash;
  if (selfClosingName) {
    nameEnd--;
    i--;
  }
  const tag: ValidatorTag = { problem: null, at: i, nameStart, nameEnd, end: -1, closed: false, selfClosing: selfClosingName, attributes: false };
  const name = xml.slice(nameStart, nameEnd);
  if (!isValidName(name)) return { ...tag, problem: name === '' ? "Invalid space after '<'." : `Tag '${name}' is an invalid name.` };
  // The attribute string runs to the first `>` outside quotes.
  let quote = 0;
  let j = i;
  for (; j < n; j++) {
    const c = xml.charCodeAt(j);
    if (c === Ch.Quote || c === Ch.Apos) {
      if (quote === 0) quote = c;
      else if (quote === c) quote = 0;
    } else if (c === Ch.Gt && quote === 0) {
      tag.closed = true;
      tag.end = j + 1;
      break;
    }
  }
  if (quote !== 0) return { ...tag, problem: `Attributes for '${name}' have open quote.`, at: i };
  let attrs = xml.slice(i, j);
  if (attrs.endsWith('/')) {
    tag.selfClosing = true;
    attrs = attrs.slice(0, -1);
  } else if (closing) {
    if (!tag.closed) return { ...tag, problem: `Closing tag '${name}' doesn't have proper closing.`, at: j };
    if (attrs.trim() !== '') return { ...tag, problem: `Closing tag '${name}' can't have attributes or invalid starting.`, at: lt };
    return tag;
  }
  const found = validatorAttributeProblem(attrs);
  if (typeof found === 'number') return { ...tag, attributes: found > 0 };
  return { ...tag, problem: found.message, at: i + found.at };
}

/** The validator's attribute checks (scanAttributeTokens, validateAttributeString) on one tag's attribute string: its complaint, or how many attributes. */
function validatorAttributeProblem(attrs: string): { message: string; at: number } | number {
  const names = new Set<string>();
  const len = attrs.length;
  let i = 0;
  while (i < len) {
    const tokenStart = i;
    while (i < len && isSpace(attrs.charCodeAt(i))) i++;
    if (i >= len) break;
    if (attrs.charCodeAt(i) === Ch.Eq) {
      i++;
      continue;
    }
    const nameStart = i;
    while (i < len && !isSpace(attrs.charCodeAt(i)) && attrs.charCodeAt(i) !== Ch.Eq) i++;
    const name = attrs.slice(nameStart, i);
    let equals = false;
    let j = i;
    while (j < len && isSpace(attrs.charCodeAt(j))) j++;
    if (j < len && attrs.charCodeAt(j) === Ch.Eq) {
      equals = true;
      i = j + 1;
    }
    let value = false;
    let k = i;
    while (k < len && isSpace(attrs.charCodeAt(k))) k++;
    if (k < len && (attrs.charCodeAt(k) === Ch.Quote || attrs.charCodeAt(k) === Ch.Apos)) {
      const close = attrs.indexOf(attrs[k]!, k + 1);
      if (close !== -1) {
        value = true;
        i = close + 1;
      }
    }
    if (nameStart === tokenStart) return { message: `Attribute '${name}' has no space in starting.`, at: nameStart };
    if (equals && !value) return { message: `Attribute '${name}' is without value.`, at: nameStart };
    if (!equals) return { message: `boolean attribute '${name}' is not allowed.`, at: nameStart };
    if (!isValidName(name)) return { message: `Attribute '${name}' is an invalid name.`, at: nameStart };
    if (names.has(name)) return { message: `Attribute '${name}' is repeated.`, at: nameStart };
    names.add(name);
  }
  return names.size;
}

/** `&name;` (up to 20 word characters), `&#digits;` or `&#xhex;` (digits optional), as the validator accepted. */
function isReference(xml: string, amp: number): boolean {
  let i = amp + 1;
  const n = xml.length;
  if (xml.charCodeAt(i) === Ch.Semi) return false;
  if (xml.charCodeAt(i) === Ch.Hash) {
    i++;
    const hex = xml.charCodeAt(i) === 0x78;
    if (hex) i++;
    for (; i < n; i++) {
      const c = xml.charCodeAt(i);
      if (c === Ch.Semi) return true;
      if (!(c >= 0x30 && c <= 0x39) && !(hex && ((c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)))) return false;
    }
    return false;
  }
  for (let count = 0; i < n; i++, count++) {
    const c = xml.charCodeAt(i);
    if (count < 20 && isWordChar(c)) continue;
    return c === Ch.Semi;
  }
  return true;
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

export function isSpace(c: number): boolean {
  return c === Ch.Space || c === Ch.Tab || c === Ch.Lf || c === Ch.Cr;
}

// Names as fast-xml-parser's validator (util.js isName) accepts them: XML 1.0 name characters of
// the Basic Multilingual Plane (its regex has no `u` flag, so a surrogate is no name character).

function isNameStartChar(c: number): boolean {
  if (c < 0x80) return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a;
  return (
    (c >= 0xc0 && c <= 0xd6) ||
    (c >= 0xd8 && c <= 0xf6) ||
    (c >= 0xf8 && c <= 0x2ff) ||
    (c >= 0x370 && c <= 0x37d) ||
    (c >= 0x37f && c <= 0x1fff) ||
    (c >= 0x200c && c <= 0x200d) ||
    (c >= 0x2070 && c <= 0x218f) ||
    (c >= 0x2c00 && c <= 0x2fef) ||
    (c >= 0x3001 && c <= 0xd7ff) ||
    (c >= 0xf900 && c <= 0xfdcf) ||
    (c >= 0xfdf0 && c <= 0xfffd)
  );
}

function isAsciiNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x3a || c === 0x2d || c === 0x2e;
}

function isNameChar(c: number): boolean {
  if (c < 0x80) return isAsciiNameChar(c);
  return isNameStartChar(c) || c === 0xb7 || (c >= 0x300 && c <= 0x36f) || c === 0x203f || c === 0x2040;
}

/** Where a name written at `from` ends: at whitespace, `/` or `>`. */
function rawNameEnd(xml: string, from: number): number {
  let i = from;
  for (; i < xml.length; i++) {
    const c = xml.charCodeAt(i);
    if (isSpace(c) || c === Ch.Slash || c === Ch.Gt) break;
  }
  return i;
}

/** A name that starts or ends with a name character String.prototype.trim removes (U+1680, U+FEFF). */
function trimmable(xml: string, from: number, to: number): boolean {
  const first = xml.charCodeAt(from);
  const last = xml.charCodeAt(to - 1);
  return first === 0x1680 || first === 0xfeff || last === 0x1680 || last === 0xfeff;
}

function isValidName(name: string): boolean {
  if (name === '' || !isNameStartChar(name.charCodeAt(0))) return false;
  for (let i = 1; i < name.length; i++) if (!isNameChar(name.charCodeAt(i))) return false;
  return true;
}

function criticalName(xml: string, from: number, to: number): string | null {
  const length = to - from;
  if (length !== 9 && length !== 11) return null;
  for (const name of CRITICAL_NAMES) if (name.length === length && xml.startsWith(name, from)) return name;
  return null;
}

function sameSpan(xml: string, aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let k = 0; k < aEnd - aStart; k++) if (xml.charCodeAt(aStart + k) !== xml.charCodeAt(bStart + k)) return false;
  return true;
}

function declaresDtdAt(xml: string, at: number): boolean {
  const word = xml.slice(at, at + 7).toUpperCase();
  return word === 'DOCTYPE' || word.startsWith('ENTITY');
}

function isForbiddenCodePoint(cp: number): boolean {
  return (cp < 0x20 && cp !== 0x9 && cp !== 0xa && cp !== 0xd) || cp === 0xfffe || cp === 0xffff;
}

/** Line and column of a position, as the validator counts them (lines end at `\n`, 1-based). */
function position(xml: string, at: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let nl = xml.indexOf('\n'); nl !== -1 && nl < at; nl = xml.indexOf('\n', nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  return { line, col: at - lineStart + 1 };
}

/** A parser or scan message, which may quote the input: one line, printable characters only. */
export function firstLine(message: string): string {
  return printable(message.split('\n')[0]!.slice(0, 120));
}

/** Replaces what XML 1.0 (and Postgres text) cannot hold with U+FFFD. */
export function printable(text: string): string {
  return text.replace(NOT_XML_CHAR, '\uFFFD');
}

// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
