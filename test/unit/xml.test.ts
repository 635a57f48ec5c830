import fc from 'fast-check';
import he from 'he';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import {
  ALL_DEPTHS,
  child,
  children,
  decodeAttributeValue,
  decodeEntities,
  findFirst,
  innerMarkup,
  MAX_XML_DEPTH,
  outlineXml,
  parseXml,
  screenMarkup,
  textOf,
  type XmlOutline,
} from '../../src/push/xml.js';

function detailOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof FormatError && err.code === 'MALFORMED') return err.detail;
    throw err;
  }
  throw new Error('expected a format error');
}

describe('screenMarkup: DOCTYPE and entity declarations', () => {
  it('finds them outside CDATA and comments, in any letter case', () => {
    expect(screenMarkup('<!DOCTYPE a [<!ENTITY x "y">]><a/>').declaresDtd).toBe(true);
    expect(screenMarkup('<a><!doctype b></a>').declaresDtd).toBe(true);
    expect(screenMarkup('<a><!Entity x "y"></a>').declaresDtd).toBe(true);
    // `<` is not allowed in an attribute value; a declaration spelled there is refused all the same.
    expect(screenMarkup('<a x="<!DOCTYPE b>"/>').declaresDtd).toBe(true);
  });

  it('ignores them inside CDATA sections and comments, where they are text', () => {
    expect(screenMarkup('<a><![CDATA[<!DOCTYPE b [<!ENTITY x "y">]>]]></a>').declaresDtd).toBe(false);
    expect(screenMarkup('<a><!-- <!DOCTYPE b> <!ENTITY x "y"> --></a>').declaresDtd).toBe(false);
    expect(screenMarkup('<a><!DOCTYP/><!ENTIT/></a>').declaresDtd).toBe(false);
  });
});

describe('screenMarkup: character references to characters XML forbids', () => {
  it.each([
    ['decimal', '<a>&#1;</a>'],
    ['zero', '<a>&#0;</a>'],
    ['hex', '<a>&#x1F;</a>'],
    ['hex with upper-case X, as he reads it', '<a>&#X1;</a>'],
    ['leading zeros', '<a>&#0000011;</a>'],
    ['U+FFFE', '<a>&#xFFFE;</a>'],
    ['U+FFFF in decimal', '<a>&#65535;</a>'],
    ['in an attribute value', '<a x="&#1;"/>'],
    ['without a semicolon, which he still decodes', '<a x="G&#1"/>'],
    ['after a comment', '<a><!-- x -->&#8;</a>'],
    ['after a CDATA section', '<a><![CDATA[x]]>&#x8;</a>'],
    ['behind "<!--" inside an attribute value, which starts no comment', '<a x="<!--">&#1;<b y="-->"/></a>'],
    ['behind "?>" quoted inside a PI, where the parser does not end it', '<?pi "?><!--"?><a>&#1;</a><!-- -->'],
  ])('counts one %s', (_case, xml) => {
    expect(screenMarkup(xml).forbiddenReference).toBe(true);
  });

  it.each([
    ['inside CDATA', '<a><![CDATA[&#0;&#1;&#x1F;&#65535;]]></a>'],
    ['inside a comment', '<a><!-- &#1; &#x0; --></a>'],
    ['tab, line feed, carriage return', '<a>&#9;&#10;&#13;&#x9;&#xA;&#xD;</a>'],
    ['ordinary characters', '<a>&#32;&#x4e2d;&#20013;&#xFFFD;&#x10FFFF;</a>'],
    ['references past U+10FFFF, which he decodes to U+FFFD', '<a>&#99999999999999999999;&#x1000000000001;</a>'],
    ['escaped text that only spells a reference', '<a>&amp;#1;</a>'],
    ['&# without digits', '<a>&#;&#x;&#xg;</a>'],
  ])('ignores references %s', (_case, xml) => {
    expect(screenMarkup(xml).forbiddenReference).toBe(false);
  });

  it('reports a declaration even after a forbidden reference', () => {
    expect(screenMarkup('<a>&#1;</a><!DOCTYPE a>')).toEqual({ declaresDtd: true, forbiddenReference: true });
  });
});

describe('parseXml', () => {
  it('refuses a DOCTYPE before anything else, naming it', () => {
    expect(detailOf(() => parseXml('<!DOCTYPE a><a>&#1;</a>', '消息内容'))).toBe('消息内容含有DOCTYPE或实体声明，已拒绝');
  });

  it('refuses a forbidden reference outside CDATA and comments, and a raw control character anywhere', () => {
    expect(detailOf(() => parseXml('<a>&#1;</a>', '消息内容'))).toBe('消息内容含有XML不允许的控制字符');
    expect(detailOf(() => parseXml('<a><![CDATA[\u0001]]></a>', '消息内容'))).toBe('消息内容含有XML不允许的控制字符');
  });

  it('reads CDATA that spells a forbidden reference as the text it is', () => {
    expect(parseXml('<a><![CDATA[&#0;]]><!-- &#1; --></a>', '消息内容').root['#cdata']).toBe('&#0;');
  });

  it('refuses a document whose elements are not all closed', () => {
    expect(detailOf(() => parseXml('<a><b></b>', 'SOAP报文'))).toMatch(/^SOAP报文不是合法的XML/);
    expect(detailOf(() => parseXml('<a><b></a>', 'SOAP报文'))).toMatch(/^SOAP报文不是合法的XML/);
  });
});

describe('innerMarkup', () => {
  const doc = '<E><H><m>header</m></H><B><op><m a="1"><x><m>inner</m></x></m><m>second</m></op></B></E>';

  it('takes the markup inside the element the path leads to, nested elements of the same name included', () => {
    expect(innerMarkup(doc, ['B', 'op', 'm'])).toBe('<x><m>inner</m></x>');
    expect(innerMarkup(doc, ['H', 'm'])).toBe('header');
  });

  it('is not fooled by look-alikes in comments, CDATA or attribute values', () => {
    const decoys = `<E><B><!-- <op><m>comment</m></op> --><op x="<m>"><![CDATA[<m>cdata</m>]]><m><y/></m></op></B></E>`;
    expect(innerMarkup(decoys, ['B', 'op', 'm'])).toBe('<y/>');
  });

  it('answers null when there is no such element, and "" for an empty one', () => {
    expect(innerMarkup(doc, ['B', 'op', 'n'])).toBeNull();
    expect(innerMarkup(doc, ['H', 'op', 'm'])).toBeNull();
    expect(innerMarkup('<E><B><op><m/></op></B></E>', ['B', 'op', 'm'])).toBe('');
  });
});

// The scan that screens for DTDs and forbidden references also checks well-formedness, in the same
// pass: fast-xml-parser's validator no longer runs. It refuses what the validator and the parser
// refused, with the validator's words (and line:col), and a few things they let through.
describe('parseXml: well-formedness, checked in the same pass as the screen', () => {
  it.each([
    ['a mismatched close tag', '<a><b></a>', "Expected closing tag 'b' (opened in line 1, col 4) instead of closing tag 'a'.:1:7"],
    ['a mismatched close tag on a later line', '<a>\n  <b>\n</a>', "Expected closing tag 'b' (opened in line 2, col 3) instead of closing tag 'a'.:3:1"],
    ['an element left open at the end', '<a><b></b>', "Unclosed tag 'a'.:1:1"],
    ['elements left open at the end', '<a><b>', `Invalid '[    "a",    "b"]' found.:1:1`],
    ['a start tag cut off', '<a><b x="1"', `Invalid '[    "a",    "b"]' found.:1:1`],
    ['text after the root element', '<a></a>x', 'Extra text at the end:1:8'],
    ['text after a self-closing root element', '<a/>x', 'Extra text at the end:1:5'],
    ['a reference after the root element', '<a></a>&amp;', 'Extra text at the end:1:8'],
    ['text before the root element', 'x<a/>', "char 'x' is not expected.:1:1"],
    ['a second root element', '<a></a><b></b>', 'Multiple possible root nodes found.:1:10'],
    ['a second root of the same name', '<a/><a/>', 'Multiple possible root nodes found.:1:7'],
    ['a stray close tag before the root', '</a><a/>', "Closing tag 'a' has not been opened.:1:1"],
    ['a stray close tag after the root', '<a></a></a>', "Closing tag 'a' has not been opened.:1:8"],
    ['a close tag with attributes', '<a></a x="1">', "Closing tag 'a' can't have attributes or invalid starting.:1:4"],
    ['CDATA outside the root element', '<a/><![CDATA[x]]>', 'CDATA section outside the root element.:1:5'],
    ['no element at all', '<!-- only a comment -->', 'Start tag expected.:1:undefined'],
    ['a bare & in text', '<a>AT&T</a>', "char '&' is not expected.:1:6"],
    ['a < in text', '<a>1 < 2</a>', "Invalid space after '<'.:1:7"],
    ['an invalid tag name', '<a><1b/></a>', "Tag '1b' is an invalid name.:1:7"],
    ['an unquoted attribute value', '<a x=1/>', "Attribute 'x' is without value.:1:4"],
    ['an attribute without a value', '<a x/>', "boolean attribute 'x' is not allowed.:1:4"],
    ['attributes without space between them', '<a x="1"y="2"/>', "Attribute 'y' has no space in starting.:1:9"],
    ['a repeated attribute', '<a x="1" x="2"/>', "Attribute 'x' is repeated.:1:10"],
    ['an attribute value never closed', '<a x="1/>', "Attributes for 'a' have open quote.:1:3"],
    ['a comment never closed', '<a></a><!-- never closed', 'Comment is not closed.'],
    ['a PI never closed', '<a/><?pi never closed', 'Pi Tag is not closed.'],
    ['a CDATA section never closed', '<a><![CDATA[never closed', "Unclosed tag 'a'.:1:1"],
    ['an XML declaration after the start', ' <?xml version="1.0"?><a/>', 'XML declaration allowed only at the start of the document.:1:7'],
    ['a declaration other than DOCTYPE', '<a><!ELEMENT a ANY></a>', "Unexpected declaration '<!ELEMENT a '.:1:4"],
    ['a CDATA opener misspelt', '<a><![CDATX[x]]></a>', "Invalid CDATA section '<![CDATX['.:1:4"],
    ['a name the parser refuses', '<a><constructor/></a>', '[SECURITY] Invalid name: "constructor" is a reserved JavaScript keyword that could cause prototype pollution'],
  ])('refuses %s', (_case, xml, problem) => {
    expect(detailOf(() => parseXml(xml, '消息内容'))).toBe(`消息内容不是合法的XML（${problem}）`);
  });

  it('reads CDATA and comments holding markup-like text as the text they are', () => {
    const { rootName, root } = parseXml('<a><![CDATA[<b></c></a><!-- ]]><!-- </a><x y="> -->z</a>', '消息内容');
    expect(rootName).toBe('a');
    expect(root).toEqual({ '#cdata': '<b></c></a><!-- ', '#text': 'z' });
  });

  it('reads `>` and `<` inside quoted attribute values, and either quote inside the other', () => {
    const { root } = parseXml(`<a x="1>2" y='<' z="it's" w='say "hi"'><b/></a>`, '消息内容');
    expect(root).toEqual({ '@_x': '1>2', '@_y': '<', '@_z': "it's", '@_w': 'say "hi"', b: '' });
  });

  it('takes whitespace, comments and PIs around the root, and a byte order mark before it', () => {
    const xml = '\uFEFF<?xml version="1.0"?>\n<!-- before -->\n<?pi x?>\n<a>1</a>\n<!-- after -->\n<?pi y?>\n';
    expect(parseXml(xml, '消息内容')).toEqual({ rootName: 'a', root: { '#text': '1' } });
  });

  it('takes what the validator took: a stray `=` between attributes, a name it trimmed', () => {
    expect(parseXml('<a b="1" =>x</a>', '消息内容').root).toEqual({ '@_b': '1', '#text': 'x' });
    expect(parseXml('<a\u3000>x</a\u3000>', '消息内容').root).toEqual({ '#text': 'x' });
  });

  it('nests elements down to the parser cap and no deeper, however many siblings', () => {
    const nested = (levels: number): string => `${'<a>'.repeat(levels)}${'<b/>'.repeat(1000)}${'</a>'.repeat(levels)}`;
    expect(parseXml(nested(MAX_XML_DEPTH + 1), '消息内容').rootName).toBe('a');
    expect(detailOf(() => parseXml(nested(MAX_XML_DEPTH + 2), '消息内容'))).toBe('消息内容不是合法的XML（Maximum nested tags exceeded）');
  });

  it('checks 100,000 attributes of one tag for repeats without going quadratic', () => {
    const attrs = Array.from({ length: 100_000 }, (_, i) => ` a${i}="${i}"`).join('');
    const started = performance.now();
    expect(Object.keys(parseXml(`<r${attrs}/>`, '消息内容').root)).toHaveLength(100_000);
    expect(detailOf(() => parseXml(`<r${attrs} a99999="again"/>`, '消息内容'))).toMatch(/^消息内容不是合法的XML（Attribute 'a99999' is repeated\./);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('still reports a DOCTYPE or a forbidden reference first, whatever else is wrong', () => {
    expect(detailOf(() => parseXml('<a><b></a><!DOCTYPE a>', '消息内容'))).toBe('消息内容含有DOCTYPE或实体声明，已拒绝');
    expect(detailOf(() => parseXml('<a x=1>&#1;', '消息内容'))).toBe('消息内容含有XML不允许的控制字符');
    expect(detailOf(() => parseXml('<a/>x<b y="&#x1F;">', '消息内容'))).toBe('消息内容含有XML不允许的控制字符');
  });
});

describe('decodeEntities', () => {
  const pieces = fc.constantFrom(
    '&lt;', '&gt;', '&amp;', '&quot;', '&apos;', '&nbsp;', '&ldquo;', '&lt', '&amp', '&ampx;', '&LT;', '&#60;', '&#x3C;', '&#X3c;', '&#0;', '&#1;', '&#127;', '&#128;',
    '&#x9F;', '&#xA0;', '&#xD800;', '&#xFFFE;', '&#x10FFFF;', '&#x110000;', '&#99999999999;', '&#00065;', '&#65', '&#;', '&#x;', '&', ';', '=', 'a', '中', ' ',
  );
  const entityish = fc.array(fc.oneof(pieces, fc.string({ maxLength: 4 })), { maxLength: 20 }).map((parts) => parts.join(''));

  it('decodes text exactly as he.decode does', () => {
    fc.assert(
      fc.property(entityish, (text) => {
        expect(decodeEntities(text)).toBe(he.decode(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('decodes attribute values exactly as he.decode does in an attribute', () => {
    fc.assert(
      fc.property(entityish, (text) => {
        expect(decodeAttributeValue(text)).toBe(he.decode(text, { isAttributeValue: true }));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('outlineXml', () => {
  it('lists the elements down to its depth with what the tree would say of them', () => {
    const xml =
      '<E xmlns:p="urn:&amp;p"><H/><B a=" 1 "><p:op><m>x &lt; y<!-- c -->z<?pi?>w<![CDATA[<c>]]></m><n/><m/></p:op><toString/></B></E>';
    const outline = outlineXml(xml, '消息内容', 4)!;
    const [header, body] = outline.children(outline.root);
    expect([outline.name(header!), outline.name(body!)]).toEqual(['H', 'B']);
    expect([outline.isNode(header!), outline.isNode(body!)]).toEqual([false, true]);
    expect(outline.attribute(body!, 'a')).toBe('1');
    const [op, renamed] = outline.children(body!);
    expect(outline.name(renamed!)).toBe('__toString');
    expect(outline.namespaceOf(outline.name(op!), [op!, body!, outline.root])).toBe('urn:&p');
    // Tree order: elements of one name together, in the order each name first appears.
    const params = outline.children(op!);
    expect(params.map((e) => outline.name(e))).toEqual(['m', 'm', 'n']);
    expect(outline.text(params[0]!)).toBe('x < yzw<c>');
    expect(outline.hasCdata(params[0]!)).toBe(true);
    expect(outline.text(params[1]!)).toBe('');
  });

  it('answers null for a document whose names the parser would split, so its tree is read instead', () => {
    expect(outlineXml('<a\uFEFFb/>', '消息内容', 4)).toBeNull();
    expect(outlineXml('<a>x</a\u3000>', '消息内容', 4)).toBeNull();
  });

  it('refuses exactly what parseXml refuses', () => {
    expect(() => outlineXml('<a><b></a>', 'SOAP报文', 4)).toThrow(/SOAP报文不是合法的XML/);
    expect(() => outlineXml('<!DOCTYPE a><a/>', 'SOAP报文', 4)).toThrow(/DOCTYPE/);
  });
});

describe('outline: elements by local name, as the tree finds them', () => {
  const xml = '<R><a/><p:b x="1">1</p:b><b>2</b><toString>3</toString><q:toString>4</q:toString><c><b>5</b></c><p:b>6</p:b></R>';
  const outline = outlineXml(xml, '消息内容', ALL_DEPTHS)!;
  const { root: tree } = parseXml(xml, '消息内容');
  const texts = (elements: number[]): string[] => elements.map((e) => outline.text(e));

  it('links each element to its first child and next sibling, in document order', () => {
    const walked: string[] = [];
    for (let e = outline.firstChild(outline.root); e !== -1; e = outline.nextSibling(e)) walked.push(outline.name(e));
    expect(walked).toEqual(['a', 'p:b', 'b', '__toString', 'q:toString', 'c', 'p:b']);
    expect(outline.firstChild(outline.firstChild(outline.root))).toBe(-1);
  });

  it('finds the first child of a local name whatever its prefix, with the names the parser gives', () => {
    expect(outline.text(outline.childByLocalName(outline.root, 'b'))).toBe('1');
    expect(textOf(child(tree, 'b'))).toBe('1');
    // The parser keys an unprefixed `toString` as `__toString`; a prefixed one keeps its name.
    expect(outline.text(outline.childByLocalName(outline.root, 'toString'))).toBe('4');
    expect(textOf(child(tree, 'toString'))).toBe('4');
    expect(outline.text(outline.childByLocalName(outline.root, '__toString'))).toBe('3');
    expect(textOf(child(tree, '__toString'))).toBe('3');
    expect(outline.childByLocalName(outline.root, 'x')).toBe(-1);
  });

  it('lists the children of a local name in the tree\'s order: one group per qualified name', () => {
    expect(texts(outline.childrenByLocalName(outline.root, 'b'))).toEqual(['1', '6', '2']);
    expect(children(tree, 'b').map(textOf)).toEqual(['1', '6', '2']);
  });

  it('finds the first descendant depth first in the tree\'s order, which is not document order', () => {
    const nested = '<R><a/><b><x>1</x></b><a><x>2</x></a></R>';
    const o = outlineXml(nested, '消息内容', ALL_DEPTHS)!;
    expect(o.text(o.descendantByLocalName(o.root, 'x'))).toBe('2');
    expect(textOf(findFirst(parseXml(nested, '消息内容').root, 'x'))).toBe('2');
    expect(o.descendantByLocalName(o.root, 'R')).toBe(-1);
  });

  it('holds every element the parser takes at ALL_DEPTHS, down to an empty one below the deepest it opens', () => {
    const deepest = (opened: number): string => `${'<a>'.repeat(opened)}<request x="1"/>${'</a>'.repeat(opened)}`;
    const found = (o: XmlOutline): number => o.descendantByLocalName(o.root, 'request');
    const xml = deepest(MAX_XML_DEPTH + 1);
    expect(findFirst(parseXml(xml, '消息内容').root, 'request')).toEqual({ '@_x': '1' });
    const all = outlineXml(xml, '消息内容', ALL_DEPTHS)!;
    expect(all.attribute(found(all), 'x')).toBe('1');
    expect(found(outlineXml(xml, '消息内容', ALL_DEPTHS - 1)!)).toBe(-1);
    expect(() => outlineXml(deepest(MAX_XML_DEPTH + 2), '消息内容', ALL_DEPTHS)).toThrow(/Maximum nested tags exceeded/);
  });

  it('answers innerMarkup and children as before, through the links', () => {
    expect(innerMarkup(xml, ['c', 'b'])).toBe('5');
    expect(outline.children(outline.root).map((e) => outline.name(e))).toEqual(['a', 'p:b', 'p:b', 'b', '__toString', 'q:toString', 'c']);
  });
});
