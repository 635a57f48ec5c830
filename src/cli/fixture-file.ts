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
  requires?: string;
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
