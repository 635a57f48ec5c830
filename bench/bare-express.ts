import { parseArgs } from 'node:util';
import { baselineApp, FIXED_ANSWER as answer, serveBaseline } from './baseline-server.js';

// The baseline of the throughput scenario: the same Express, the same body parser and the same
// server settings as the bridge's /push, answering one fixed SOAP 1.2 AA ack (built once, same size
// as the bridge's) without looking at the body. bridge ÷ this = what the push path itself costs.
//
// Usage: node --import tsx bench/bare-express.ts --port 0
// Prints `{"ready":true,"url":...}` on stdout once listening; exits when stdin closes or on SIGTERM.

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });

const app = baselineApp((body, res) => {
  // Touch the body as the bridge must, so an unread body cannot make the baseline cheaper.
  res.status(body.length > 0 ? 200 : 400).type(answer.contentType).send(answer.body);
});

serveBaseline(app, Number(values.port));
