import { XMLParser } from 'fast-xml-parser';
import he from 'he';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Outcome } from '../../src/outcomes.js';
import { readPayloadTree, readPayload as readResult } from '../../src/push/approval.js';
import { refusalOf } from '../../src/push/read.js';
import { unescapePayload } from '../../src/push/unescape.js';
import { approvalXml, request, sample } from '../support/samples.js';

/** The approval and its ids; a payload that cannot be read fails the test. */
function readPayload(payload: string) {
  const read = readResult(payload);
  if (!read.ok) throw read.error;
  return read;
}

function rejection(payload: string): { outcome: Outcome; guid: string } {
  const read = readResult(payload);
  if (read.ok) throw new Error('expected a rejection');
  return { outcome: refusalOf(read.error), guid: read.addressing.guid };
}

describe('unescapePayload', () => {
  const xml = '<a x="1">A&amp;B</a>';

  it('leaves XML alone', () => {
    expect(unescapePayload(`  ${xml}\n`)).toBe(xml);
  });

  it('peels one and two layers of HTML escaping, and no more than needed', () => {
    const once = he.escape(xml);
    const twice = he.escape(once);
    expect(unescapePayload(once)).toBe(xml);
    expect(unescapePayload(twice)).toBe(xml);
  });

  it('stops on text that is not escaped XML', () => {
    expect(unescapePayload('plain words & more')).toBe('plain words & more');
  });

  it('strips a byte order mark inside the payload', () => {
    expect(unescapePayload(`\uFEFF${he.escape(xml)}`)).toBe(xml);
  });
});

describe('readPayload', () => {
  it('reads every field of the contract sample, values as strings', () => {
    const { approval, addressing } = readPayload(sample('approval.xml'));
    expect(addressing).toEqual({ guid: '8D73520B-D489-4B70-8F4B-7B5C2D7961B5', senderId: 'GCPERP', receiverId: 'WXBRIDGE' });
    expect(approval).toMatchObject({
      employeeNo: '10086',
      operator: '20011',
      billType: '劳务费报销',
      billNum: 'BX20261122000123',
      approvalDate: '2026-11-22 10:15:00',
      approvalOpinion: '同意',
    });
    expect(approval.items).toEqual([
      { pi: '30001', cardNum: '6222021234567890123', projectName: 'XYZ-001 II期临床试验' },
      { pi: '30002', cardNum: '6222021234567890456', projectName: 'ABC-7 生物等效性试验' },
    ]);
  });

  it('reads the HTML-escaped sample the same way', () => {
    expect(readPayload(sample('raw-escaped.txt'))).toEqual(readPayload(sample('approval.xml')));
  });

  it('keeps leading zeros and every digit of long numbers', () => {
    const lists = '<lists><PI>000777</PI><card_num>6222021234567890123</card_num><project_name>1e5</project_name></lists>';
    const { approval } = readPayload(approvalXml('G', request('000123', '0.50', lists)));
    expect(approval.employeeNo).toBe('000123');
    expect(approval.approvalOpinion).toBe('0.50');
    expect(approval.items[0]).toEqual({ pi: '000777', cardNum: '6222021234567890123', projectName: '1e5' });
  });

  it('decodes XML, HTML named and numeric entities, then trims', () => {
    const { approval } = readPayload(approvalXml('G', request('10086', '&nbsp;&ldquo;同意&rdquo;&#x4e2d;&#20013;&amp;&lt;&gt; ')));
    expect(approval.approvalOpinion).toBe('“同意”中中&<>');
  });

  it('reads one list item and no list items alike', () => {
    const one = readPayload(approvalXml('G', request('1', 'x', '<lists><PI>9</PI></lists>'))).approval.items;
    expect(one).toEqual([{ pi: '9', cardNum: '', projectName: '' }]);
    expect(readPayload(approvalXml('G', request('1'))).approval.items).toEqual([]);
  });

  it('takes the root element\'s own id as the GUID, not a deeper one', () => {
    const deeper = '<patient><id root="2.16.156.10011.1.11" extension="PATIENT-1"/></patient>';
    const xml = `<R xmlns="urn:hl7-org:v3">${deeper}<id root="2.16.156.10011.2.5.1.1" extension="THE-GUID"/>${request('1')}</R>`;
    expect(readPayload(xml).addressing.guid).toBe('THE-GUID');
  });

  it('reads device ids written without <item>', () => {
    const xml = `<R><id extension="G"/><sender><device><id root="x" extension="ERP-A"/></device></sender>${request('1')}</R>`;
    expect(readPayload(xml).addressing).toEqual({ guid: 'G', senderId: 'ERP-A', receiverId: '' });
  });

  it('finds the first <request> anywhere below the root, with any namespace prefix', () => {
    const xml = `<v3:R xmlns:v3="urn:hl7-org:v3"><v3:id extension="G"/><a><b><v3:request><v3:employee_no>42</v3:employee_no></v3:request></b></a><request><employee_no>99</employee_no></request></v3:R>`;
    expect(readPayload(xml).approval.employeeNo).toBe('42');
  });

  it('answers 推送消息不能为空 for an empty payload or an empty <request>', () => {
    expect(rejection('   ').outcome).toEqual({ code: 'EMPTY' });
    expect(rejection('&#32;').outcome).toEqual({ code: 'EMPTY' });
    const empty = rejection(approvalXml('G-EMPTY', '<request>  </request>'));
    expect(empty.outcome).toEqual({ code: 'EMPTY' });
    expect(empty.guid).toBe('G-EMPTY');
    expect(rejection(approvalXml('G', '<request/>')).outcome.code).toBe('EMPTY');
  });

  it('answers 消息格式错误 for text that is not XML, broken XML, no GUID or no employee_no', () => {
    expect(rejection('hello, this is not xml').outcome.code).toBe('MALFORMED');
    expect(rejection('<a><b></a>').outcome.code).toBe('MALFORMED');
    expect(rejection('<a/><b/>').outcome.code).toBe('MALFORMED');
    expect(rejection(`<R>${request('1')}</R>`).outcome).toMatchObject({ code: 'MALFORMED', detail: expect.stringContaining('消息ID') });
    const noEmployee = rejection(approvalXml('G-NOEMP', '<request><operator>1</operator></request>'));
    expect(noEmployee.outcome).toMatchObject({ code: 'MALFORMED', detail: expect.stringContaining('employee_no') });
    expect(noEmployee.guid).toBe('G-NOEMP');
  });

  it('refuses DOCTYPE and entity declarations without expanding them', () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><R><id extension="G"/><request><employee_no>&lol2;</employee_no></request></R>`;
    expect(rejection(laughs).outcome).toMatchObject({ code: 'MALFORMED', detail: expect.stringContaining('DOCTYPE') });
    const xxe = he.escape(`<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><R><id extension="G"/><request><employee_no>&x;</employee_no></request></R>`);
    expect(rejection(xxe).outcome.code).toBe('MALFORMED');
  });

  it('refuses nesting deeper than the parser cap instead of overflowing the stack', () => {
    const deep = `<R><id extension="G"/>${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}</R>`;
    expect(rejection(deep).outcome.code).toBe('MALFORMED');
  });
});

describe('control characters', () => {
  it('refuses raw and referenced C0 control characters as a format error', () => {
    expect(rejection(`<a><id extension="&#1;"/><request><employee_no>1</employee_no></request></a>`).outcome).toMatchObject({ code: 'MALFORMED', detail: expect.stringContaining('控制字符') });
    expect(rejection(`<a><id extension="G"/><request><employee_no>1\u0000</employee_no></request></a>`).outcome.code).toBe('MALFORMED');
    expect(rejection(`<a><id extension="G"/><request><employee_no>&#x1F;</employee_no></request></a>`).outcome.code).toBe('MALFORMED');
  });

  it('still accepts tab, line feed and carriage return references', () => {
    const { approval } = readPayload(approvalXml('G', request('10086', '同意&#9;&#10;&#13;报销')));
    expect(approval.approvalOpinion).toBe('同意\t\n\r报销');
  });
});

describe('character references inside CDATA and comments', () => {
  it('reads CDATA that spells a forbidden reference as literal text', () => {
    const { approval } = readPayload(approvalXml('G', request('10086', '<![CDATA[&#0; &#1; &#x1F;]]>')));
    expect(approval.approvalOpinion).toBe('&#0; &#1; &#x1F;');
  });

  it('ignores a forbidden reference inside a comment', () => {
    const { approval } = readPayload(approvalXml('G', request('10086', '同意<!-- &#1; -->')));
    expect(approval.approvalOpinion).toBe('同意');
  });

  it('still refuses the same reference outside them, also without its semicolon in an attribute', () => {
    expect(rejection(approvalXml('G', request('10086', '&#1;<![CDATA[x]]>'))).outcome).toMatchObject({ code: 'MALFORMED', detail: expect.stringContaining('控制字符') });
    expect(rejection(approvalXml('G&#1', request('10086'))).outcome).toMatchObject({ code: 'MALFORMED', detail: expect.stringContaining('控制字符') });
  });
});

describe('identifiers Postgres cannot index', () => {
  it('refuses a GUID longer than 128 characters, naming it, and echoes no GUID', () => {
    const long = rejection(approvalXml('G'.repeat(129), request('10086')));
    expect(long.outcome).toEqual({ code: 'MALFORMED', detail: '消息ID（根节点的id/@extension）超过128个字符' });
    expect(long.guid).toBe('');
    expect(readPayload(approvalXml('G'.repeat(128), request('10086'))).addressing.guid).toBe('G'.repeat(128));
  });

  it('refuses an employee number longer than the mapping table holds, naming 申请人工号', () => {
    const long = rejection(approvalXml('G-LONG-EMP', request('1'.repeat(65))));
    expect(long.outcome).toEqual({ code: 'MALFORMED', detail: '申请人工号（employee_no）超过64个字符' });
    expect(long.guid).toBe('G-LONG-EMP');
    expect(readPayload(approvalXml('G', request('𠀋'.repeat(64)))).approval.employeeNo).toBe('𠀋'.repeat(64));
  });
});

describe('employee numbers with characters no one can see', () => {
  const hidden = ['\t', '\n', '\u0085', '\u00ad', '\u200b', '\u200d', '\u202e', '\u2060', '\u2066', '\ufeff'];
  it.each(hidden.map((c) => [c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0'), c]))('refuses U+%s inside one', (_code, char) => {
    const refused = rejection(approvalXml('G-HIDDEN', request(`100${char}86`)));
    expect(refused.outcome).toEqual({ code: 'MALFORMED', detail: '申请人工号含有控制字符或不可见字符' });
    expect(refused.guid).toBe('G-HIDDEN');
  });

  it('also when the character comes as a reference or in CDATA', () => {
    expect(rejection(approvalXml('G', request('100&#x200B;86'))).outcome.code).toBe('MALFORMED');
    expect(rejection(approvalXml('G', request('<![CDATA[\u202e10086]]>'))).outcome.code).toBe('MALFORMED');
  });

  it('accepts ordinary whitespace around the number, which is trimmed', () => {
    expect(readPayload(approvalXml('G', request('\n\t 10086 \u3000\n'))).approval.employeeNo).toBe('10086');
  });
});

describe('reading the payload without its tree', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('reads a payload from its outline: fast-xml-parser builds no tree', () => {
    const parse = vi.spyOn(XMLParser.prototype, 'parse');
    const read = readPayload(sample('approval.xml'));
    expect(parse).not.toHaveBeenCalled();
    expect(read).toEqual(readPayloadTree(sample('approval.xml')));
    expect(parse).toHaveBeenCalledTimes(1);
  });

  it('reads the tree of a payload with a name the parser splits (U+1680 inside), as before', () => {
    const xml = approvalXml('G-EXOTIC', request('10086'), '<a\u1680b/>');
    const parse = vi.spyOn(XMLParser.prototype, 'parse');
    expect(readPayload(xml)).toEqual(readPayloadTree(xml));
    expect(parse).toHaveBeenCalledTimes(2);
    expect(readPayload(xml)).toMatchObject({ ok: true, addressing: { guid: 'G-EXOTIC' } });
  });
});
