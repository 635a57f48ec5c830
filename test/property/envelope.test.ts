import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { readEnvelope } from '../../src/push/envelope.js';
import { unescapePayload } from '../../src/push/unescape.js';
import { approvalArb, charsetArb, contentTypeArb, wrap, wrappingArb } from './arbitraries.js';

// readEnvelope (src/push/envelope.ts): SOAP 1.1 / SOAP 1.2 / form / raw → payload.

const rejectedOnly = (run: () => unknown): void => {
  try {
    run();
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
  }
};

/** Bytes that look a little like pushes: fragments of envelopes and forms among random bytes. */
const pushLikeBytes = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)),
      fc
        .constantFrom(
          '<?xml version="1.0" encoding="GBK"?>', '<?xml version="1.0" encoding="utf-16"?>', '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">',
          '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">', '<Envelope>', '<soap:Body>', '</soap:Body>', '<s:Body/>', '<HIPMessageServer>', '<x:HIPMessageServer xmlns:x="urn:x">',
          '<message>', '</message>', '<input2>', '<action>', '</action>', '<![CDATA[', ']]>', '&lt;', '&amp;', 'action=GCP0001&', 'message=', '%3C', '%E4%B8%AD', '%', '+', '&', '=',
          '\uFEFF', '<!DOCTYPE a>', '<a>', '</a>', '中文', '\u0000',
        )
        .map((s) => Buffer.from(s)),
    ),
    { maxLength: 16 },
  )
  .map((parts) => Buffer.concat(parts));

describe('readEnvelope (property)', () => {
  it('throws nothing but FormatError, for arbitrary bytes under any Content-Type', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), pushLikeBytes), contentTypeArb, (body, contentType) => {
        rejectedOnly(() => readEnvelope(body, contentType));
      }),
      { numRuns: 2000 },
    );
  });

  it('finds the kind of envelope and the exact payload, in every envelope and charset', () => {
    fc.assert(
      fc.property(approvalArb(), wrappingArb, charsetArb, (approval, wrapping, charset) => {
        const push = wrap(approval, wrapping, charset);
        const envelope = readEnvelope(push.body, push.contentType);
        expect(envelope.kind).toBe(push.kind);
        if (push.kind !== 'raw') expect(envelope.action).toBe('GCP0001');
        expect(unescapePayload(envelope.payload)).toBe(push.payloadXml.trim());
      }),
      { numRuns: 500 },
    );
  });

  it('mirrors the SOAP request in what the ack needs: operation namespace, qualified parameters, CDATA', () => {
    fc.assert(
      fc.property(approvalArb(), fc.constantFrom('soap11-cdata', 'soap12-escaped') as fc.Arbitrary<'soap11-cdata' | 'soap12-escaped'>, (approval, kind) => {
        const push = wrap(approval, kind === 'soap11-cdata' ? { kind } : { kind, times: 1 }, 'utf-8');
        const envelope = readEnvelope(push.body, push.contentType);
        if (kind === 'soap11-cdata') {
          expect(envelope).toMatchObject({ operationNamespace: 'http://www.dhcc.com.cn', qualifiedParameters: true, cdata: true });
        } else {
          expect(envelope).toMatchObject({ operationNamespace: 'urn:hl7-org:v3', qualifiedParameters: false, cdata: false });
        }
      }),
      { numRuns: 200 },
    );
  });
});
