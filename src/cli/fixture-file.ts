import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

// Fixtures are the bridge's independent oracle (fixtures/README.md): a body file holding the exact
// request bytes, plus an optional sidecar `<body>.json` saying how to send it and what must come back.

export interface FixtureExpect {
  ackCode: 'AA' | 'AE';
  reason?: string;
  reasonStartsWith?: string;
  guid?: string;
  ackReceiverId?: string;
  ackSenderId?: string;
  envelope?: 'soap11' | 'soap12' | 'bare';
  texts?: string[];
}

export interface Fixture {
  file: string;
  name: string;
  body: Buffer;
  contentType: string;
  soapAction?: string;
  description: string;
  expect?: FixtureExpect;
  /**
   * A precondition a replay cannot take for granted: `database-down` (Postgres stopped) or
   * `fake-wechat` (WeChat failing on cue, through the fake WeChat's openid conventions). Any string
   * is accepted, so an older replay meeting a newer fixture skips it by name instead of refusing it.
   */
  requires?: string;
}

/** One binding of fixtures/employees.json. */
export interface FixtureEmployee {
  employeeNo: string;
  openid: string;
  name: string;
  active: boolean;
}

const CONTENT_TYPE_BY_EXT: Record<string, string> = {
  '.xml': 'text/xml; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.form': 'application/x-www-form-urlencoded',
};
// Unknown extensions go out as opaque bytes, so the bridge falls back to its own charset detection.
const FALLBACK_CONTENT_TYPE = 'application/octet-stream';

const ENVELOPES = ['soap11', 'soap12', 'bare'] as const;
const STRING_EXPECT_KEYS = ['reason', 'reasonStartsWith', 'guid', 'ackReceiverId', 'ackSenderId'] as const;

/** Reads a fixture body and its sidecar; a broken sidecar throws rather than silently testing nothing. */
export function loadFixture(bodyFile: string): Fixture {
  const file = basename(bodyFile);
  const fixture: Fixture = {
    file: bodyFile,
    name: file.slice(0, file.length - extname(file).length),
    body: readFileSync(bodyFile),
    contentType: CONTENT_TYPE_BY_EXT[extname(file).toLowerCase()] ?? FALLBACK_CONTENT_TYPE,
    description: '',
  };
  const sidecarFile = `${bodyFile}.json`;
  return existsSync(sidecarFile) ? applySidecar(fixture, sidecarFile) : fixture;
}

function applySidecar(fixture: Fixture, sidecarFile: string): Fixture {
  const fail = (why: string): never => {
    throw new Error(`${sidecarFile}: ${why}`);
  };
  const side = readJson(sidecarFile, fail);
  if (!isRecord(side)) return fail('must be a JSON object');
  const optionalString = (key: string): string | undefined => {
    const v = side[key];
    if (v !== undefined && typeof v !== 'string') fail(`"${key}" must be a string`);
    return v as string | undefined;
  };
  const out: Fixture = { ...fixture };
  out.contentType = optionalString('contentType') ?? fixture.contentType;
  out.description = optionalString('description') ?? '';
  const soapAction = optionalString('soapAction');
  if (soapAction !== undefined) out.soapAction = soapAction;
  const requires = optionalString('requires');
  if (requires !== undefined) out.requires = requires;
  if (side.expect !== undefined) out.expect = parseExpect(side.expect, fail);
  return out;
}

function readJson(file: string, fail: (why: string) => never): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    return fail(`not valid JSON (${(err as Error).message})`);
  }
}

function parseExpect(raw: unknown, fail: (why: string) => never): FixtureExpect {
  if (!isRecord(raw)) return fail('"expect" must be an object');
  if (raw.ackCode !== 'AA' && raw.ackCode !== 'AE') fail('"expect.ackCode" must be "AA" or "AE"');
  for (const key of STRING_EXPECT_KEYS) {
    if (raw[key] !== undefined && typeof raw[key] !== 'string') fail(`"expect.${key}" must be a string`);
  }
  if (raw.reason !== undefined && raw.reasonStartsWith !== undefined) {
    fail('"expect" has both "reason" and "reasonStartsWith"; use one');
  }
  if (raw.envelope !== undefined && !ENVELOPES.includes(raw.envelope as never)) {
    fail(`"expect.envelope" must be one of ${ENVELOPES.join(', ')}`);
  }
  const texts = raw.texts;
  if (texts !== undefined && !(Array.isArray(texts) && texts.every((t) => typeof t === 'string'))) {
    fail('"expect.texts" must be an array of strings');
  }
  return raw as unknown as FixtureExpect;
}

/** Fixture body files in `dir`, as paths, in the name order the replay uses. */
export function listFixtures(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && isBodyFileName(e.name))
    .map((e) => e.name)
    .sort()
    .map((name) => join(dir, name));
}

/** Sidecars, employees.json, README.md and dot-files live beside the bodies but are not pushes. */
function isBodyFileName(name: string): boolean {
  return !name.endsWith('.json') && name !== 'README.md' && !name.startsWith('.');
}

export interface ReadAck {
  envelope: 'soap11' | 'soap12' | 'bare';
  ackCode: string;
  reason: string;
  targetGuid: string;
  receiverId: string;
  senderId: string;
  ackXml: string;
}

const SOAP_NAMESPACES: Record<string, 'soap11' | 'soap12'> = {
  'http://schemas.xmlsoap.org/soap/envelope/': 'soap11',
  'http://www.w3.org/2003/05/soap-envelope': 'soap12',
};

// Prefixes are kept so the Envelope's namespace can be told apart; everything else matches by local
// name. Values stay strings: a GUID or id like 000123 must not turn into a number.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  htmlEntities: true,
});

type XmlNode = Record<string, unknown>;

/** Reads a bridge response (SOAP 1.1/1.2 envelope or bare MCCI_IN000002UV01) into its ack fields. */
export function readAck(responseBody: string): ReadAck {
  const [rootName, root] = parseRoot(responseBody, 'response');
  if (localName(rootName) !== 'Envelope') return readMcci(rootName, root, 'bare', responseBody.trim());
  const envelope = SOAP_NAMESPACES[namespaceOf(rootName, root)];
  if (!envelope) throw new Error(`not an ack: Envelope in unknown namespace "${namespaceOf(rootName, root)}"`);
  const result = path(root, ['Body', 'HIPMessageServerResponse', 'HIPMessageServerResult']);
  if (result === undefined) throw new Error('not an ack: SOAP envelope without Body/HIPMessageServerResponse/HIPMessageServerResult');
  const ackXml = textOf(result).trim();
  if (ackXml === '') throw new Error('not an ack: HIPMessageServerResult is empty');
  const [innerName, inner] = parseRoot(ackXml, 'HIPMessageServerResult');
  return readMcci(innerName, inner, envelope, ackXml);
}

function readMcci(rootName: string, root: XmlNode, envelope: ReadAck['envelope'], ackXml: string): ReadAck {
  if (localName(rootName) !== 'MCCI_IN000002UV01') {
    throw new Error(`not an ack: root element is <${rootName}>, expected MCCI_IN000002UV01`);
  }
  const ack = path(root, ['acknowledgement']);
  const ackCode = attr(ack, 'typeCode');
  if (ackCode === '') throw new Error('not an ack: MCCI_IN000002UV01 without acknowledgement/@typeCode');
  return {
    envelope,
    ackCode,
    reason: attr(path(ack, ['acknowledgementDetail', 'text']), 'value'),
    targetGuid: attr(path(ack, ['targetMessage', 'id']), 'extension'),
    receiverId: deviceId(path(root, ['receiver', 'device', 'id'])),
    senderId: deviceId(path(root, ['sender', 'device', 'id'])),
    ackXml,
  };
}

function parseRoot(xml: string, what: string): [string, XmlNode] {
  const text = xml.replace(/^\uFEFF/, '').trim();
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const snippet = text.slice(0, 80).replace(/\s+/g, ' ');
    throw new Error(`not an ack: ${what} is not XML (${valid.err.msg} at line ${valid.err.line}): "${snippet}"`);
  }
  const doc = parser.parse(text) as XmlNode;
  const rootName = Object.keys(doc).find((k) => !k.startsWith('?') && !k.startsWith('#'));
  const root = rootName === undefined ? undefined : first(doc[rootName]);
  if (rootName === undefined || !isRecord(root)) throw new Error(`not an ack: ${what} has no root element`);
  return [rootName, root];
}

// A device id is <id><item extension/></id> in the standard, <id extension/> in some platforms.
function deviceId(id: unknown): string {
  return attr(path(id, ['item']), 'extension') || attr(id, 'extension');
}

function path(node: unknown, names: string[]): unknown {
  let cur = node;
  for (const name of names) {
    const n = first(cur);
    if (!isRecord(n)) return undefined;
    const key = Object.keys(n).find((k) => !k.startsWith('@_') && localName(k) === name);
    cur = key === undefined ? undefined : first(n[key]);
  }
  return cur;
}

function attr(node: unknown, name: string): string {
  const n = first(node);
  const v = isRecord(n) ? n[`@_${name}`] : undefined;
  return typeof v === 'string' ? v : '';
}

function textOf(node: unknown): string {
  if (typeof node === 'string') return node;
  const t = isRecord(node) ? node['#text'] : undefined;
  return typeof t === 'string' ? t : '';
}

function namespaceOf(qname: string, node: XmlNode): string {
  const prefix = qname.includes(':') ? qname.slice(0, qname.indexOf(':')) : '';
  const ns = node[prefix ? `@_xmlns:${prefix}` : '@_xmlns'];
  return typeof ns === 'string' ? ns : '';
}

const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);
const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);
const isRecord = (v: unknown): v is XmlNode => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Human-readable differences between an ack and a fixture's expectation; texts are not visible here. */
export function checkAck(ack: ReadAck, expect: FixtureExpect): string[] {
  const out: string[] = [];
  const same = (what: string, actual: string, expected: string | undefined): void => {
    if (expected !== undefined && actual !== expected) out.push(`${what} "${actual}", expected "${expected}"`);
  };
  same('ackCode', ack.ackCode, expect.ackCode);
  same('reason', ack.reason, expect.reason);
  if (expect.reasonStartsWith !== undefined && !ack.reason.startsWith(expect.reasonStartsWith)) {
    out.push(`reason "${ack.reason}", expected to start with "${expect.reasonStartsWith}"`);
  }
  same('guid', ack.targetGuid, expect.guid);
  same('ack receiver', ack.receiverId, expect.ackReceiverId);
  same('ack sender', ack.senderId, expect.ackSenderId);
  same('envelope', ack.envelope, expect.envelope);
  return out;
}

/**
 * The body with the fixture's GUID swapped for `guid`. Works on bytes, not text, so GBK/GB18030
 * bodies stay byte-identical elsewhere; both GUIDs must be ASCII for that to be safe.
 */
export function withFreshGuid(fixture: Fixture, guid: string): Buffer {
  const old = fixture.expect?.guid ?? '';
  if (old === '') return Buffer.from(fixture.body);
  for (const g of [old, guid]) {
    if (!/^[\x21-\x7e]+$/.test(g)) throw new Error(`${fixture.file}: GUID "${g}" is not printable ASCII`);
  }
  const needle = Buffer.from(old, 'latin1');
  const replacement = Buffer.from(guid, 'latin1');
  const pieces: Buffer[] = [];
  let from = 0;
  for (let at = fixture.body.indexOf(needle); at !== -1; at = fixture.body.indexOf(needle, from)) {
    pieces.push(fixture.body.subarray(from, at), replacement);
    from = at + needle.length;
  }
  pieces.push(fixture.body.subarray(from));
  return Buffer.concat(pieces);
}

/** The bindings every fixture assumes (`employees.json`); a malformed file throws, naming the entry. */
export function loadEmployees(file: string): FixtureEmployee[] {
  const fail = (why: string): never => {
    throw new Error(`${file}: ${why}`);
  };
  const raw = readJson(file, fail);
  if (!Array.isArray(raw)) return fail('must be a JSON array of {"employeeNo", "openid", "name", "active"}');
  return raw.map((entry: unknown, i): FixtureEmployee => {
    if (!isRecord(entry) || typeof entry.employeeNo !== 'string' || entry.employeeNo === '' || typeof entry.openid !== 'string') {
      return fail(`entry ${i + 1} needs a non-empty "employeeNo" and an "openid" string`);
    }
    if (entry.name !== undefined && typeof entry.name !== 'string') fail(`entry ${i + 1}: "name" must be a string`);
    if (entry.active !== undefined && typeof entry.active !== 'boolean') fail(`entry ${i + 1}: "active" must be true or false`);
    return { employeeNo: entry.employeeNo, openid: entry.openid, name: (entry.name as string | undefined) ?? '', active: (entry.active as boolean | undefined) ?? true };
  });
}

// The employee_no element as it appears in a body: as XML or CDATA, HTML-escaped any number of times
// (&lt; &amp;lt; ...), or percent-encoded in a form field (%3C, %26lt%3B, ...). Only ASCII
// delimiters are matched, and in GBK/GB18030 no byte of a multi-byte character is one of < & % or
// ASCII whitespace, so a match never starts or ends inside a character.
const LT = String.raw`(?:<|&(?:amp;)*lt;|%3C|%26(?:amp%3B)*lt%3B)`;
const GT = String.raw`(?:>|&(?:amp;)*gt;|%3E|%26(?:amp%3B)*gt%3B)`;
const SLASH = String.raw`(?:/|%2F)`;
const EMPLOYEE_NO = String.raw`(?:[A-Za-z_][\w.-]*:)?employee_no`;
const ATTRIBUTES = String.raw`(?:(?:[ \t\r\n]|\+|%20)[^<>]*?)?`;
const EMPLOYEE_NO_ELEMENT = new RegExp(
  `(${LT}${EMPLOYEE_NO}${ATTRIBUTES})(?:${SLASH}${GT}|(${GT})([\\s\\S]*?)(${LT}${SLASH}${EMPLOYEE_NO}[ \\t\\r\\n]*${GT}))`,
  'gi',
);
const EMPLOYEE_NO_MENTION = /employee_no(?![\w.-])/gi;
// ASCII only: in a latin1 view \s would also take byte 0xA0, a GBK lead byte.
const XML_SPACE = /^[ \t\r\n]*/;
const FORM_SPACE = /^(?:[ \t\r\n+]|%20|%09|%0A|%0D)*/i;

/**
 * The body with `prefix` put in front of every employee_no element's value, so the push looks up
 * a test binding instead of whoever holds that number at the hospital. Works on bytes like
 * withFreshGuid: everything but the inserted ASCII prefix stays byte-identical. An employee_no it
 * cannot place (an escaping it does not know) throws rather than go out unprefixed.
 */
export function withEmployeeNoPrefix(body: Buffer, prefix: string): Buffer {
  if (!/^[\x21-\x7e]+$/.test(prefix) || /[<>&%+]/.test(prefix)) throw new Error(`employee_no prefix "${prefix}" must be printable ASCII without < > & % +`);
  const text = body.toString('latin1');
  let placed = 0;
  const out = text.replace(EMPLOYEE_NO_ELEMENT, (whole, open: string, gt: string | undefined, value: string | undefined, close: string | undefined) => {
    if (gt === undefined) {
      placed += 1; // <employee_no/>: nothing to prefix
      return whole;
    }
    placed += 2;
    return `${open}${gt}${prefixedValue(value ?? '', prefix, open.includes('%'))}${close ?? ''}`;
  });
  const mentions = text.match(EMPLOYEE_NO_MENTION)?.length ?? 0;
  if (mentions !== placed) {
    throw new Error('employee_no appears in a form the rewrite does not recognise; not sent, so that no real employee can receive it');
  }
  return Buffer.from(out, 'latin1');
}

/** Leading white space stays in front (the bridge trims it); a blank value stays blank. */
function prefixedValue(value: string, prefix: string, formEncoded: boolean): string {
  const space = formEncoded ? FORM_SPACE : XML_SPACE;
  const lead = space.exec(value)?.[0] ?? '';
  if (lead.length === value.length) return value;
  return `${lead}${prefix}${value.slice(lead.length)}`;
}
