import { PushRejected, type Outcome } from '../outcomes.js';
import type { AckAddressing, Approval, Envelope } from '../types.js';
import type { AckShape } from './acknowledge.js';
import { readPayload } from './approval.js';
import { guessEnvelopeKind, readEnvelope } from './envelope.js';

// The pure front of the push path: body bytes in, the envelope and the approval out — or the
// rejection to answer with, carrying whatever ids could be read. No I/O.

export type ReadPush =
  | { ok: true; envelope: Envelope; addressing: AckAddressing; approval: Approval }
  | { ok: false; envelope: Envelope | null; addressing: AckAddressing; rejection: Extract<Outcome, { code: 'EMPTY' | 'MALFORMED' }> };

const NO_ADDRESSING: AckAddressing = { guid: '', senderId: '', receiverId: '' };

export function readPush(body: Buffer, contentType: string | undefined): ReadPush {
  let envelope: Envelope | null = null;
  try {
    envelope = readEnvelope(body, contentType);
    const { addressing, approval } = readPayload(envelope.payload);
    return { ok: true, envelope, addressing, approval };
  } catch (err) {
    if (!(err instanceof PushRejected)) throw err;
    return { ok: false, envelope, addressing: err.addressing ?? NO_ADDRESSING, rejection: err.outcome };
  }
}

/** How to wrap the ack: as the push came, or, when its envelope could not be read, as it most likely came. */
export function ackShapeOf(read: ReadPush, body: Buffer, contentType: string | undefined): AckShape {
  return read.envelope ?? { kind: guessEnvelopeKind(body, contentType), operationNamespace: null, qualifiedParameters: false, cdata: false };
}
