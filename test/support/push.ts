import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { readAck, type ReadAck } from '../../src/cli/fixture-file.js';
import { approvalXml, request as requestXml } from './samples.js';

// Builds and sends approval pushes the way the HIP does (SOAP 1.2, escaped payload).

export function newGuid(): string {
  return randomUUID().toUpperCase();
}

/** The GUID doubles as the bill number, so each WeChat text names the push it came from. */
export function soapPush(guid: string, employeeNo: string, opinion = '同意', lists = ''): string {
  const escaped = approvalXml(guid, requestXml(employeeNo, opinion, lists, guid)).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:urn="urn:hl7-org:v3"><soap:Body><urn:HIPMessageServer><action>GCP0001</action><message>${escaped}</message></urn:HIPMessageServer></soap:Body></soap:Envelope>`;
}

export async function push(url: string, body: string, contentType = 'application/soap+xml; charset=utf-8'): Promise<ReadAck & { status: number }> {
  const res = await request(url).post('/push').set('Content-Type', contentType).send(body);
  return { ...readAck(res.text), status: res.status };
}

/** The GUID a WeChat text was sent for (see soapPush). */
export function guidOfText(text: string): string {
  return /单据编号：(\S+)/.exec(text)?.[1] ?? '';
}
