import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readPush } from '../src/push/read.js';
import { soapPush } from '../test/support/push.js';

// Micro-benchmark of the pure front of the push path (issue 12): `readPush` (src/push/read.ts),
// body bytes in, envelope and approval out. No HTTP, no Postgres.
//
//   npx tsx bench/read-push.ts                 # every case, 5 rounds of 1.5 s each after 1.5 s warm-up
//   npx tsx bench/read-push.ts --round 1000    # round length in ms
//   npx tsx bench/read-push.ts --only 50kb     # cases whose label contains this
//
// Each case is warmed up, then timed in 5 rounds; the median round is reported as pushes/s and
// µs per push. The machine is shared: run it at least twice and compare.

const ROUNDS = 5;
const args = process.argv.slice(2);
const roundMs = Number(argValue('--round') ?? 1500);
const only = argValue('--only');

function argValue(name: string): string | undefined {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
}

const SOAP12 = 'application/soap+xml; charset=utf-8';
const SOAP11 = 'text/xml; charset=utf-8';
const samples = path.resolve(import.meta.dirname, '../test/samples');

/** The bench's push (bench/run.ts): SOAP 1.2, escaped payload, one `<lists>` item, the GUID in the opinion. */
const LIST = '<lists><PI>30001</PI><card_num>6222021234567890123</card_num><project_name>XYZ-001 II期临床试验</project_name></lists>';
const GUID = '6F1C2B8E-93A4-4D1E-B7C0-2A5E8F9D0C31';

function benchPush(lists: string): Buffer {
  return Buffer.from(soapPush(GUID, '000042', `同意（${GUID}）`, lists), 'utf8');
}

/** About 50 KB of escaped payload: the bench's push with as many `<lists>` items as it takes. */
function fiftyKbPush(): Buffer {
  let lists = '';
  let n = 0;
  while (benchPush(lists).length < 50 * 1024) lists += LIST.replace('30001', String(30001 + n++));
  return benchPush(lists);
}

interface Case {
  label: string;
  body: Buffer;
  contentType: string;
}

const cases: Case[] = [
  { label: 'bench push (SOAP 1.2, escaped, 1 item)', body: benchPush(LIST), contentType: SOAP12 },
  { label: 'soap11-dhcc.xml (CDATA)', body: readFileSync(path.join(samples, 'soap11-dhcc.xml')), contentType: SOAP11 },
  { label: 'soap12-hl7.xml (escaped)', body: readFileSync(path.join(samples, 'soap12-hl7.xml')), contentType: SOAP12 },
  { label: '50kb payload (SOAP 1.2, escaped)', body: fiftyKbPush(), contentType: SOAP12 },
];

let sink = 0;

function check(c: Case): void {
  const read = readPush(c.body, c.contentType);
  if (!read.ok) throw new Error(`${c.label}: not read: ${JSON.stringify(read.refusal)}`);
}

/** Runs readPush for about `ms` milliseconds; returns pushes and elapsed nanoseconds. */
function run(c: Case, ms: number): { n: number; ns: number } {
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let n = 0;
  let now = start;
  while (now < deadline) {
    // Batches keep the clock out of the measurement.
    for (let i = 0; i < 20; i++) {
      const read = readPush(c.body, c.contentType);
      if (read.ok) sink += read.approval.items.length;
    }
    n += 20;
    now = process.hrtime.bigint();
  }
  return { n, ns: Number(now - start) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

console.log(`readPush micro-benchmark: node ${process.version}, ${ROUNDS} rounds of ${roundMs} ms per case after ${roundMs} ms warm-up; median round`);
console.log(`${'case'.padEnd(40)} ${'bytes'.padStart(7)} ${'pushes/s'.padStart(10)} ${'µs/push'.padStart(9)}   rounds (µs/push)`);
for (const c of cases) {
  if (only !== undefined && !c.label.includes(only)) continue;
  check(c);
  run(c, roundMs);
  const perPush: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const { n, ns } = run(c, roundMs);
    perPush.push(ns / n / 1000);
  }
  const us = median(perPush);
  console.log(
    `${c.label.padEnd(40)} ${String(c.body.length).padStart(7)} ${Math.round(1e6 / us).toString().padStart(10)} ${us.toFixed(1).padStart(9)}   ${perPush.map((v) => v.toFixed(1)).join(' ')}`,
  );
}
if (sink === 0) console.log('(nothing read)');
