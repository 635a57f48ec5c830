import { randomUUID } from 'node:crypto';
import type { Ack } from '../outcomes.js';
import type { AckAddressing, AckShape, HttpAnswer } from '../types.js';
import { writeAck, wrapAck } from './acknowledge.js';
import { guessEnvelopeKind } from './envelope.js';

// The acknowledge step, and the only place an ack is composed: for a processed push, for one
// refused at the HTTP edge, and for a request the HTTP parser could not read.

export interface Answer extends HttpAnswer {
  /** The ack itself, as kept in the message log. */
  ackXml: string;
}

export const NO_IDS: AckAddressing = { guid: '', senderId: '', receiverId: '' };

export function compose(ack: Ack, addressing: AckAddressing, shape: AckShape, bridgeId: string): Answer {
  const ackXml = writeAck({ ack, addressing, bridgeId, ackId: randomUUID().toUpperCase(), now: new Date() });
  return { ackXml, ...wrapAck(ackXml, shape) };
}

/** For a request whose body was not read: the envelope its headers suggest. */
export function shapeFromHeaders(contentType: string | undefined, soapAction: string | undefined): AckShape {
  return { kind: guessEnvelopeKind(Buffer.alloc(0), contentType, soapAction), operationNamespace: null, qualifiedParameters: false, cdata: false };
}
