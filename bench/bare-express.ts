import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import express from 'express';
import { writeAck, wrapAck } from '../src/push/acknowledge.js';

// The baseline of the throughput scenario: the same Express, the same body parser and the same
// server settings as the bridge's /push, answering one fixed SOAP 1.2 AA ack (built once, same size
// as the bridge's) without looking at the body. bridge ÷ this = what the push path itself costs.
//
// Usage: node --import tsx bench/bare-express.ts --port 0
// Prints `{"ready":true,"url":...}` on stdout once listening; exits when stdin closes or on SIGTERM.

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });

const ackXml = writeAck({
  ack: { code: 'AA', reason: '处理成功' },
  addressing: { guid: '00000000-0000-0000-0000-000000000000', senderId: 'GCPERP', receiverId: 'WXBRIDGE' },
  bridgeId: 'WECHAT-BRIDGE',
  ackId: '00000000-0000-0000-0000-000000000001',
  now: new Date(),
});
const answer = wrapAck(ackXml, { kind: 'soap12', operationNamespace: 'urn:hl7-org:v3', qualifiedParameters: false, cdata: false });

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.post('/push', express.raw({ type: () => true, limit: 1024 * 1024 }), (req, res) => {
  // Touch the body as the bridge must, so an unread body cannot make the baseline cheaper.
  const length = Buffer.isBuffer(req.body) ? req.body.length : 0;
  res.status(length > 0 ? 200 : 400).type(answer.contentType).send(answer.body);
});

const server = app.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pid: process.pid })}\n`);
});
// The bridge's settings (src/service.ts).
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 30_000;

const stop = (): void => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
