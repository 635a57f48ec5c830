import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { FakeWechat } from '../test/support/fake-wechat.js';

// The fake WeChat of the tests (test/support/fake-wechat.ts), run as a process of its own for the
// benchmark, plus a tiny control server on a second port so the orchestrator can read its counters:
//
//   GET  /stats  → { sendRequests, accepted, rejected, distinctAccepted, tokenCalls, sendDelayMs }
//   POST /reset  → clears the counters
//
// Usage: node --import tsx bench/fake-wechat-server.ts --port 0 --control-port 0 --delay 200
// Prints one JSON line `{"ready":true,...}` on stdout once both servers listen. Exits when stdin
// closes (the orchestrator died) or on SIGTERM/SIGINT, so it can never outlive the benchmark.

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'control-port': { type: 'string', default: '0' },
    delay: { type: 'string', default: '0' },
  },
});

const sendDelayMs = Number(values.delay);
if (!Number.isFinite(sendDelayMs) || sendDelayMs < 0) throw new Error(`--delay: expected milliseconds, got ${values.delay}`);

const wechat = await new FakeWechat({ sendDelayMs }).start(Number(values.port));

export interface FakeStats {
  sendRequests: number;
  accepted: number;
  rejected: number;
  /** Accepted sends with distinct text: every benchmark push carries its GUID in the text, so accepted − distinct = duplicates. */
  distinctAccepted: number;
  tokenCalls: number;
  sendDelayMs: number;
}

function stats(): FakeStats {
  let accepted = 0;
  const distinct = new Set<string>();
  for (const send of wechat.sends) {
    if (send.errcode !== 0) continue;
    accepted++;
    distinct.add(send.content);
  }
  return {
    sendRequests: wechat.sendRequests,
    accepted,
    rejected: wechat.sends.length - accepted,
    distinctAccepted: distinct.size,
    tokenCalls: wechat.tokenCalls.length,
    sendDelayMs: wechat.sendDelayMs,
  };
}

const control: Server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats()));
    return;
  }
  if (req.method === 'POST' && req.url === '/reset') {
    wechat.reset();
    res.writeHead(204).end();
    return;
  }
  res.writeHead(404).end();
});
await new Promise<void>((resolve) => control.listen(Number(values['control-port']), '127.0.0.1', resolve));

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  control.closeAllConnections();
  control.close();
  await wechat.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.on('error', () => void stop());
process.stdin.resume();

process.stdout.write(
  `${JSON.stringify({
    ready: true,
    url: wechat.url,
    controlUrl: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
    appId: wechat.appId,
    secret: wechat.secret,
    pid: process.pid,
  })}\n`,
);
