import { readFileSync } from 'node:fs';
import path from 'node:path';

// The contract's own samples (copied from shared/samples into test/samples), used where a test needs the canonical push.

const SAMPLES = path.resolve(import.meta.dirname, '../samples');
const LOCAL = path.resolve(import.meta.dirname, '../../fixtures');

export function sample(name: string): string {
  return readFileSync(path.join(SAMPLES, name), 'utf8');
}

export function fixtureBytes(name: string): Buffer {
  return readFileSync(path.join(LOCAL, name));
}

/** A minimal approval payload; `request` is spliced in verbatim. */
export function approvalXml(guid: string, request: string, extra = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<GCP_IN000001UV01 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">
  <id root="2.16.156.10011.2.5.1.1" extension="${guid}"/>
  <creationTime value="20261122101500"/>
  <receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id><item root="2.16.156.10011.2.5.1.3" extension="WXBRIDGE"/></id></device></receiver>
  <sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id><item root="2.16.156.10011.2.5.1.3" extension="GCPERP"/></id></device></sender>
  ${extra}
  <controlActProcess classCode="CACT" moodCode="EVN"><subject typeCode="SUBJ">${request}</subject></controlActProcess>
</GCP_IN000001UV01>`;
}

export function request(employeeNo: string, opinion = '同意', lists = '', billNum = 'BX20261122000123'): string {
  return `<request><employee_no>${employeeNo}</employee_no><operator>20011</operator><bill_type>劳务费报销</bill_type><bill_num>${billNum}</bill_num><approval_date>2026-11-22 10:15:00</approval_date><approval_opinion>${opinion}</approval_opinion>${lists}</request>`;
}
