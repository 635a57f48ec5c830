import type { Ack } from '../outcomes.js';
import { hl7Timestamp } from '../time.js';
import type { AckAddressing, AckShape, EnvelopeKind, HttpAnswer } from '../types.js';
import { SOAP11_NS, SOAP12_NS } from './envelope.js';
import { printable } from './xml.js';

// The HL7 v3 MCCI_IN000002UV01 acknowledgement (contract §4) and the SOAP envelope around it.
// Pure: the caller supplies the clock and the new ack id, so tests can pin both.

export interface AckInput {
  ack: Ack;
  addressing: AckAddressing;
  bridgeId: string;
  ackId: string;
  now: Date;
}

const DEVICE = 'classCode="DEV" determinerCode="INSTANCE"';

export function writeAck({ ack, addressing, bridgeId, ackId, now }: AckInput): string {
  return (
    `<MCCI_IN000002UV01 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">` +
    `<id root="2.16.156.10011.2.5.1.1" extension="${attr(ackId)}"/>` +
    `<creationTime value="${hl7Timestamp(now)}"/>` +
    `<interactionId root="2.16.156.10011.2.5.1.2" extension="MCCI_IN000002UV01"/>` +
    `<processingCode code="P"/>` +
    `<processingModeCode/>` +
    `<acceptAckCode code="AL"/>` +
    // Receiver and sender are the request's, swapped: we answer the system that sent it.
    `<receiver typeCode="RCV"><device ${DEVICE}><id><item root="2.16.156.10011.2.5.1.3" extension="${attr(addressing.senderId)}"/></id></device></receiver>` +
    `<sender typeCode="SND"><device ${DEVICE}><id><item root="2.16.156.10011.2.5.1.3" extension="${attr(addressing.receiverId || bridgeId)}"/></id></device></sender>` +
    `<acknowledgement typeCode="${ack.code}">` +
    `<targetMessage><id root="2.16.156.10011.2.5.1.1" extension="${attr(addressing.guid)}"/></targetMessage>` +
    `<acknowledgementDetail><text value="${attr(ack.reason)}"/></acknowledgementDetail>` +
    `</acknowledgement>` +
    `</MCCI_IN000002UV01>`
  );
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** Raw and form pushes get the bare ack; SOAP pushes a HIPMessageServerResponse of the same SOAP version. */
export function wrapAck(ackXml: string, envelope: AckShape): HttpAnswer {
  if (envelope.kind === 'raw' || envelope.kind === 'form') {
    return { contentType: 'text/xml; charset=utf-8', body: XML_DECLARATION + ackXml };
  }
  const soapNs = envelope.kind === 'soap12' ? SOAP12_NS : SOAP11_NS;
  const opNs = envelope.operationNamespace || 'urn:hl7-org:v3';
  // The result element mirrors the request's parameters: qualified (DHC/Ensemble) or not (JAX-WS).
  const result = envelope.qualifiedParameters ? 'ns:HIPMessageServerResult' : 'HIPMessageServerResult';
  const content = envelope.cdata ? `<![CDATA[${ackXml}]]>` : text(ackXml);
  return {
    contentType: soapContentType(envelope.kind),
    body:
      XML_DECLARATION +
      `<soap:Envelope xmlns:soap="${soapNs}"><soap:Body>` +
      `<ns:HIPMessageServerResponse xmlns:ns="${attr(opNs)}"><${result}>${content}</${result}></ns:HIPMessageServerResponse>` +
      `</soap:Body></soap:Envelope>`,
  };
}

export function soapContentType(kind: EnvelopeKind): string {
  return kind === 'soap12' ? 'application/soap+xml; charset=utf-8' : 'text/xml; charset=utf-8';
}

/** Attribute value: escaped, and stripped of characters XML 1.0 cannot carry (ids are echoed as read). */
export function attr(value: string): string {
  return printable(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function text(value: string): string {
  return printable(value).replace(/[&<>]/g, (c) => ESCAPES[c]!);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
