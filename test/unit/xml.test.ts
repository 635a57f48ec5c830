import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { innerMarkup, parseXml, screenMarkup } from '../../src/push/xml.js';

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
