import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { ackOf, type Outcome } from '../../src/outcomes.js';
import { writeAck, wrapAck } from '../../src/push/acknowledge.js';
import { hl7Timestamp } from '../../src/time.js';
import type { Envelope } from '../../src/types.js';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', removeNSPrefix: true, parseAttributeValue: false, parseTagValue: false });
const addressing = { guid: '8D73520B-D489-4B70-8F4B-7B5C2D7961B5', senderId: 'GCPERP', receiverId: 'WXBRIDGE' };
const now = new Date(2026, 10, 22, 9, 5, 7);

function ack(outcome: Outcome, addr = addressing) {
  return writeAck({ ack: ackOf(outcome), addressing: addr, bridgeId: 'WECHAT-BRIDGE', ackId: 'ACK-ID-1', now });
}

const soap = (kind: Envelope['kind'], extra: Partial<Envelope> = {}) => ({ kind, operationNamespace: 'http://www.dhcc.com.cn', qualifiedParameters: false, cdata: false, ...extra });

describe('writeAck', () => {
  it('writes the contract\'s MCCI_IN000002UV01 with swapped devices and the request GUID', () => {
    const xml = ack({ code: 'DELIVERED' });
    expect(xml.startsWith('<MCCI_IN000002UV01 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">')).toBe(true);
    const doc = parser.parse(xml).MCCI_IN000002UV01;
    expect(doc.ITSVersion).toBe('XML_1.0');
    expect(doc.id).toEqual({ root: '2.16.156.10011.2.5.1.1', extension: 'ACK-ID-1' });
    expect(doc.creationTime.value).toBe('20261122090507');
    expect(doc.interactionId).toEqual({ root: '2.16.156.10011.2.5.1.2', extension: 'MCCI_IN000002UV01' });
    expect(doc.processingCode.code).toBe('P');
    expect(doc.acceptAckCode.code).toBe('AL');
    expect(doc.receiver.device.id.item).toEqual({ root: '2.16.156.10011.2.5.1.3', extension: 'GCPERP' });
    expect(doc.sender.device.id.item).toEqual({ root: '2.16.156.10011.2.5.1.3', extension: 'WXBRIDGE' });
    expect(doc.acknowledgement.typeCode).toBe('AA');
    expect(doc.acknowledgement.targetMessage.id).toEqual({ root: '2.16.156.10011.2.5.1.1', extension: addressing.guid });
    expect(doc.acknowledgement.acknowledgementDetail.text.value).toBe('处理成功');
  });

  it('uses BRIDGE_ID as sender when the request named no receiver, and an empty GUID when there was none', () => {
    const doc = parser.parse(ack({ code: 'EMPTY' }, { guid: '', senderId: '', receiverId: '' })).MCCI_IN000002UV01;
    expect(doc.sender.device.id.item.extension).toBe('WECHAT-BRIDGE');
    expect(doc.acknowledgement.targetMessage.id.extension).toBe('');
    expect(doc.acknowledgement.typeCode).toBe('AE');
    expect(doc.acknowledgement.acknowledgementDetail.text.value).toBe('推送消息不能为空');
  });

  it('escapes reason text and ids so an errmsg cannot break the XML', () => {
    const xml = ack({ code: 'WECHAT_REJECTED', errcode: 45015, errmsg: 'a "quoted" <b> & \'x\'' }, { guid: 'G"<>', senderId: '&', receiverId: '' });
    expect(xml).toContain('&quot;quoted&quot; &lt;b&gt; &amp; &apos;x&apos;');
    const decoding = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', removeNSPrefix: true, processEntities: true });
    const decoded = decoding.parse(xml).MCCI_IN000002UV01;
    expect(decoded.acknowledgement.acknowledgementDetail.text.value).toBe('微信发送失败(45015): a "quoted" <b> & \'x\'');
    expect(decoded.acknowledgement.targetMessage.id.extension).toBe('G"<>');
  });
});

describe('ackOf: one reason per contract row', () => {
  it.each<[Outcome, 'AA' | 'AE', RegExp]>([
    [{ code: 'DELIVERED' }, 'AA', /^处理成功$/],
    [{ code: 'SANDBOX' }, 'AA', /^处理成功/],
    [{ code: 'DUPLICATE', firstAck: '2026-11-22 10:00:00' }, 'AA', /^处理成功/],
    [{ code: 'EMPTY' }, 'AE', /^推送消息不能为空$/],
    [{ code: 'MALFORMED', detail: 'x' }, 'AE', /^消息格式错误/],
    [{ code: 'UNBOUND' }, 'AE', /^工号关联账号不存在$/],
    [{ code: 'GUID_CONFLICT' }, 'AE', /^消息ID重复/],
    [{ code: 'WECHAT_REJECTED', errcode: 45015, errmsg: 'out of limit' }, 'AE', /^微信发送失败\(45015\): out of limit$/],
    [{ code: 'WECHAT_UNREACHABLE', detail: '连接被拒绝', maybeDelivered: false }, 'AE', /^微信接口调用失败/],
    [{ code: 'BUSY' }, 'AE', /^系统繁忙/],
  ])('%o', (outcome, code, reason) => {
    expect(ackOf(outcome).code).toBe(code);
    expect(ackOf(outcome).reason).toMatch(reason);
  });
});

describe('wrapAck', () => {
  const xml = ack({ code: 'DELIVERED' });

  it('answers raw and form pushes with the bare ack as text/xml', () => {
    for (const kind of ['raw', 'form'] as const) {
      const answer = wrapAck(xml, soap(kind));
      expect(answer.contentType).toBe('text/xml; charset=utf-8');
      expect(answer.body).toBe(`<?xml version="1.0" encoding="UTF-8"?>${xml}`);
    }
  });

  it('answers SOAP 1.1 with HIPMessageServerResponse in the operation namespace, ack as escaped text', () => {
    const answer = wrapAck(xml, soap('soap11'));
    expect(answer.contentType).toBe('text/xml; charset=utf-8');
    const doc = new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(answer.body);
    const envelope = doc['soap:Envelope'];
    expect(envelope['@_xmlns:soap']).toBe('http://schemas.xmlsoap.org/soap/envelope/');
    const response = envelope['soap:Body']['ns:HIPMessageServerResponse'];
    expect(response['@_xmlns:ns']).toBe('http://www.dhcc.com.cn');
    expect(answer.body).toContain(`<HIPMessageServerResult>${xml.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</HIPMessageServerResult>`);
    expect(new XMLParser({ processEntities: true, parseTagValue: false }).parse(answer.body)['soap:Envelope']['soap:Body']['ns:HIPMessageServerResponse'].HIPMessageServerResult).toBe(xml);
    expect(response).toHaveProperty('HIPMessageServerResult');
  });

  it('answers SOAP 1.2 as application/soap+xml, qualified result and CDATA when the request used them', () => {
    const answer = wrapAck(xml, soap('soap12', { qualifiedParameters: true, cdata: true, operationNamespace: 'urn:hl7-org:v3' }));
    expect(answer.contentType).toBe('application/soap+xml; charset=utf-8');
    expect(answer.body).toContain('xmlns:soap="http://www.w3.org/2003/05/soap-envelope"');
    expect(answer.body).toContain(`<ns:HIPMessageServerResult><![CDATA[${xml}]]></ns:HIPMessageServerResult>`);
  });
});

describe('hl7Timestamp', () => {
  it('pads every field', () => {
    expect(hl7Timestamp(new Date(2026, 0, 2, 3, 4, 5))).toBe('20260102030405');
  });
});
