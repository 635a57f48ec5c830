import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readPayload as readResult, readPayloadTree, type ReadPayload } from '../../src/push/approval.js';
import { readEnvelope } from '../../src/push/envelope.js';
import { refusalOf } from '../../src/push/read.js';
import {
  approvalArb,
  approvalXml,
  attrValue,
  cdata,
  charsetArb,
  digitString,
  encodeAttr,
  encodeText,
  escapeTimes,
  expectedApproval,
  fieldValue,
  illegalCharReference,
  type InsertionPoint,
  textEncoding,
  wrap,
  wrappingArb,
  xmlText,
} from './arbitraries.js';

// readPayload (src/push/approval.ts): payload → GUID, device ids, approval fields.

/** The approval and its ids; a payload that cannot be read fails the property. */
function readPayload(payload: string) {
  const read = readResult(payload);
  if (!read.ok) throw read.error;
  return read;
}

describe('readPayload (property)', () => {
  it('reads back every generated value, trimmed, however each value is encoded', () => {
    fc.assert(
      fc.property(approvalArb(), fc.integer({ min: 0, max: 3 }), (approval, escaping) => {
        const read = readPayload(escapeTimes(approvalXml(approval), escaping));
        const expected = expectedApproval(approval);
        expect(read.approval).toEqual(expected);
        expect(read.addressing).toEqual({ guid: expected.guid, senderId: expected.senderId, receiverId: expected.receiverId });
      }),
      { numRuns: 800 },
    );
  });

  it('keeps digit strings exactly: leading zeros, 19+ digit card numbers, number look-alikes', () => {
    fc.assert(
      fc.property(approvalArb({ employeeNo: digitString, field: digitString, guid: digitString }), (approval) => {
        const read = readPayload(approvalXml(approval));
        expect(read.approval).toEqual(expectedApproval(approval));
        for (const value of Object.values(read.approval)) if (!Array.isArray(value)) expect(typeof value).toBe('string');
      }),
      { numRuns: 300 },
    );
  });

  it('reads the same approval through every envelope and charset (envelope → payload round trip)', () => {
    fc.assert(
      fc.property(approvalArb(), wrappingArb, charsetArb, (approval, wrapping, charset) => {
        const push = wrap(approval, wrapping, charset);
        const read = readPayload(readEnvelope(push.body, push.contentType).payload);
        expect(read.approval).toEqual(expectedApproval(approval));
      }),
      { numRuns: 500 },
    );
  });

  // Inside CDATA `&#0;` is four ordinary characters, and a comment is no text at all: the document
  // is well-formed XML and must be read, whatever the escaping around it.
  it('reads values that spell a forbidden reference when they come as CDATA, and ignores such references in comments', () => {
    const spelled = fc.array(fc.oneof(illegalCharReference, fieldValue), { minLength: 1, maxLength: 4 }).map((parts) => xmlText(parts.join('')));
    const place = fc.constantFrom<InsertionPoint>('root', 'request', 'employee_no');
    fc.assert(
      fc.property(approvalArb({ field: spelled }), fc.integer({ min: 0, max: 3 }), place, illegalCharReference, (generated, escaping, at, reference) => {
        const approval = { ...generated, layout: { ...generated.layout, encodings: generated.layout.encodings.map(() => 'cdata' as const) } };
        const read = readPayload(escapeTimes(approvalXml(approval, 'UTF-8', { at, text: `<!-- ${reference} -->` }), escaping));
        expect(read.approval).toEqual(expectedApproval(approval));
      }),
      { numRuns: 400 },
    );
  });

  it('refuses a blank GUID or employee number as a format error, still knowing the ids it read', () => {
    const blank = fc.constantFrom('', ' ', '\n\t ', '\u3000', '&#x20;', '&nbsp;');
    fc.assert(
      fc.property(
        fc.oneof(
          approvalArb({ guid: blank.map((b) => (b.startsWith('&') ? ' ' : b)) }).map((a) => ({ a, blankGuid: true })),
          approvalArb({ employeeNo: blank.map((b) => b.replace('&#x20;', ' ').replace('&nbsp;', '\u00a0')) }).map((a) => ({ a, blankGuid: false })),
        ),
        ({ a, blankGuid }) => {
          const read = readResult(approvalXml(a));
          expect(read.ok).toBe(false);
          if (read.ok) return;
          const rejected = { outcome: refusalOf(read.error), message: read.error.message, addressing: read.addressing };
          expect(rejected.outcome.code).toBe('MALFORMED');
          const expected = expectedApproval(a);
          if (blankGuid) {
            expect(rejected.message).toContain('缺少消息ID');
          } else {
            expect(rejected.message).toContain('employee_no');
          }
          expect(rejected.addressing).toEqual({ guid: expected.guid, senderId: expected.senderId, receiverId: expected.receiverId });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('throws nothing for arbitrary text, escaped or not: a result, read or refused', () => {
    const markupish = fc
      .array(
        fc.oneof(
          fc.constantFrom('<', '>', '</', '/>', '<request>', '</request>', '<employee_no>', '</employee_no>', '<id extension="', '"/>', '<lists>', '<![CDATA[', ']]>', '<!--', '-->', '<?xml?>', '<!DOCTYPE', '&', '&amp;', '&lt;', '&#1;', '=', '"', ' '),
          attrValue,
          fieldValue,
        ),
        { maxLength: 40 },
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), markupish, markupish.map((t) => escapeTimes(t, 1))), (text) => {
        const read = readResult(text);
        expect(typeof read.ok).toBe('boolean');
      }),
      { numRuns: 1500 },
    );
  });
});

// readPayload reads the payload from its outline, without a tree; readPayloadTree reads the parsed
// tree as the bridge always did. Payloads of every shape the reader has to handle, and many it has
// to refuse alike: names repeated, prefixed (`hl7:request`, one group per prefix in the tree) or
// renamed by the parser (`toString`), requests nested in wrappers, in look-alikes, empty or held as
// text, several ids and devices, fields missing, repeated or out of order, text as references,
// CDATA (split, mixed with text), comments, PIs and whitespace around it, attributes with
// references and padding.
const prefix = fc.constantFrom('', '', '', 'hl7:', 'x:');
const NAMES = ['id', 'item', 'device', 'sender', 'receiver', 'request', 'lists', 'employee_no', 'operator', 'bill_type', 'bill_num', 'approval_date', 'approval_opinion', 'PI', 'card_num', 'project_name'];
const elementName = fc.tuple(prefix, fc.constantFrom(...NAMES, 'subject', 'wrap', 'toString', 'valueOf', 'x:y:request')).map(([p, n]) => p + n);
const blank = fc.constantFrom('', ' ', '\n  ', '\r\n\t', '&#32;', '&nbsp;', '\u3000');
const textPiece = fc.oneof(
  blank,
  fc.constantFrom('10086', ' 42 ', '同意', '&amp;&lt;x&gt;', '&#x4e2d;&#20013;', '&ldquo;a&rdquo;', 'a\r\nb', '0x1F', '000123'),
  fc.tuple(fieldValue, textEncoding).map(([v, e]) => encodeText(v, e)),
);
const markupPiece = fc.oneof(
  textPiece,
  fc.constantFrom('<!-- c -->', '<!-- &#1; <request> -->', '<?pi x?>', cdata(''), cdata(' x '), `${cdata('a]]')}${cdata('>b')}`),
);
const attribute = fc.tuple(
  fc.constantFrom('extension', 'extension', 'root', 'typeCode', 'xmlns', 'xmlns:hl7', 'hl7:extension'),
  fc.oneof(blank, attrValue.map((v) => encodeAttr(v, false)), fc.constantFrom(' G-1 ', 'G&amp;2', '&#x47;3', 'a\tb\nc')),
);
const attributes = fc.uniqueArray(attribute, { selector: ([name]) => name, maxLength: 3 }).map((as) => as.map(([n, v]) => ` ${n}="${v}"`).join(''));

const element = fc.letrec<{ element: string }>((tie) => ({
  element: fc
    .tuple(elementName, attributes, fc.array(fc.oneof({ depthSize: 'small', maxDepth: 5 }, markupPiece, tie('element')), { maxLength: 5 }), fc.boolean())
    .map(([name, attrs, content, selfClosing]) => (selfClosing && content.length === 0 ? `<${name}${attrs}/>` : `<${name}${attrs}>${content.join('')}</${name}>`)),
})).element;

/** An element of one of these names, any prefix, holding what `inner` makes. */
const named = (names: string[], inner: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(prefix, fc.constantFrom(...names), attributes, inner).map(([p, n, attrs, content]) => `<${p}${n}${attrs}>${content}</${p}${n}>`);
const joined = (parts: fc.Arbitrary<string>, maxLength: number): fc.Arbitrary<string> => fc.array(parts, { maxLength }).map((ps) => ps.join(''));
const fieldElement = named(NAMES.slice(6), joined(markupPiece, 3));
/** Mostly an employee number that reads, so that most payloads get as far as the approval. */
const employeeNo = named(['employee_no'], fc.oneof(fc.constantFrom('10086', ' 000123 ', cdata('42'), '1&#x30;', '\n 7 <!-- c --> 8 '), joined(markupPiece, 3)));
const lists = named(['lists'], joined(fc.oneof(fieldElement, markupPiece), 5));
const requestElement = named(
  ['request'],
  fc
    .tuple(joined(fc.oneof(fieldElement, lists, markupPiece, element), 4), fc.option(employeeNo, { nil: '', freq: 6 }), joined(fc.oneof(fieldElement, fieldElement, lists, markupPiece, element), 8))
    .map((parts) => parts.join('')),
);
const idElement = fc.tuple(prefix, attributes, fc.oneof(fc.constant(''), named(['item'], fc.constant('')), element)).map(([p, attrs, inner]) => `<${p}id${attrs}>${inner}</${p}id>`);
/** Mostly a GUID that reads, for the same reason. */
const guidElement = fc
  .tuple(prefix, fc.oneof(fc.constantFrom('G-1', ' G 2 ', '&#x47;3', 'G&amp;4', 'G'.repeat(129)), attrValue.map((v) => encodeAttr(v, false))), attributes.filter((a) => !a.includes(' extension=')))
  .map(([p, guid, attrs]) => `<${p}id${attrs} extension="${guid}"/>`);
/** A device id as senders write it, with or without `<item>`. */
const deviceIdElement = fc
  .tuple(prefix, fc.constantFrom('ERP', ' WX ', '&#x41;B', ''), fc.boolean())
  .map(([p, id, item]) => (item ? `<${p}id><${p}item extension="${id}"/></${p}id>` : `<${p}id extension="${id}"/>`));
const anyId = fc.oneof(deviceIdElement, idElement);
// A `<device>` held as text (no attributes, no child elements, no CDATA) leaves the id to its party.
const device = named(['sender', 'receiver'], joined(fc.oneof(anyId, named(['device'], joined(fc.oneof(anyId, anyId, markupPiece), 2)), markupPiece), 3));
const wrapped = fc.tuple(requestElement, fc.array(fc.tuple(prefix, fc.constantFrom('subject', 'controlActProcess', 'request', 'wrap')), { maxLength: 3 })).map(([request, wrappers]) =>
  wrappers.reduce((inner, [p, n]) => `<${p}${n}>${inner}</${p}${n}>`, request),
);
const rootContent = fc.oneof(
  { arbitrary: idElement, weight: 1 },
  { arbitrary: device, weight: 3 },
  { arbitrary: wrapped, weight: 3 },
  { arbitrary: element, weight: 2 },
  { arbitrary: markupPiece, weight: 2 },
);
const payloadShape = fc
  .tuple(
    fc.tuple(prefix, fc.constantFrom('GCP_IN000001UV01', 'R', 'request', 'toString')),
    fc.constantFrom('', ' xmlns="urn:hl7-org:v3"', ' xmlns:hl7="urn:hl7-org:v3"'),
    fc.tuple(joined(rootContent, 4), fc.option(guidElement, { nil: '', freq: 8 }), joined(rootContent, 6)),
    fc.constantFrom('', '<?xml version="1.0" encoding="UTF-8"?>\n', '<!-- before -->'),
    fc.integer({ min: 0, max: 2 }),
  )
  .map(([[p, root], ns, content, before, escaping]) => escapeTimes(`${before}<${p}${root}${ns}>${content.join('')}</${p}${root}>`, escaping));

function comparable(read: ReadPayload): unknown {
  return read.ok ? read : { ok: false, addressing: read.addressing, code: read.error.code, message: read.error.message };
}

describe('readPayload reads the payload without a tree (property)', () => {
  it('answers exactly what the parsed tree answers: the approval, or the same refusal with the same ids', () => {
    fc.assert(
      fc.property(payloadShape, (payload) => {
        expect(comparable(readResult(payload))).toEqual(comparable(readPayloadTree(payload)));
      }),
      { numRuns: 2000 },
    );
  });
});
