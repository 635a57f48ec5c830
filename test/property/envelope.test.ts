import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { readEnvelope, readSoapTree, SOAP11_NS, SOAP12_NS } from '../../src/push/envelope.js';
import { unescapePayload } from '../../src/push/unescape.js';
import { approvalArb, approvalXml, cdata, charsetArb, contentTypeArb, escapeOnce, wrap, wrappingArb } from './arbitraries.js';

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

// readEnvelope reads a SOAP envelope from its outline, without a tree; readSoapTree reads the parsed
// tree as the bridge always did. Envelopes of every shape the reader has to handle (and some it
// only has to refuse alike): prefixes, default namespaces, references and newlines in namespace
// URIs, Headers with look-alikes, several Bodies and operations, parameters in any order and
// qualified or not, payloads as escaped text, CDATA (split, mixed with text), comments, PIs,
// literal elements, empty or self-closing.
const sp = fc.constantFrom('', ' ', '\n', '\r\n  ', '\t');
const uri = fc.constantFrom('urn:hl7-org:v3', 'http://www.dhcc.com.cn', ' http://tempuri.org/ ', 'urn:a&amp;b', 'urn:&#x41;\r\nb', '');
const xmlns = fc.option(fc.tuple(fc.constantFrom('xmlns', 'xmlns:dhcc', 'xmlns:urn', 'xmlns:x'), uri).map(([n, v]) => ` ${n}="${v}"`), { nil: '' });
const payloadContent = approvalArb().chain((a) =>
  fc.constantFrom(
    escapeOnce(approvalXml(a)),
    cdata(approvalXml(a)),
    `\r\n ${cdata(approvalXml(a)).replace('[<', '[<]]><![CDATA[')} `,
    `<!-- x -->${escapeOnce(approvalXml(a))}<?pi?>`,
    `a &amp; b<![CDATA[c]]>d<!--e-->f`,
    approvalXml(a).replace(/<\?xml[^>]*\?>/, ''),
    `<!-- c -->${approvalXml(a).replace(/<\?xml[^>]*\?>/, '')}\n`,
    '',
    '  ',
  ),
);
const parameter = fc
  .tuple(fc.constantFrom('action', 'input1', 'message', 'input2', 'dhcc:input2', 'urn:message', 'x:action', 'other'), xmlns, fc.oneof(payloadContent, fc.constantFrom('GCP0001', ' <![CDATA[GCP]]>0001 ', '')), fc.boolean())
  .map(([name, ns, content, selfClosing]) => (selfClosing && content === '' ? `<${name}${ns}/>` : `<${name}${ns}>${content}</${name}>`));
const operation = fc
  .tuple(fc.constantFrom('HIPMessageServer', 'dhcc:HIPMessageServer', 'urn:HIPMessageServer', 'Other', 'x:Other'), xmlns, fc.array(fc.tuple(sp, parameter).map((p) => p.join('')), { maxLength: 4 }), fc.constantFrom('', 'text'))
  .map(([name, ns, params, text]) => (params.length === 0 && text === '' ? `<${name}${ns}/>` : `<${name}${ns}>${text}${params.join('')}</${name}>`));
const soapEnvelope = fc
  .tuple(
    fc.constantFrom('soap11', 'soap12') as fc.Arbitrary<'soap11' | 'soap12'>,
    fc.constantFrom('s', 'soap', 'soapenv', ''),
    xmlns,
    fc.option(fc.constantFrom('<s:Header/>', '<Header><message>&lt;R/&gt;</message></Header>', '<s:Header><HIPMessageServer><message>header</message></HIPMessageServer></s:Header>'), { nil: '' }),
    fc.array(fc.tuple(sp, operation).map((p) => p.join('')), { minLength: 1, maxLength: 3 }),
    fc.constantFrom('', ' a="1"'),
    fc.constantFrom(0, 0, 0, 1, 2),
  )
  .map(([kind, prefix, ns, header, ops, bodyAttr, bodies]) => {
    const q = (name: string) => (prefix === '' ? name : `${prefix}:${name}`);
    const envNs = `${prefix === '' ? 'xmlns' : `xmlns:${prefix}`}="${kind === 'soap12' ? SOAP12_NS : SOAP11_NS}"`;
    const body = `<${q('Body')}${bodyAttr}>${ops.join('')}</${q('Body')}>`;
    return { kind, text: `<${q('Envelope')} ${envNs}${ns}>${header.replaceAll('s:', prefix === '' ? '' : `${prefix}:`)}${bodies === 0 ? body : bodies === 1 ? `<${q('Body')}/>${body}` : `${body}${body}`}</${q('Envelope')}>` };
  });

function outcome(read: () => unknown): unknown {
  try {
    return read();
  } catch (err) {
    if (err instanceof FormatError) return { refused: err.message };
    throw err;
  }
}

describe('readEnvelope reads a SOAP envelope without a tree (property)', () => {
  it('answers exactly what the parsed tree answers, in every shape of envelope', () => {
    fc.assert(
      fc.property(soapEnvelope, ({ kind, text }) => {
        expect(outcome(() => readEnvelope(Buffer.from(text), 'text/xml; charset=utf-8'))).toEqual(outcome(() => readSoapTree(text, kind)));
      }),
      { numRuns: 1500 },
    );
  });
});
