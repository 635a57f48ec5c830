import { spawn } from 'node:child_process';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';

// GET /push?wsdl for platform engineers, and `npm run migrate` (run twice at once, as replicas do).

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('WSDL', () => {
  let db: TestDatabase;
  let bridge: TestBridge;
  beforeAll(async () => {
    db = await createTestDatabase('wsdl');
    bridge = await startBridge({ databaseUrl: db.url, wechat: false });
  });
  afterAll(async () => {
    await bridge?.stop();
    await db?.drop();
  });

  it('describes HIPMessageServer(action, message) with SOAP 1.1 and 1.2 bindings at this endpoint', async () => {
    const res = await request(bridge.url).get('/push?wsdl').set('Host', 'bridge.hospital.local:8080');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/xml; charset=utf-8');
    const wsdl = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', removeNSPrefix: true }).parse(res.text).definitions;
    expect(wsdl.targetNamespace).toBe('urn:hl7-org:v3');
    const request_ = wsdl.types.schema.element.find((e: { name: string }) => e.name === 'HIPMessageServer');
    expect(request_.complexType.sequence.element.map((e: { name: string }) => e.name)).toEqual(['action', 'message']);
    const response = wsdl.types.schema.element.find((e: { name: string }) => e.name === 'HIPMessageServerResponse');
    expect(response.complexType.sequence.element.name).toBe('HIPMessageServerResult');
    expect(wsdl.binding.map((b: { name: string }) => b.name)).toEqual(['HIPMessageServerSoap11', 'HIPMessageServerSoap12']);
    expect(res.text).toContain('xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"');
    for (const port of wsdl.service.port) expect(port.address.location).toBe('http://bridge.hospital.local:8080/push');
  });

  it('answers a plain GET /push with 405 and how to use it', async () => {
    const res = await request(bridge.url).get('/push');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });
});

describe('npm run migrate', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('migrate');
  });
  afterAll(async () => db?.drop());

  const migrate = () =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, ['dist/src/cli/migrate.js'], { cwd: ROOT, env: { PATH: process.env.PATH, DATABASE_URL: db.url, LOG_LEVEL: 'silent' } });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('exit', (code) => resolve({ code, output }));
    });

  it('applies every migration once, even when two run at the same moment, then has nothing to do', async () => {
    const [a, b] = await Promise.all([migrate(), migrate()]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const outputs = [a.output, b.output].sort();
    expect(outputs[0]).toMatch(/^applied: InitialSchema\d+, EmployeeAudit\d+, MessageClaimant\d+/);
    expect(outputs[1]).toMatch(/^database is up to date/);
    const tables = await withClient(db.url, async (c) => (await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.tablename));
    expect(tables).toEqual(['callback_events', 'employee_audit', 'employees', 'invitations', 'messages', 'schema_migrations', 'wechat_tokens', 'wechat_users']);
    expect((await migrate()).output).toMatch(/^database is up to date/);
  });
});
