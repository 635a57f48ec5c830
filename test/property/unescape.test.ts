import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_ESCAPING_LAYERS, unescapePayload } from '../../src/push/unescape.js';
import { approvalArb, approvalXml, escapeTimes, fieldValue } from './arbitraries.js';

// unescapePayload (src/push/unescape.ts): peel HTML-escaping layers while the payload does not
// start with `<`.

/** Text made mostly of entity-like pieces, so the decoder's corners get exercised. */
const entityish = fc
  .array(
    fc.oneof(
      fc.constantFrom('&', '&amp;', '&lt;', '&gt;', '&quot;', '&nbsp;', '&#60;', '&#x3C;', '&#0;', '&#xD800;', '&#99999999;', '&lt', '&amp', '&;', '&#;', '&#x;', '<', '>', ' ', '\uFEFF', '\n'),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

describe('unescapePayload (property)', () => {
  it('never throws, and always answers trimmed text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), entityish), (input) => {
        const out = unescapePayload(input);
        expect(out).toBe(out.trim());
        expect(out.charCodeAt(0)).not.toBe(0xfeff);
      }),
      { numRuns: 1500 },
    );
  });

  it('leaves a payload that already starts with "<" as it is (trimmed)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (rest) => {
        const xml = `<${rest}`;
        expect(unescapePayload(`  ${xml}\n`)).toBe(xml.trim());
      }),
      { numRuns: 500 },
    );
  });

  it('undoes 0–3 layers of escaping of any approval payload exactly', () => {
    fc.assert(
      fc.property(approvalArb(), fc.integer({ min: 0, max: 3 }), (approval, times) => {
        const xml = approvalXml(approval);
        expect(unescapePayload(escapeTimes(xml, times))).toBe(xml.trim());
      }),
      { numRuns: 500 },
    );
  });

  it('undoes up to MAX_ESCAPING_LAYERS layers of any "<…" text, and stops there', () => {
    fc.assert(
      fc.property(fieldValue, fc.integer({ min: 0, max: MAX_ESCAPING_LAYERS }), (value, times) => {
        const xml = `<a>${value}</a>`;
        expect(unescapePayload(escapeTimes(xml, times))).toBe(xml.trim());
      }),
      { numRuns: 500 },
    );
    // One layer more than the limit is left escaped (then refused by the approval reader as not XML).
    const deep = escapeTimes('<a>x</a>', MAX_ESCAPING_LAYERS + 1);
    expect(unescapePayload(deep).startsWith('&lt;')).toBe(true);
  });
});
