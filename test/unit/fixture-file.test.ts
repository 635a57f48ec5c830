import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkAck, listFixtures, loadFixture, readAck, withFreshGuid } from '../../src/cli/fixture-file.js';
import type { Fixture, FixtureExpect, ReadAck } from '../../src/cli/fixture-file.js';
import { replay } from '../../src/cli/replay.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
const LIMIT = 2048;

function mcci(opts: { code?: string; reason?: string; guid?: string; receiver?: string; sender?: string; noItem?: boolean } = {}): string {
  const dev = (ext: string): string =>
    opts.noItem
      ? `<id root="2.16.156.10011.2.5.1.3" extension="${ext}"/>`
      : `<id><item root="2.16.156.10011.2.5.1.3" extension="${ext}"/></id>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<MCCI_IN000002UV01 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">
  <id root="2.16.156.10011.2.5.1.1" extension="0B7F3C2E-7C55-4F0B-9C57-1E1E7A6C1D11"/>
  <creationTime value="20261122101501"/>
  <interactionId root="2.16.156.10011.2.5.1.2" extension="MCCI_IN000002UV01"/>
  <processingCode code="P"/>
  <processingModeCode/>
  <acceptAckCode code="AL"/>
  <receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE">${dev(opts.receiver ?? 'GCPERP')}</device></receiver>
  <sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE">${dev(opts.sender ?? 'WXBRIDGE')}</device></sender>
  <acknowledgement typeCode="${opts.code ?? 'AA'}">
    <targetMessage><id root="2.16.156.10011.2.5.1.1" extension="${opts.guid ?? '8D73520B-D489-4B70-8F4B-7B5C2D7961B5'}"/></targetMessage>
    <acknowledgementDetail><text value="${opts.reason ?? '处理成功'}"/></acknowledgementDetail>
  </acknowledgement>
</MCCI_IN000002UV01>`;
}

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

describe('readAck', () => {
  it('reads a bare MCCI_IN000002UV01', () => {
    const body = mcci({ code: 'AE', reason: '工号关联账号不存在', guid: '000123-GUID', receiver: 'HIS', sender: 'WX' });
    const ack = readAck(body);
    expect(ack).toEqual({
      envelope: 'bare',
      ackCode: 'AE',
      reason: '工号关联账号不存在',
      targetGuid: '000123-GUID',
      receiverId: 'HIS',
      senderId: 'WX',
      ackXml: body,
    });
  });

  it('unwraps SOAP 1.1 whose result is entity-escaped text, decoding entities exactly once', () => {
    const inner = mcci({ code: 'AE', reason: '微信发送失败(40003): invalid openid &amp; &quot;x&quot; &amp;lt;', guid: 'G-11' });
    const body = `<?xml version="1.0" encoding="utf-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body>
    <ns1:HIPMessageServerResponse xmlns:ns1="http://www.dhcc.com.cn">
      <ns1:HIPMessageServerResult>${xmlEscape(inner)}</ns1:HIPMessageServerResult>
    </ns1:HIPMessageServerResponse>
  </soapenv:Body>
</soapenv:Envelope>`;
    const ack = readAck(body);
    expect(ack.envelope).toBe('soap11');
    expect(ack.ackCode).toBe('AE');
    expect(ack.reason).toBe('微信发送失败(40003): invalid openid & "x" &lt;');
    expect(ack.targetGuid).toBe('G-11');
    expect(ack.ackXml).toBe(inner);
  });

  it('unwraps SOAP 1.2 with a default-namespace envelope and a CDATA result', () => {
    const inner = mcci({ guid: 'G-12', noItem: true, receiver: 'HRP-FIN', sender: 'WX-GATEWAY' });
    const body = `<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body>
<HIPMessageServerResponse xmlns="urn:hl7-org:v3"><HIPMessageServerResult>
  <![CDATA[${inner}]]>
</HIPMessageServerResult></HIPMessageServerResponse></Body></Envelope>`;
    const ack = readAck(body);
    expect(ack).toMatchObject({ envelope: 'soap12', ackCode: 'AA', reason: '处理成功', targetGuid: 'G-12', receiverId: 'HRP-FIN', senderId: 'WX-GATEWAY' });
    expect(ack.ackXml).toBe(inner);
  });

  it('keeps values as strings and tolerates a BOM and an empty target id', () => {
    const ack = readAck('\uFEFF' + mcci({ guid: '', receiver: '000123', reason: '00' }));
    expect(ack.targetGuid).toBe('');
    expect(ack.receiverId).toBe('000123');
    expect(ack.reason).toBe('00');
  });

  it.each([
    ['garbage', 'hello, this is not xml', /not XML/],
    ['empty', '', /not an ack/],
    ['an HTML error page', '<html><body><h1>502 Bad Gateway</h1></body></html>', /<html>.*MCCI_IN000002UV01/],
    ['unclosed XML', '<MCCI_IN000002UV01><acknowledgement typeCode="AA">', /not XML/],
    ['a MCCI without acknowledgement', '<MCCI_IN000002UV01 xmlns="urn:hl7-org:v3"><id extension="x"/></MCCI_IN000002UV01>', /typeCode/],
    ['an envelope in an unknown namespace', `<s:Envelope xmlns:s="urn:nope"><s:Body/></s:Envelope>`, /unknown namespace "urn:nope"/],
    ['a SOAP fault', `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Server</faultcode></s:Fault></s:Body></s:Envelope>`, /HIPMessageServerResult/],
    ['an empty result', `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><HIPMessageServerResponse><HIPMessageServerResult/></HIPMessageServerResponse></s:Body></s:Envelope>`, /empty/],
  ])('throws a clear error for %s', (_what, body, message) => {
    expect(() => readAck(body)).toThrow(message);
  });
});

describe('checkAck', () => {
  const ack: ReadAck = {
    envelope: 'soap11',
    ackCode: 'AE',
    reason: '微信发送失败(45015): response out of time limit or subscription is canceled rid: 6741a2-1b',
    targetGuid: 'G-1',
    receiverId: 'GCPERP',
    senderId: 'WXBRIDGE',
    ackXml: '',
  };
  const full: FixtureExpect = {
    ackCode: 'AE',
    reasonStartsWith: '微信发送失败(45015): response out of time limit',
    guid: 'G-1',
    ackReceiverId: 'GCPERP',
    ackSenderId: 'WXBRIDGE',
    envelope: 'soap11',
    texts: ['ignored by checkAck'],
  };

  it('returns nothing when everything matches', () => {
    expect(checkAck(ack, full)).toEqual([]);
    expect(checkAck(ack, { ackCode: 'AE' })).toEqual([]);
  });

  it('reports a wrong ack code', () => {
    const out = checkAck(ack, { ...full, ackCode: 'AA' });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/ackCode "AE", expected "AA"/);
  });

  it('matches reasonStartsWith as a prefix and reason exactly', () => {
    expect(checkAck(ack, { ackCode: 'AE', reasonStartsWith: '微信发送失败(40003)' })[0]).toMatch(/start with "微信发送失败\(40003\)"/);
    expect(checkAck(ack, { ackCode: 'AE', reason: '微信发送失败(45015): response out of time limit' })[0]).toMatch(/^reason /);
    expect(checkAck(ack, { ackCode: 'AE', reason: ack.reason })).toEqual([]);
  });

  it('reports every differing field', () => {
    const out = checkAck({ ...ack, ackCode: 'AA', targetGuid: '', senderId: 'WECHAT-BRIDGE', envelope: 'bare', receiverId: 'X' }, full);
    expect(out.join('\n')).toMatch(/ackCode/);
    expect(out.join('\n')).toMatch(/guid "", expected "G-1"/);
    expect(out.join('\n')).toMatch(/ack receiver "X"/);
    expect(out.join('\n')).toMatch(/ack sender "WECHAT-BRIDGE", expected "WXBRIDGE"/);
    expect(out.join('\n')).toMatch(/envelope "bare", expected "soap11"/);
    expect(out).toHaveLength(5);
  });

  it('treats an expected empty guid as a real expectation', () => {
    expect(checkAck(ack, { ackCode: 'AE', guid: '' })).toEqual(['guid "G-1", expected ""']);
  });
});

describe('loadFixture and listFixtures', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'fixture-file-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('reads body bytes and the sidecar', () => {
    const file = join(FIXTURES, '01-soap11-dhcc-cdata.xml');
    const f = loadFixture(file);
    expect(f.file).toBe(file);
    expect(f.name).toBe('01-soap11-dhcc-cdata');
    expect(f.body.equals(readFileSync(file))).toBe(true);
    expect(f.contentType).toBe('text/xml; charset=utf-8');
    expect(f.soapAction).toBe('http://www.dhcc.com.cn/DHC.Published.GCP0001.BS.GCP0001.HIPMessageServer');
    expect(f.description).toMatch(/DHC/);
    expect(f.expect?.ackCode).toBe('AA');
    expect(f.expect?.guid).toBe('2F2CABC5-5330-4488-A1F4-0414B7DEF0F6');
    expect(f.requires).toBeUndefined();
  });

  it('guesses the content type from the extension without a sidecar', () => {
    const cases: Array<[string, string]> = [
      ['a.xml', 'text/xml; charset=utf-8'],
      ['b.txt', 'text/plain; charset=utf-8'],
      ['c.form', 'application/x-www-form-urlencoded'],
      ['d.bin', 'application/octet-stream'],
    ];
    for (const [name, type] of cases) {
      writeFileSync(join(tmp, name), 'x=1');
      const f = loadFixture(join(tmp, name));
      expect(f.contentType).toBe(type);
      expect(f.expect).toBeUndefined();
      expect(f.soapAction).toBeUndefined();
      expect(f.description).toBe('');
      expect(f.body.toString()).toBe('x=1');
    }
  });

  it('refuses a sidecar that would silently test the wrong thing', () => {
    const body = join(tmp, 'bad.xml');
    writeFileSync(body, '<a/>');
    const bad = [
      '{ not json',
      '{"expect": {"ackCode": "AR"}}',
      '{"expect": {"ackCode": "AA", "reason": "处理成功", "reasonStartsWith": "处理成功"}}',
      '{"expect": {"ackCode": "AA", "envelope": "soap"}}',
      '{"expect": {"ackCode": "AA", "texts": "审批消息"}}',
      '{"contentType": 5}',
    ];
    for (const side of bad) {
      writeFileSync(`${body}.json`, side);
      expect(() => loadFixture(body), side).toThrow(/bad\.xml\.json/);
    }
  });

  it('lists body files in name order, without sidecars or README', () => {
    const files = listFixtures(FIXTURES);
    const names = files.map((f) => basename(f));
    expect(names[0]).toBe('01-soap11-dhcc-cdata.xml');
    expect(names).toEqual([...names].sort());
    expect(names.some((n) => n.endsWith('.json') || n === 'README.md')).toBe(false);
    expect(names).toContain('08-form-urlencoded.form');
    expect(names).toContain('31-raw-whitespace-only.txt');
    expect(files.every((f) => f.startsWith(FIXTURES))).toBe(true);
  });
});

describe('withFreshGuid', () => {
  it('swaps the GUID in GBK bytes and leaves every other byte alone', () => {
    const f = loadFixture(join(FIXTURES, '09-soap11-gbk-declared.xml'));
    const old = f.expect?.guid ?? '';
    const fresh = 'A0B1C2D3-E4F5-4A6B-8C7D-9E0F1A2B3C4D';
    const out = withFreshGuid(f, fresh);
    expect(out.length).toBe(f.body.length);
    expect(out.includes(old)).toBe(false);
    expect(iconv.decode(out, 'gbk')).toBe(iconv.decode(f.body, 'gbk').replaceAll(old, fresh));
    const at = f.body.indexOf(old);
    expect(at).toBeGreaterThan(0);
    expect(out.subarray(0, at).equals(f.body.subarray(0, at))).toBe(true);
    expect(out.subarray(at + old.length).equals(f.body.subarray(at + old.length))).toBe(true);
    expect(iconv.decode(out, 'gbk')).toContain('糖尿病足创面修复临床研究');
  });

  it('replaces every occurrence, with a GUID of another length too', () => {
    const f: Fixture = { file: 'x', name: 'x', body: Buffer.from('<a id="G1">G1 G1x</a>'), contentType: 'text/xml', description: '', expect: { ackCode: 'AA', guid: 'G1' } };
    expect(withFreshGuid(f, 'NEW-GUID').toString()).toBe('<a id="NEW-GUID">NEW-GUID NEW-GUIDx</a>');
  });

  it('returns the body unchanged when the fixture has no GUID, and refuses non-ASCII GUIDs', () => {
    const f = loadFixture(join(FIXTURES, '33-not-xml.txt'));
    expect(withFreshGuid(f, 'A0B1C2D3-E4F5-4A6B-8C7D-9E0F1A2B3C4D').equals(f.body)).toBe(true);
    const g = loadFixture(join(FIXTURES, '10-raw-gbk-charset.xml'));
    expect(() => withFreshGuid(g, '中文')).toThrow(/ASCII/);
  });
});

describe('the fixture corpus', () => {
  const files = listFixtures(FIXTURES);
  const fixtures = files.map((f) => loadFixture(f));

  it('has the fixtures the suite relies on', () => {
    expect(files.length).toBeGreaterThanOrEqual(45);
    for (let n = 1; n <= 45; n++) {
      if (n >= 26 && n <= 29) continue;
      const nn = String(n).padStart(2, '0');
      expect(fixtures.some((f) => f.name.startsWith(`${nn}-`)), `fixture ${nn}`).toBe(true);
    }
    expect(new Set(fixtures.map((f) => f.name.slice(0, 2))).size).toBe(fixtures.length);
  });

  it.each(files.map((f) => [basename(f), f]))('%s has a well-formed sidecar', (_name, file) => {
    const side = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as Record<string, unknown>;
    const f = loadFixture(file);
    const e = f.expect;
    expect(e, 'expect').toBeDefined();
    if (!e) return;
    expect(['AA', 'AE']).toContain(e.ackCode);
    expect(Number(e.reason !== undefined) + Number(e.reasonStartsWith !== undefined)).toBe(1);
    expect((e.reason ?? e.reasonStartsWith ?? '').length).toBeGreaterThan(0);
    expect(typeof side.description === 'string' && side.description.length > 10).toBe(true);
    expect(f.contentType.length).toBeGreaterThan(0);
    expect(['soap11', 'soap12', 'bare']).toContain(e.envelope);
    expect(Array.isArray(e.texts)).toBe(true);
    for (const t of e.texts ?? []) {
      expect(Buffer.byteLength(t, 'utf8')).toBeLessThanOrEqual(LIMIT);
      expect(t).not.toMatch(/undefined|null|\[object Object\]|\n$/);
    }
    if (e.guid) expect(f.body.includes(e.guid), 'GUID occurs in the body bytes').toBe(true);
    if (e.ackCode === 'AA') expect(e.reason ?? e.reasonStartsWith).toMatch(/^处理成功/);
    if (f.requires !== undefined) expect(f.requires).toBe('database-down');
  });

  it('splits long texts only where needed, at list-item boundaries', () => {
    const split = fixtures.filter((f) => f.expect?.ackCode === 'AA' && (f.expect.texts?.length ?? 0) > 1);
    expect(split.length).toBeGreaterThan(0);
    for (const f of split) {
      const texts = f.expect?.texts ?? [];
      expect(texts[0]?.startsWith('审批消息\n\n申请人工号：')).toBe(true);
      for (const [i, part] of texts.entries()) {
        if (i > 0) expect(part.startsWith('项目名称：'), `${f.name} part ${i + 1}`).toBe(true);
        // greedy: the next part's first item block would not have fitted
        const next = texts[i + 1];
        if (next !== undefined) {
          const firstBlock = next.split('\n').slice(0, 3).join('\n');
          expect(Buffer.byteLength(`${part}\n${firstBlock}`)).toBeGreaterThan(LIMIT);
        }
      }
    }
    const exact = fixtures.find((f) => f.name.startsWith('27-'));
    expect(Buffer.byteLength(exact?.expect?.texts?.[0] ?? '')).toBe(LIMIT);
    expect(exact?.expect?.texts).toHaveLength(1);
  });

  it('uses unique GUIDs except for consecutive duplicate pairs', () => {
    const byGuid = new Map<string, number[]>();
    fixtures.forEach((f, i) => {
      const g = f.expect?.guid;
      if (g) byGuid.set(g, [...(byGuid.get(g) ?? []), i]);
    });
    const pairs: string[] = [];
    for (const [guid, at] of byGuid) {
      expect(guid).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
      expect(at.length, guid).toBeLessThanOrEqual(2);
      if (at.length === 2) {
        expect(at[1], `${guid} pair must be consecutive`).toBe((at[0] ?? -9) + 1);
        pairs.push(fixtures[at[0] ?? 0]?.name.slice(0, 2) ?? '');
      }
    }
    expect(pairs).toEqual(['22', '24', '46']);
    const second = (n: string): FixtureExpect | undefined => fixtures.find((f) => f.name.startsWith(n))?.expect;
    expect(second('23')?.texts).toEqual([]);
    expect(second('25')?.ackCode).toBe('AE');
  });

  it('binds the employees the fixtures assume', () => {
    const employees = JSON.parse(readFileSync(join(FIXTURES, 'employees.json'), 'utf8')) as Array<{ employeeNo: string; openid: string; name: string; active: boolean }>;
    const by = new Map(employees.map((e) => [e.employeeNo, e]));
    expect(by.size).toBe(employees.length);
    for (const e of employees) {
      expect(e.openid).toMatch(/^[A-Za-z0-9_-]{6,64}$/);
      expect(typeof e.name).toBe('string');
      expect(typeof e.active).toBe('boolean');
    }
    expect(by.get('10086')?.active).toBe(true);
    expect(by.get('000123')?.active).toBe(true);
    expect(by.get('10099')?.active).toBe(false);
    for (const marker of ['_err45015_', '_err40003_', '_err-1_', '_http503_', '_slow_']) {
      expect(employees.filter((e) => e.openid.includes(marker))).toHaveLength(1);
    }
    expect(by.has('55555')).toBe(false);
  });
});

// The stub bridge echoes the first GUID-shaped extension, plain or entity-escaped (SOAP 1.2 fixtures).
const GUID_IN_BODY = /extension=(?:"|&quot;)([0-9A-F-]{36})/;

describe('replay CLI', () => {
  const received: Array<{ contentType: string; soapAction: string; body: Buffer }> = [];
  let url = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ contentType: req.headers['content-type'] ?? '', soapAction: String(req.headers.soapaction ?? ''), body });
      const text = body.toString('latin1');
      const guid = GUID_IN_BODY.exec(text)?.[1] ?? '';
      const ns = ['http://schemas.xmlsoap.org/soap/envelope/', 'http://www.w3.org/2003/05/soap-envelope'].find((n) => text.includes(n));
      const ack = mcci({ guid });
      const out = ns ? `<e:Envelope xmlns:e="${ns}"><e:Body><HIPMessageServerResponse><HIPMessageServerResult>${xmlEscape(ack)}</HIPMessageServerResult></HIPMessageServerResponse></e:Body></e:Envelope>` : ack;
      res.setHeader('content-type', 'text/xml; charset=utf-8');
      res.end(out);
    });
  });
  beforeAll(async () => {
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  async function run(args: string[]): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      return { code: await replay(args), lines };
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  }

  it('posts the exact bytes with the sidecar headers and prints ok', async () => {
    received.length = 0;
    const file = join(FIXTURES, '09-soap11-gbk-declared.xml');
    const { code, lines } = await run([file, '--url', url]);
    expect(lines).toEqual([`${file}  200  AA  处理成功  ok`]);
    expect(code).toBe(0);
    expect(received[0]?.body.equals(readFileSync(file))).toBe(true);
    expect(received[0]?.contentType).toBe('text/xml');
    expect(received[0]?.soapAction).toMatch(/DHC\.Published/);
  });

  it('exits 1 on a mismatch and names it', async () => {
    const { code, lines } = await run([join(FIXTURES, '07-raw-plain-xml.xml'), join(FIXTURES, '38-unbound-employee.xml'), '--url', url]);
    expect(code).toBe(1);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/07-raw-plain-xml\.xml {2}200 {2}AA {2}处理成功 {2}ok$/);
    expect(lines[1]).toMatch(/MISMATCH: ackCode "AA", expected "AE"/);
  });

  it('--fresh-guid gives new GUIDs but keeps a duplicate pair together', async () => {
    received.length = 0;
    const { code } = await run([join(FIXTURES, '22-duplicate-first.xml'), join(FIXTURES, '23-duplicate-resend.xml'), join(FIXTURES, '07-raw-plain-xml.xml'), '--fresh-guid', '--url', url]);
    const guids = received.map((r) => GUID_IN_BODY.exec(r.body.toString('latin1'))?.[1]);
    expect(code).toBe(0);
    expect(guids[0]).toBe(guids[1]);
    expect(guids[2]).not.toBe(guids[0]);
    expect(guids[0]).not.toBe('5F87CB96-D04C-49A4-9A1C-069949AB32A3');
    expect(guids[0]).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  });

  it('prints a line and goes on after a network error', async () => {
    const { code, lines } = await run([join(FIXTURES, '07-raw-plain-xml.xml'), '--url', 'http://127.0.0.1:9/push', '--timeout', '2000']);
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ERROR: .*ECONNREFUSED/);
  });

  it.each([[[]], [['--bogus', FIXTURES]], [[FIXTURES, '--timeout', 'soon']], [[FIXTURES, '--url', 'not a url']], [['no/such/file.xml']]])('exits 2 on bad usage %j', async (args) => {
    expect((await run(args)).code).toBe(2);
  });
});
