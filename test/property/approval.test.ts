import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readPayload as readResult } from '../../src/push/approval.js';
import { readEnvelope } from '../../src/push/envelope.js';
import { refusalOf } from '../../src/push/read.js';
import {
  approvalArb,
  approvalXml,
  attrValue,
  charsetArb,
  digitString,
  escapeTimes,
  expectedApproval,
  fieldValue,
  illegalCharReference,
  type InsertionPoint,
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
