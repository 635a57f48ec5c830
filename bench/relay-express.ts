import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { DEFAULT_WECHAT_MAX_CONNECTIONS, DEFAULT_WECHAT_TIMEOUT_MS } from '../src/config.js';
import { wechatPoolOptions } from '../src/wechat/api.js';
import { baselineApp, FIXED_ANSWER as answer, serveBaseline } from './baseline-server.js';

// The floor of the bench's scenarios (throughput, and as relay-slow and relay-steady under their
// loads): what any bridge must do for a push, and nothing else.
// Express reads the body, one customer-service send goes to the fake WeChat through an undici
// pool (the bridge's settings), and a fixed AA ack goes back. No XML is read, nothing is
// recorded, no look-up. relay ÷ bare Express is the best ratio a bridge could reach on this
// machine with this load generator and this fake: the ceiling the 0.40 target is judged against.
//
// Usage: node --import tsx bench/relay-express.ts --wechat URL --appid ID --secret S [--port 0]
// Prints `{"ready":true,"url":...}` on stdout once listening; exits when stdin closes or on SIGTERM.

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    wechat: { type: 'string' },
    appid: { type: 'string' },
    secret: { type: 'string' },
    openid: { type: 'string', default: 'oBenchRelayOpenid0001' },
  },
});
if (!values.wechat || !values.appid || !values.secret) throw new Error('--wechat, --appid and --secret are required');

// As src/wechat/api.ts builds its pool and its calls, at the default WECHAT_MAX_CONNECTIONS and WECHAT_TIMEOUT_MS.
const TIMEOUT_MS = DEFAULT_WECHAT_TIMEOUT_MS;
const wechat = new Pool(new URL(values.wechat).origin, wechatPoolOptions(DEFAULT_WECHAT_MAX_CONNECTIONS, TIMEOUT_MS));
const tokenAnswer = await wechat.request({
  method: 'POST',
  path: '/cgi-bin/stable_token',
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify({ grant_type: 'client_credential', appid: values.appid, secret: values.secret }),
});
const { access_token: token } = (await tokenAnswer.body.json()) as { access_token?: string };
if (!token) throw new Error('the fake WeChat gave no access token');
const sendPath = `/cgi-bin/message/custom/send?${new URLSearchParams({ access_token: token }).toString()}`;
let sent = 0;

async function send(): Promise<boolean> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new DOMException('timeout', 'TimeoutError')), TIMEOUT_MS);
  try {
    return await sendWith(abort.signal);
  } finally {
    clearTimeout(timer);
  }
}

async function sendWith(signal: AbortSignal): Promise<boolean> {
  const res = await wechat.request({
    method: 'POST',
    path: sendPath,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    // A text of the bridge's size, distinct per push so the fake's duplicate count stays meaningful.
    body: JSON.stringify({ touser: values.openid, msgtype: 'text', text: { content: `审批通知 ${++sent} ${'单据已审批通过，请登录系统查看详情。'.repeat(4)}` } }),
    headersTimeout: TIMEOUT_MS,
    bodyTimeout: TIMEOUT_MS,
    signal,
  });
  const result = JSON.parse(await res.body.text()) as { errcode?: number };
  return res.statusCode === 200 && result.errcode === 0;
}

const app = baselineApp((body, res) => {
  if (body.length === 0) {
    res.status(400).end();
    return;
  }
  send().then(
    (ok) => res.status(ok ? 200 : 502).type(answer.contentType).send(answer.body),
    () => res.status(502).end(),
  );
});

serveBaseline(app, Number(values.port), () => wechat.close());
