import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A fake WeChat Official Account API: a real HTTP server on loopback that speaks the token and
// customer-service endpoints the bridge uses, and behaves like WeChat where it matters:
// errors come as HTTP 200 with an errcode, tokens expire and get invalidated, the classic token
// API issues a new token on every call. Its answer to a send is chosen by the recipient's openid
// (see fixtures/README.md) or scripted by a test.

export interface SendCall {
  touser: string;
  content: string;
  token: string;
  errcode: number | null;
  httpStatus: number;
  at: number;
}

export type ScriptedAnswer = { errcode: number; errmsg?: string } | { httpStatus: number } | { delayMs: number; errcode?: number } | { destroy: true };

const ERRMSG: Record<number, string> = {
  [-1]: 'system error',
  0: 'ok',
  40001: 'invalid credential, access_token is invalid or not latest',
  40003: 'invalid openid',
  40014: 'invalid access_token',
  42001: 'access_token expired',
  43004: 'require subscribe',
  45015: 'response out of time limit or subscription is canceled',
  45047: 'out of response count limit',
};

export interface FakeWechatOptions {
  appId?: string;
  secret?: string;
  /** Delay before answering every send, to model a slow WeChat. */
  sendDelayMs?: number;
  slowMs?: number;
}

export class FakeWechat {
  readonly appId: string;
  readonly secret: string;
  url = '';
  /** Every send the fake answered with a JSON body (accepted or not). */
  readonly sends: SendCall[] = [];
  readonly tokenCalls: Array<{ api: 'stable' | 'classic'; forceRefresh: boolean; at: number }> = [];
  /** Answers used, in order, before the openid conventions apply. */
  readonly script: ScriptedAnswer[] = [];
  sendDelayMs: number;
  /** Every send request that reached the fake, whatever happened to it. */
  sendRequests = 0;
  /** Sends that reached the fake but got no JSON answer: connection reset, client gone, HTTP error. */
  readonly lost: Array<{ touser: string; content: string; fate: 'destroyed' | 'abandoned' | 'http-error' }> = [];
  /** Chooses the answer to each send when the script is empty (chaos tests). */
  behaviour: ((message: { touser: string; content: string }) => ScriptedAnswer) | null = null;
  /** Runs when a send arrives, before it is answered (to look at the bridge's state mid-delivery). */
  onSend: ((message: { touser: string; content: string }) => Promise<void>) | null = null;
  private readonly slowMs: number;
  private readonly validTokens = new Map<string, number>();
  private stableToken: string | null = null;
  private tokenSeq = 0;
  private server: Server | null = null;

  constructor(options: FakeWechatOptions = {}) {
    this.appId = options.appId ?? 'wxFAKEAPPID000001';
    this.secret = options.secret ?? 'fake-app-secret-0123456789abcdef';
    this.sendDelayMs = options.sendDelayMs ?? 0;
    this.slowMs = options.slowMs ?? 3000;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      this.route(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    this.server.keepAliveTimeout = 10_000;
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  /** Texts WeChat accepted (errcode 0) for a recipient, in order. */
  delivered(openid?: string): string[] {
    return this.sends.filter((s) => s.errcode === 0 && (openid === undefined || s.touser === openid)).map((s) => s.content);
  }

  /** Makes every token issued so far invalid, as when another party refreshed the classic token. */
  invalidateTokens(): void {
    this.validTokens.clear();
    this.stableToken = null;
  }

  /** Makes one token invalid, as WeChat does with a token that is no longer the latest. */
  revoke(token: string): void {
    this.validTokens.delete(token);
  }

  reset(): void {
    this.sends.length = 0;
    this.tokenCalls.length = 0;
    this.script.length = 0;
    this.sendRequests = 0;
    this.onSend = null;
    this.behaviour = null;
    this.lost.length = 0;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    if (req.method === 'POST' && url.pathname === '/cgi-bin/stable_token') return this.stableTokenCall(body, res);
    if (req.method === 'GET' && url.pathname === '/cgi-bin/token') return this.classicTokenCall(url, res);
    if (req.method === 'POST' && url.pathname === '/cgi-bin/message/custom/send') return this.send(url, body, req, res);
    json(res, { errcode: 40066, errmsg: 'invalid url' });
  }

  private stableTokenCall(body: string, res: ServerResponse): void {
    const input = JSON.parse(body || '{}') as { appid?: string; secret?: string; force_refresh?: boolean; grant_type?: string };
    this.tokenCalls.push({ api: 'stable', forceRefresh: input.force_refresh === true, at: Date.now() });
    if (input.appid !== this.appId) return json(res, { errcode: 40013, errmsg: 'invalid appid' });
    if (input.secret !== this.secret) return json(res, { errcode: 40125, errmsg: 'invalid appsecret' });
    if (input.force_refresh === true || this.stableToken === null || !this.validTokens.has(this.stableToken)) {
      this.stableToken = this.issue();
    }
    json(res, { access_token: this.stableToken, expires_in: 7200 });
  }

  private classicTokenCall(url: URL, res: ServerResponse): void {
    this.tokenCalls.push({ api: 'classic', forceRefresh: false, at: Date.now() });
    if (url.searchParams.get('appid') !== this.appId) return json(res, { errcode: 40013, errmsg: 'invalid appid' });
    if (url.searchParams.get('secret') !== this.secret) return json(res, { errcode: 40125, errmsg: 'invalid appsecret' });
    json(res, { access_token: this.issue(), expires_in: 7200 });
  }

  /** Resolves once no send is being held (slow answers included), so the logs are complete. */
  async settled(): Promise<void> {
    for (let i = 0; i < 200 && this.inProgress > 0; i++) await sleep(25);
  }

  private inProgress = 0;

  private async send(url: URL, body: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inProgress++;
    try {
      await this.answerSend(url, body, req, res);
    } finally {
      this.inProgress--;
    }
  }

  private async answerSend(url: URL, body: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = url.searchParams.get('access_token') ?? '';
    const message = JSON.parse(body || '{}') as { touser?: string; msgtype?: string; text?: { content?: string } };
    const touser = message.touser ?? '';
    const content = message.text?.content ?? '';
    this.sendRequests++;
    if (this.onSend) await this.onSend({ touser, content });
    const answer = this.script.shift() ?? this.behaviour?.({ touser, content }) ?? this.byOpenid(touser);
    if ('destroy' in answer) {
      this.lost.push({ touser, content, fate: 'destroyed' });
      req.socket.destroy();
      return;
    }
    const delay = ('delayMs' in answer ? answer.delayMs : 0) + this.sendDelayMs;
    if (delay > 0) await sleep(delay);
    if (res.destroyed || req.socket.destroyed) {
      this.lost.push({ touser, content, fate: 'abandoned' }); // the bridge gave up waiting
      return;
    }
    if ('httpStatus' in answer) {
      this.lost.push({ touser, content, fate: 'http-error' });
      res.writeHead(answer.httpStatus, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
      return;
    }
    let errcode = 'errcode' in answer && answer.errcode !== undefined ? answer.errcode : 0;
    if (!this.validTokens.has(token)) errcode = 40001;
    else if (typeof message.touser !== 'string' || message.msgtype !== 'text' || typeof message.text?.content !== 'string') errcode = 44002;
    this.sends.push({ touser, content, token, errcode, httpStatus: 200, at: Date.now() });
    const errmsg = 'errmsg' in answer && answer.errmsg ? answer.errmsg : (ERRMSG[errcode] ?? 'error');
    json(res, { errcode, errmsg: errcode === 0 ? 'ok' : `${errmsg} rid: ${randomBytes(4).toString('hex')}-${randomBytes(2).toString('hex')}` });
  }

  private byOpenid(openid: string): ScriptedAnswer {
    const err = /_err(-?\d+)_/.exec(openid);
    if (err) return { errcode: Number(err[1]) };
    if (openid.includes('_http503_')) return { httpStatus: 503 };
    if (openid.includes('_slow_')) return { delayMs: this.slowMs, errcode: 0 };
    return { errcode: 0 };
  }

  issue(): string {
    const token = `FAKETOKEN_${++this.tokenSeq}_${randomBytes(12).toString('hex')}`;
    this.validTokens.set(token, Date.now());
    return token;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json; encoding=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
