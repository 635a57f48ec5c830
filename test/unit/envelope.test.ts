import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { refusalOf } from '../../src/push/read.js';
import { guessEnvelopeKind, parseFormBytes, readEnvelope } from '../../src/push/envelope.js';
import { approvalXml, request, sample } from '../support/samples.js';

describe('readEnvelope', () => {
  it('takes the CDATA payload and service code out of a DHC SOAP 1.1 call', () => {
    const env = readEnvelope(Buffer.from(sample('soap11-dhcc.xml')), 'text/xml; charset=utf-8');
    expect(env.kind).toBe('soap11');
    expect(env.action).toBe('GCP0001');
    expect(env.operationNamespace).toBe('http://www.dhcc.com.cn');
    expect(env.qualifiedParameters).toBe(true);
    expect(env.cdata).toBe(true);
    expect(env.payload.startsWith('<?xml')).toBe(true);
    expect(env.payload).toContain('<employee_no>10086</employee_no>');
  });

  it('decodes the entity-escaped payload of a SOAP 1.2 call with unqualified parameters', () => {
    const env = readEnvelope(Buffer.from(sample('soap12-hl7.xml')), 'application/soap+xml; charset=utf-8');
    expect(env.kind).toBe('soap12');
    expect(env.action).toBe('GCP0001');
    expect(env.operationNamespace).toBe('urn:hl7-org:v3');
    expect(env.qualifiedParameters).toBe(false);
    expect(env.cdata).toBe(false);
    expect(env.payload).toContain('<bill_num>BX20261122000123</bill_num>');
  });

  it('matches parameters by local name under a default namespace (tempuri input1/input2)', () => {
    const soap = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><HIPMessageServer xmlns="http://tempuri.org/"><input1>MES0201</input1><input2>&lt;a/&gt;</input2></HIPMessageServer></s:Body></s:Envelope>`;
    const env = readEnvelope(Buffer.from(soap), 'text/xml');
    expect(env).toMatchObject({ kind: 'soap11', action: 'MES0201', payload: '<a/>', operationNamespace: 'http://tempuri.org/', qualifiedParameters: true });
  });

  it('treats XML whose root is not a SOAP Envelope as a raw payload', () => {
    const xml = approvalXml('G-1', request('10086'));
    const env = readEnvelope(Buffer.from(xml), 'application/xml');
    expect(env.kind).toBe('raw');
    expect(env.payload).toBe(xml.trim());
  });

  it('treats an Envelope in a foreign namespace as raw', () => {
    const env = readEnvelope(Buffer.from('<Envelope xmlns="urn:other"><Body/></Envelope>'), 'text/xml');
    expect(env.kind).toBe('raw');
  });

  it('refuses a SOAP envelope without a Body or operation as a format error', () => {
    const noOp = `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body></soap:Body></soap:Envelope>`;
    expect(() => readEnvelope(Buffer.from(noOp), 'application/soap+xml')).toThrow(FormatError);
    expect(() => readEnvelope(Buffer.from(noOp), 'application/soap+xml')).toThrow(/消息格式错误/);
  });

  it('reads the message and action fields of a form post, with GBK percent-escapes', () => {
    const xml = approvalXml('G-2', request('10086', '同意报销'));
    const gbk = iconv.encode(xml, 'gbk');
    const body = `action=GCP0001&message=${[...gbk].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`;
    const env = readEnvelope(Buffer.from(body, 'latin1'), 'application/x-www-form-urlencoded; charset=GBK');
    expect(env.kind).toBe('form');
    expect(env.action).toBe('GCP0001');
    expect(env.payload).toContain('同意报销');
  });

  it('decodes a UTF-8 form body with + as space', () => {
    const body = `message=${encodeURIComponent('<a>x y</a>').replace(/%20/g, '+')}`;
    expect(readEnvelope(Buffer.from(body), 'application/x-www-form-urlencoded').payload).toBe('<a>x y</a>');
  });

  it('takes the charset from the XML declaration when the Content-Type has none', () => {
    const soap = sample('soap11-dhcc.xml').replace('encoding="UTF-8"', 'encoding="GBK"');
    const env = readEnvelope(iconv.encode(soap, 'gbk'), 'text/xml');
    expect(env.payload).toContain('劳务费报销');
  });

  it('prefers the Content-Type charset over the declaration', () => {
    const xml = approvalXml('G-3', request('10086', '不同意')).replace('encoding="UTF-8"', 'encoding="UTF-8"');
    const env = readEnvelope(iconv.encode(xml, 'gb18030'), 'text/xml; charset=gb18030');
    expect(env.payload).toContain('不同意');
  });

  it('strips a UTF-8 byte order mark', () => {
    const xml = approvalXml('G-4', request('10086'));
    const env = readEnvelope(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml)]), 'text/xml');
    expect(env.payload.startsWith('<?xml')).toBe(true);
  });

  it('refuses an unknown charset by name', () => {
    expect(() => readEnvelope(Buffer.from('<a/>'), 'text/xml; charset=klingon-7')).toThrow(/klingon-7/);
  });
});

describe('guessEnvelopeKind', () => {
  it('recognises SOAP versions by namespace even when the XML is broken', () => {
    expect(guessEnvelopeKind(Buffer.from('<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><broken'), 'text/xml')).toBe('soap12');
    expect(guessEnvelopeKind(Buffer.from('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'), 'text/xml')).toBe('soap11');
    expect(guessEnvelopeKind(Buffer.from('junk'), 'text/plain')).toBe('raw');
    expect(guessEnvelopeKind(Buffer.from(''), 'application/x-www-form-urlencoded')).toBe('form');
  });
});

describe('parseFormBytes', () => {
  it('keeps the first of repeated fields and decodes names', () => {
    const fields = parseFormBytes(Buffer.from('a=1&a=2&b%5B%5D=x&empty'));
    expect(fields.get('a')?.toString()).toBe('1');
    expect(fields.get('b[]')?.toString()).toBe('x');
    expect(fields.get('empty')?.length).toBe(0);
  });

  it('leaves a malformed percent escape as it is', () => {
    expect(parseFormBytes(Buffer.from('m=100%zz')).get('m')?.toString()).toBe('100%zz');
  });
});

describe('readEnvelope with the approval as literal child elements', () => {
  it('takes the inner markup of the payload element verbatim', () => {
    const inner = approvalXml('G-LITERAL', request('10086')).replace(/<\?xml[^>]*\?>/, '').trim();
    const soap = `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body><urn:HIPMessageServer xmlns:urn="urn:hl7-org:v3"><urn:action>GCP0001</urn:action><urn:message>${inner}</urn:message></urn:HIPMessageServer></soap:Body></soap:Envelope>`;
    const env = readEnvelope(Buffer.from(soap), 'application/soap+xml');
    expect(env.payload).toBe(inner);
  });
});

describe('readEnvelope with a mislabelled body', () => {
  it('reads XML sent as application/x-www-form-urlencoded (curl -d) as a raw or SOAP push', () => {
    expect(readEnvelope(Buffer.from(sample('soap11-dhcc.xml')), 'application/x-www-form-urlencoded').kind).toBe('soap11');
    const raw = readEnvelope(Buffer.from(sample('raw-escaped.txt')), 'application/x-www-form-urlencoded');
    expect(raw.kind).toBe('raw');
    expect(raw.payload.startsWith('&lt;?xml')).toBe(true);
  });
});

describe('readEnvelope on a SOAP envelope that is not whole', () => {
  const escaped = approvalXml('G-CUT', request('10086')).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const head = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><HIPMessageServer xmlns="http://tempuri.org/"><action>GCP0001</action><message>${escaped}`;

  it.each([
    ['cut off after the payload', `${head}</message></HIPMessageServer>`],
    ['with the payload element never closed', head],
    ['with the payload element never closed but the rest closed', `${head}</HIPMessageServer></s:Body></s:Envelope>`],
  ])('is a format error when %s', (_case, soap) => {
    let caught: unknown;
    try {
      readEnvelope(Buffer.from(soap), 'text/xml; charset=utf-8');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FormatError);
    expect(refusalOf(caught as FormatError)).toMatchObject({ code: 'MALFORMED', detail: expect.stringMatching(/^SOAP报文不是合法的XML/) });
  });

  it('reads the same envelope once it is closed', () => {
    expect(readEnvelope(Buffer.from(`${head}</message></HIPMessageServer></s:Body></s:Envelope>`), 'text/xml').payload).toContain('G-CUT');
  });
});

describe('readEnvelope taking a literal payload out of the envelope text', () => {
  it('finds the payload element of the operation, not a look-alike in a comment or the header', () => {
    const inner = '<R><id extension="G-REAL"/></R>';
    const soap =
      `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><message>header</message></s:Header>` +
      `<s:Body><!-- <message x="y"><R><id extension="G-COMMENT"/></R></message> -->` +
      `<HIPMessageServer><action>GCP0001</action><message>${inner}</message></HIPMessageServer></s:Body></s:Envelope>`;
    expect(readEnvelope(Buffer.from(soap), 'text/xml').payload).toBe(inner);
  });
});
