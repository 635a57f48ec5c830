import { FormatError } from '../errors.js';
import type { Outcome } from '../outcomes.js';
import type { AckAddressing, AckShape, Approval, Envelope } from '../types.js';
import { readPayload } from './approval.js';
import { guessEnvelopeKind, readEnvelope } from './envelope.js';

// The pure front of the push path: body bytes in, the envelope and the approval out — or the
// refusal to answer with, carrying whatever ids could be read before the step that failed. No I/O.

export type ReadPush =
  | { ok: true; envelope: Envelope; addressing: AckAddressing; approval: Approval }
  | { ok: false; envelope: Envelope | null; addressing: AckAddressing; refusal: Extract<Outcome, { code: 'EMPTY' | 'MALFORMED' }>; shape: AckShape };

const NO_ADDRESSING: AckAddressing = { guid: '', senderId: '', receiverId: '' };

export function readPush(body: Buffer, contentType: string | undefined): ReadPush {
  let envelope: Envelope;
  try {
    envelope = readEnvelope(body, contentType);
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    // A body whose envelope cannot be read is answered as it most likely came (sniffed once, here).
    const shape = { kind: guessEnvelopeKind(body, contentType), operationNamespace: null, qualifiedParameters: false, cdata: false };
    return { ok: false, envelope: null, addressing: NO_ADDRESSING, refusal: refusalOf(err), shape };
  }
  const payload = readPayload(envelope.payload);
  if (!payload.ok) return { ok: false, envelope, addressing: payload.addressing, refusal: refusalOf(payload.error), shape: envelope };
  return { ok: true, envelope, addressing: payload.addressing, approval: payload.approval };
}

/** How the push path answers a format error: the contract's EMPTY or MALFORMED row. */
export function refusalOf(err: FormatError): Extract<Outcome, { code: 'EMPTY' | 'MALFORMED' }> {
  return err.code === 'EMPTY' ? { code: 'EMPTY' } : { code: 'MALFORMED', detail: err.detail };
}
