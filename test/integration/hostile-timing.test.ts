import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPush } from '../../src/push/read.js';

// One push must never freeze the bridge: the pure reader runs on the event loop, so every check
// over untrusted text has to be linear. Each hostile input below made some regex, scan or parser
// step retry from many starting points (12.7 s for one push of unclosed `<![CDATA[` openers).
// Timings are compared with a plain push of the same size in the same wrapper, measured here, so
// a loaded machine slows both alike: linear work stays within a small multiple, quadratic work
// costs seconds and does not.

/** PUSH_MAX_BYTES' default: a larger body never reaches the reader. */
const BODY_BYTES = 1_048_576;
const FACTOR = 15;
// The slack absorbs a busy machine: a plain SOAP push reads in ~20 ms, a quadratic scan takes seconds.
const SLACK_MS = 300;

type Wrapper = 'raw' | 'soap11' | 'soap12' | 'form';
const WRAPPERS: Wrapper[] = ['raw', 'soap11', 'soap12', 'form'];

const repeat = (unit: string, size: number, before = '', after = ''): string =>
  before + unit.repeat(Math.max(0, Math.floor((size - before.length - after.length) / unit.length))) + after;

const approval = (inner: string): string => `<R><id extension="G-1"/><request><employee_no>10086</employee_no>${inner}</request></R>`;

function plainLists(size: number): string {
  const item = (i: number): string => `<lists><PI>30001</PI><card_num>6222021234567890123</card_num><project_name>XYZ-${i} II期临床试验</project_name></lists>`;
  const items: string[] = [];
  for (let length = 120, i = 0; length < size; i++) {
    items.push(item(i));
    length += item(i).length + 8;
  }
  return approval(items.join(''));
}

/** Elements of as many names as fit: the tree's order groups children by name. */
function distinctNames(size: number): string {
  const parts = ['<R><id extension="G-1"/>'];
  for (let length = 40, i = 0; length < size; i++) {
    parts.push(`<n${i}><m/></n${i}>`);
    length += parts.at(-1)!.length;
  }
  return `${parts.join('')}</R>`;
}

function distinctAttributes(size: number): string {
  const parts = ['<a'];
  for (let length = 4, i = 0; length < size; i++) {
    parts.push(` a${i}="1"`);
    length += parts.at(-1)!.length;
  }
  return `${parts.join('')}/>`;
}

/** Each builds about `size` characters of text that is hostile to some step of the reader. */
const HOSTILE: Record<string, (size: number) => string> = {
  'unclosed <![CDATA[ openers': (n) => repeat('<![CDATA[', n, '<a>'),
  'unclosed <!-- openers': (n) => repeat('<!--', n, '<a>'),
  '<a without >': (n) => repeat('<a', n, '<a>'),
  '< alone': (n) => repeat('<', n, '<a>'),
  '& alone': (n) => repeat('&', n, '<a>'),
  '&# alone': (n) => repeat('&#', n, '<a>'),
  '&#1 without ;': (n) => repeat('&#1', n, '<a>'),
  'nested tags': (n) => repeat('<a>', n),
  'distinct attributes': distinctAttributes,
  'repeated attribute': (n) => repeat(' a="1"', n, '<a', '>'),
  ']]> alone': (n) => repeat(']]>', n, '<a>'),
  '<?xml openers': (n) => repeat('<?xml', n, '<a>'),
  'DOCTYPE look-alikes': (n) => repeat('<!DOCTYP', n, '<a>'),
  'DOCTYPE in comments': (n) => repeat('<!-- <!DOCTYPE a> -->', n, '<a>', '</a>'),
  '<! openers': (n) => repeat('<!', n, '<a>'),
  '</ openers': (n) => repeat('</', n, '<a>'),
  'unclosed attribute values': (n) => repeat('<a x="', n, '<a>'),
  '<message openers in a comment': (n) => repeat('<message ', n, '<!--', '-->'),
  'escaped <![CDATA[ openers': (n) => repeat('&lt;![CDATA[', n, '&lt;a&gt;'),
  'many escaping layers': (n) => repeat('amp;', n, '&', 'lt;a/>'),
  'many siblings': (n) => repeat('<x/>', n, '<R>', '</R>'),
  'deep and wide': (n) => repeat('<b x="1"/>', n, `<R>${'<a>'.repeat(250)}`, `${'</a>'.repeat(250)}</R>`),
  // The search for <request> goes through every element ahead of it, and each one's children.
  'many elements before the request': (n) => repeat('<x a="1"><y/></x>', n, '<R><id extension="G-1"/>', '<request><employee_no>1</employee_no></request></R>'),
  'deep and wide, no request': (n) => repeat('<b><c/></b>', n, `<R><id extension="G-1"/>${'<a>'.repeat(250)}`, `${'</a>'.repeat(250)}</R>`),
  'many names, no request': distinctNames,
  'many references': (n) => approval(repeat('&#x4e2d;', n - 100, '<approval_opinion>', '</approval_opinion>')),
  'many CDATA sections': (n) => approval(repeat('<![CDATA[&#0;]]>', n - 100, '<approval_opinion>', '</approval_opinion>')),
  'long tag name': (n) => repeat('a', n, '<', '/>'),
};

/**
 * The hostile text as each wrapper carries it: raw and form as the payload; SOAP 1.1 as markup in
 * the Body ahead of the operation, so the envelope's own checks see it; SOAP 1.2 escaped in
 * `<message>`, so the payload's checks see it behind an envelope.
 */
const WRAP: Record<Wrapper, (text: string) => { body: Buffer; contentType: string }> = {
  raw: (text) => ({ body: Buffer.from(text), contentType: 'application/xml' }),
  soap11: (text) => ({
    body: Buffer.from(
      `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${text}<HIPMessageServer xmlns="http://www.dhcc.com.cn">` +
        `<action>GCP0001</action><message>${approval('')}</message></HIPMessageServer></s:Body></s:Envelope>`,
    ),
    contentType: 'text/xml; charset=utf-8',
  }),
  soap12: (text) => ({
    body: Buffer.from(
      `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body><urn:HIPMessageServer xmlns:urn="urn:hl7-org:v3">` +
        `<urn:action>GCP0001</urn:action><urn:message>${escapeXml(text)}</urn:message></urn:HIPMessageServer></soap:Body></soap:Envelope>`,
    ),
    contentType: 'application/soap+xml; charset=utf-8',
  }),
  form: (text) => ({ body: Buffer.from(`action=GCP0001&message=${encodeURIComponent(text)}`), contentType: 'application/x-www-form-urlencoded' }),
};

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The wrapped body, the text scaled down so that the body fits in BODY_BYTES. */
function push(build: (size: number) => string, wrapper: Wrapper): { body: Buffer; contentType: string } {
  const first = WRAP[wrapper](build(BODY_BYTES));
  if (first.body.length <= BODY_BYTES) return first;
  return WRAP[wrapper](build(Math.floor((BODY_BYTES * BODY_BYTES) / first.body.length) - 1024));
}

function msToRead(request: { body: Buffer; contentType: string }): number {
  const started = performance.now();
  readPush(request.body, request.contentType);
  return performance.now() - started;
}

const plainMs = new Map<Wrapper, number>();
const report: string[] = [];

beforeAll(() => {
  for (const wrapper of WRAPPERS) {
    const request = push(plainLists, wrapper);
    expect(readPush(request.body, request.contentType).ok, `the plain ${wrapper} push must be read`).toBe(true);
    const runs = [msToRead(request), msToRead(request), msToRead(request)].sort((a, b) => a - b);
    plainMs.set(wrapper, runs[1]!);
    report.push(`plain ${wrapper}: ${runs[1]!.toFixed(0)} ms (${request.body.length} bytes)`);
  }
}, 120_000);

afterAll(() => {
  if (process.env.HOSTILE_TIMINGS) console.log(report.join('\n'));
});

describe('reading a hostile 1 MB push takes time linear in its size', () => {
  it.each(Object.keys(HOSTILE))('%s', (name) => {
    const slow: string[] = [];
    for (const wrapper of WRAPPERS) {
      const request = push(HOSTILE[name]!, wrapper);
      const bound = FACTOR * plainMs.get(wrapper)! + SLACK_MS;
      // A second try only when the first was over: a GC pause or a busy neighbour is not a quadratic scan.
      let ms = msToRead(request);
      if (ms > bound) ms = Math.min(ms, msToRead(request));
      report.push(`${name} ${wrapper}: ${ms.toFixed(0)} ms (bound ${bound.toFixed(0)} ms, ${request.body.length} bytes)`);
      if (ms > bound) slow.push(`${wrapper} ${ms.toFixed(0)} ms > ${bound.toFixed(0)} ms`);
    }
    expect(slow, `${name}: slower than ${FACTOR} × a plain push + ${SLACK_MS} ms`).toEqual([]);
  }, 180_000);
});
