import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A fake WeChat Official Account API: a real HTTP server on loopback that speaks the token,
// customer-service, template-message and QR-code endpoints the bridge uses, and behaves like
// WeChat where it matters: errors come as HTTP 200 with an errcode, tokens expire and get
// invalidated, the classic token API issues a new token on every call, template sends are
// deduplicated by openid + client_msg_id for 10 minutes and answer a msgid above 2^53, and
// customer-service text can be held to the 48-hour window. Its answer to a send is chosen by the
// recipient's openid (see fixtures/README.md and the conventions below) or scripted by a test.
//
// Openid conventions:
// - custom/send: `_err<N>_` errcode N; `_http503_` HTTP 503; `_slow_` accepted after slowMs;
//   `_nowindow_` 45015 (outside the 48-hour window); `_nocount_` 45047 (out of message count).
// - template/send: `_tplerr<N>_` errcode N; `_tplslow_` accepted after slowMs. The custom-send
//   conventions (`_nowindow_` included) do not apply to templates: they have no window.

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
  40037: 'invalid template_id',
  40097: 'invalid args',
  42001: 'access_token expired',
  43004: 'require subscribe',
  43101: 'user refuse to accept the msg',
  45009: 'reach max api daily quota limit',
  45015: 'response out of time limit or subscription is canceled',
  45047: 'out of response count limit',
  47001: 'data format error',
  47003: 'argument invalid!',
};

/** A template send the fake answered with a JSON body (accepted, duplicate or refused). */
export interface TemplateCall {
  touser: string;
  templateId: string;
  url?: string;
  clientMsgId?: string;
  data: Record<string, { value: string }>;
  /** As written in the answer, digit for digit (above 2^53); null when refused. */
  msgid: string | null;
  errcode: number;
  /** Accepted as a repeat of an earlier openid + client_msg_id within 10 minutes: not delivered again. */
  duplicate: boolean;
  at: number;
}

/** A temporary QR code the fake created. */
export interface QrCodeCall {
  scene: string;
  ticket: string;
  url: string;
  expireSeconds: number;
  at: number;
}

/**
 * The errcode for a QR-code request whose arguments WeChat would refuse (action_name not
 * QR_STR_SCENE, scene_str not 1–64 characters, expire_seconds not a whole number from 1 to
 * 2592000, or absent: real WeChat then defaults to 60 s, the bridge must always say): 40097
 * `invalid args`. A body that is not a JSON object answers 47001 `data format error`.
 */
export const QR_INVALID_ARGS = 40097;

/** WeChat's limits on template values by key type (category templates): more answers 47003. */
const TEMPLATE_TYPE_LIMITS: Readonly<Record<string, number>> = { thing: 20, character_string: 32, phrase: 5 };
const TEMPLATE_DEDUP_MS = 10 * 60_000;
const WINDOW_MS = 48 * 3600_000;

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
  /** Every template send the fake answered with a JSON body (accepted, duplicate or refused). */
  readonly templates: TemplateCall[] = [];
  /** Answers used, in order, for template sends before the `_tplerr<N>_` / `_tplslow_` conventions. */
  readonly templateScript: ScriptedAnswer[] = [];
  /** Every template send request that reached the fake, whatever happened to it. */
  templateRequests = 0;
  /** QR codes created (answered with a ticket). */
  readonly qrCodes: QrCodeCall[] = [];
  /** Answers used, in order, for QR-code requests; afterwards every valid request is answered. */
  readonly qrScript: ScriptedAnswer[] = [];
  /** Every QR-code request that reached the fake, whatever happened to it. */
  qrRequests = 0;
  /**
   * The 48-hour customer-service window, realistically: when true, custom/send to an openid that
   * has not `interacted` within 48 hours answers 45015. `closeWindow` closes one openid's window
   * whatever this says.
   */
  enforceWindow = false;
  private readonly slowMs: number;
  private readonly interactions = new Map<string, number>();
  private readonly closedWindows = new Set<string>();
  /** openid + client_msg_id → the first accepted send's msgid and time. */
  private readonly templateDedup = new Map<string, { msgid: string; at: number }>();
  private msgidSeq = (1n << 61n) + 2n * BigInt(randomBytes(4).readUInt32BE()) + 1n;
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

  /** Template sends WeChat accepted and delivered (errcode 0, not a deduplicated repeat), in order. */
  templatesDelivered(openid?: string): TemplateCall[] {
    return this.templates.filter((t) => t.errcode === 0 && !t.duplicate && (openid === undefined || t.touser === openid));
  }

  /** The openid interacted with the account at `at` (a message, menu click, follow or scan): its window opens. */
  interacted(openid: string, at: number = Date.now()): void {
    this.interactions.set(openid, at);
    this.closedWindows.delete(openid);
  }

  /** Custom sends to `openid` answer 45015 (even with `enforceWindow` off) until it `interacted` again. */
  closeWindow(openid: string): void {
    this.interactions.delete(openid);
    this.closedWindows.add(openid);
  }

  reset(): void {
    this.sends.length = 0;
    this.tokenCalls.length = 0;
    this.script.length = 0;
    this.sendRequests = 0;
    this.onSend = null;
    this.behaviour = null;
    this.lost.length = 0;
    this.templates.length = 0;
    this.templateScript.length = 0;
    this.templateRequests = 0;
    this.templateDedup.clear();
    this.qrCodes.length = 0;
    this.qrScript.length = 0;
    this.qrRequests = 0;
    this.enforceWindow = false;
    this.interactions.clear();
    this.closedWindows.clear();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    if (req.method === 'POST' && url.pathname === '/cgi-bin/stable_token') return this.stableTokenCall(body, res);
    if (req.method === 'GET' && url.pathname === '/cgi-bin/token') return this.classicTokenCall(url, res);
    if (req.method === 'POST' && url.pathname === '/cgi-bin/message/custom/send') return this.send(url, body, req, res);
    if (req.method === 'POST' && url.pathname === '/cgi-bin/message/template/send') return this.held(() => this.answerTemplate(url, body, req, res));
    if (req.method === 'POST' && url.pathname === '/cgi-bin/qrcode/create') return this.held(() => this.answerQrCode(url, body, req, res));
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
    await this.held(() => this.answerSend(url, body, req, res));
  }

  /** Counts a request as in progress (for `settled`) while `work` answers it. */
  private async held(work: () => Promise<void>): Promise<void> {
    this.inProgress++;
    try {
      await work();
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
    else if (errcode === 0 && !this.windowOpen(touser, Date.now())) errcode = 45015;
    this.sends.push({ touser, content, token, errcode, httpStatus: 200, at: Date.now() });
    const errmsg = 'errmsg' in answer && answer.errmsg ? answer.errmsg : (ERRMSG[errcode] ?? 'error');
    json(res, { errcode, errmsg: errcode === 0 ? 'ok' : `${errmsg} rid: ${randomBytes(4).toString('hex')}-${randomBytes(2).toString('hex')}` });
  }

  private byOpenid(openid: string): ScriptedAnswer {
    const err = /_err(-?\d+)_/.exec(openid);
    if (err) return { errcode: Number(err[1]) };
    if (openid.includes('_http503_')) return { httpStatus: 503 };
    if (openid.includes('_slow_')) return { delayMs: this.slowMs, errcode: 0 };
    if (openid.includes('_nowindow_')) return { errcode: 45015 };
    if (openid.includes('_nocount_')) return { errcode: 45047 };
    return { errcode: 0 };
  }

  private windowOpen(openid: string, now: number): boolean {
    if (this.closedWindows.has(openid)) return false;
    if (!this.enforceWindow) return true;
    const at = this.interactions.get(openid);
    return at !== undefined && now - at < WINDOW_MS;
  }

  /**
   * WeChat acts on a template send when it arrives; a scripted or `_tplslow_` delay holds only the
   * answer, so a send the bridge stopped waiting for has been delivered all the same (and its
   * repeat with the same client_msg_id is answered as a duplicate). `destroy` drops the connection
   * before anything happens: nothing delivered.
   */
  private async answerTemplate(url: URL, body: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = url.searchParams.get('access_token') ?? '';
    this.templateRequests++;
    const message = parseObject(body);
    const touser = typeof message?.touser === 'string' ? message.touser : '';
    const answer = this.templateScript.shift() ?? this.templateByOpenid(touser);
    if ('destroy' in answer) {
      req.socket.destroy();
      return;
    }
    const reply = 'httpStatus' in answer ? null : this.takeTemplate(token, message, answer);
    const delay = ('delayMs' in answer ? answer.delayMs : 0) + this.sendDelayMs;
    if (delay > 0) await sleep(delay);
    if (res.destroyed || req.socket.destroyed) return; // the bridge gave up waiting
    if ('httpStatus' in answer) {
      res.writeHead(answer.httpStatus, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
      return;
    }
    jsonText(res, reply!);
  }

  /** Validates, deduplicates and records one template send; the answer's JSON text. */
  private takeTemplate(token: string, message: Record<string, unknown> | null, answer: ScriptedAnswer): string {
    const now = Date.now();
    const data = templateDataOf(message?.data);
    const call: TemplateCall = {
      touser: typeof message?.touser === 'string' ? message.touser : '',
      templateId: typeof message?.template_id === 'string' ? message.template_id : '',
      data: data ?? {},
      msgid: null,
      errcode: 'errcode' in answer && answer.errcode !== undefined ? answer.errcode : 0,
      duplicate: false,
      at: now,
    };
    if (typeof message?.url === 'string') call.url = message.url;
    if (typeof message?.client_msg_id === 'string') call.clientMsgId = message.client_msg_id;
    let errmsg = 'errmsg' in answer && answer.errmsg ? answer.errmsg : null;
    const wellFormed =
      message !== null &&
      call.touser !== '' &&
      call.templateId !== '' &&
      data !== null &&
      (message.url === undefined || typeof message.url === 'string') &&
      (message.client_msg_id === undefined || typeof message.client_msg_id === 'string');
    if (!this.validTokens.has(token) || !wellFormed) {
      call.errcode = this.validTokens.has(token) ? 47001 : 40001;
      errmsg = null;
    } else if (call.errcode === 0) {
      const breach = Object.entries(call.data).find(([key, { value }]) => Array.from(value).length > (TEMPLATE_TYPE_LIMITS[key.replace(/\d+$/, '')] ?? Infinity));
      if (breach) {
        call.errcode = 47003;
        errmsg = `argument invalid! data.${breach[0]}.value invalid`;
      }
    }
    if (call.errcode === 0) {
      const key = call.clientMsgId === undefined ? null : `${call.touser}\u0000${call.clientMsgId}`;
      const earlier = key === null ? undefined : this.templateDedup.get(key);
      if (earlier !== undefined && now - earlier.at < TEMPLATE_DEDUP_MS) {
        call.duplicate = true;
        call.msgid = earlier.msgid;
      } else {
        call.msgid = this.nextMsgid();
        if (key !== null) this.templateDedup.set(key, { msgid: call.msgid, at: now });
      }
    }
    this.templates.push(call);
    // Built by hand: the msgid is written with all its digits, as WeChat does (JSON.parse would round it).
    if (call.errcode === 0) return `{"errcode":0,"errmsg":"ok","msgid":${call.msgid}}`;
    return JSON.stringify({ errcode: call.errcode, errmsg: withRid(errmsg ?? ERRMSG[call.errcode] ?? 'error') });
  }

  private templateByOpenid(openid: string): ScriptedAnswer {
    const err = /_tplerr(-?\d+)_/.exec(openid);
    if (err) return { errcode: Number(err[1]) };
    if (openid.includes('_tplslow_')) return { delayMs: this.slowMs, errcode: 0 };
    return { errcode: 0 };
  }

  /** Odd numbers above 2^61: never exactly a double, so a rounded msgid can never pass for the real one. */
  private nextMsgid(): string {
    this.msgidSeq += 2n * BigInt(1 + Math.floor(Math.random() * 1000));
    return this.msgidSeq.toString();
  }

  /** Like a template send: created on arrival, a scripted delay holds only the answer. */
  private async answerQrCode(url: URL, body: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = url.searchParams.get('access_token') ?? '';
    this.qrRequests++;
    const answer = this.qrScript.shift() ?? { errcode: 0 };
    if ('destroy' in answer) {
      req.socket.destroy();
      return;
    }
    const reply = 'httpStatus' in answer ? null : this.createQrCode(token, parseObject(body), answer);
    if ('delayMs' in answer && answer.delayMs > 0) await sleep(answer.delayMs);
    if (res.destroyed || req.socket.destroyed) return;
    if ('httpStatus' in answer) {
      res.writeHead(answer.httpStatus, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
      return;
    }
    json(res, reply);
  }

  private createQrCode(token: string, input: Record<string, unknown> | null, answer: ScriptedAnswer): object {
    const scripted = 'errcode' in answer && answer.errcode !== undefined ? answer.errcode : 0;
    let errcode = scripted;
    const scene = qrSceneOf(input);
    const expireSeconds = input?.expire_seconds;
    if (!this.validTokens.has(token)) errcode = 40001;
    else if (input === null) errcode = 47001;
    else if (
      input.action_name !== 'QR_STR_SCENE' ||
      scene === null ||
      typeof expireSeconds !== 'number' ||
      !Number.isInteger(expireSeconds) ||
      expireSeconds < 1 ||
      expireSeconds > 2_592_000
    ) {
      errcode = QR_INVALID_ARGS;
    }
    if (errcode !== 0) {
      const errmsg = errcode === scripted && 'errmsg' in answer && answer.errmsg ? answer.errmsg : (ERRMSG[errcode] ?? 'error');
      return { errcode, errmsg: withRid(errmsg) };
    }
    const created: QrCodeCall = {
      scene: scene!,
      ticket: `gQ${randomBytes(48).toString('base64')}`,
      url: `http://weixin.qq.com/q/${randomBytes(16).toString('base64url')}`,
      expireSeconds: expireSeconds as number,
      at: Date.now(),
    };
    this.qrCodes.push(created);
    return { ticket: created.ticket, expire_seconds: created.expireSeconds, url: created.url };
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
  jsonText(res, JSON.stringify(body));
}

function jsonText(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'application/json; encoding=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** The body as a JSON object, or null when it is not one. */
function parseObject(body: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** `data` as `{key: {value: string}}`, or null when it is not that shape. */
function templateDataOf(data: unknown): Record<string, { value: string }> | null {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const out: Record<string, { value: string }> = {};
  for (const [key, entry] of Object.entries(data)) {
    const value = (entry as { value?: unknown } | null)?.value;
    if (typeof entry !== 'object' || entry === null || typeof value !== 'string') return null;
    out[key] = { value };
  }
  return out;
}

/** `action_info.scene.scene_str` when it is a string of 1–64 characters, else null. */
function qrSceneOf(input: Record<string, unknown> | null): string | null {
  const info = input?.action_info as { scene?: { scene_str?: unknown } } | undefined;
  const scene = typeof info === 'object' && info !== null ? info.scene?.scene_str : undefined;
  if (typeof scene !== 'string') return null;
  const length = Array.from(scene).length;
  return length >= 1 && length <= 64 ? scene : null;
}

const withRid = (errmsg: string): string => `${errmsg} rid: ${randomBytes(4).toString('hex')}-${randomBytes(2).toString('hex')}`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
