import { createCipheriv, createDecipheriv, createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

// WeChat's side of the server callback (contract §8), played against a real HTTP URL: URL
// verification (GET), messages and events in plain mode and in safe mode (安全模式), retries, and
// the tampered requests an attacker or a misconfigured account would send.
//
// Signing and AES are implemented here again, on purpose, from WeChat's published description
// rather than imported from src/callback: a test that signs with the code under test proves only
// that the code agrees with itself. test/unit/callback-crypto.test.ts checks this implementation
// against vectors published with WeChat's own sample code and wechatpy's tests, so the two
// implementations are each pinned to the outside world, not merely to each other.

export interface CallbackPlayerOptions {
  /** The full URL of /wechat/callback. */
  url: string;
  /** The 令牌 (WECHAT_CALLBACK_TOKEN). */
  token: string;
  appId: string;
  /** The 43-character EncodingAESKey; when set the player speaks safe mode (encrypt_type=aes). */
  aesKey?: string;
  /** ToUserName, the Official Account's id; default 'gh_fakeaccount01'. */
  accountId?: string;
}

export interface CallbackReply {
  toUserName: string;
  fromUserName: string;
  msgType: string;
  /** The text of a text reply; '' for any other kind. */
  content: string;
}

export interface CallbackAnswer {
  status: number;
  body: string;
  /** The passive reply, decrypted in safe mode; null when the body is 'success' or empty (or the status is not 200). */
  reply: CallbackReply | null;
}

export type VerifyTamper = 'bad-signature' | 'missing';

/**
 * - `bad-signature`: `signature` is wrong (in safe mode `msg_signature` stays right).
 * - `bad-msg-signature`: safe mode only; `msg_signature` is wrong, `signature` right.
 * - `missing-signature`: no `signature` (and, in safe mode, no `msg_signature` either).
 * - `wrong-appid`: safe mode only; encrypted for another AppID, correctly signed.
 * - `bad-padding`: safe mode only; the plaintext's last (pad) byte is 0, correctly signed.
 * - `stale-timestamp`: signed correctly over a timestamp 30 days old.
 */
export type PostTamper = 'bad-signature' | 'bad-msg-signature' | 'missing-signature' | 'wrong-appid' | 'bad-padding' | 'stale-timestamp';

export interface PostOptions {
  tamper?: PostTamper;
  /** Unix seconds for the query's `timestamp`; default now. */
  timestamp?: number;
  nonce?: string;
}

/** The player refused the bridge's answer (a reply WeChat would not accept); `status` and `body` are the raw answer. */
export class CallbackReplyError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(message);
    this.name = 'CallbackReplyError';
  }
}

const DEFAULT_ACCOUNT = 'gh_fakeaccount01';
const STALE_SECONDS = 30 * 24 * 3600;
/** An AppID that is not the bridge's: used by the `wrong-appid` tamper. */
export const OTHER_APPID = 'wx0000000000000bad';

// ---- signing ----------------------------------------------------------------------------------

/** Hex SHA-1 of the parts sorted (byte order) and concatenated: `signature` and `msg_signature` alike. */
export function wechatSignature(...parts: string[]): string {
  const sorted = parts.map((p) => Buffer.from(p, 'utf8')).sort(Buffer.compare);
  return createHash('sha1').update(Buffer.concat(sorted)).digest('hex');
}

// ---- safe-mode AES ----------------------------------------------------------------------------

/** The 32-byte key of a 43-character EncodingAESKey (base64 with its '=' left off). */
export function aesKeyBytes(encodingAesKey: string): Buffer {
  if (!/^[A-Za-z0-9+/]{43}$/.test(encodingAesKey)) throw new Error(`an EncodingAESKey is 43 base64 characters, got ${JSON.stringify(encodingAesKey)}`);
  return Buffer.from(`${encodingAesKey}=`, 'base64');
}

/**
 * How the plaintext is padded before AES: WeChat's PKCS#7 to 32-byte blocks, or a broken variant
 * (`zero`: a last byte 0; `over-32`: 33 to 64 bytes of that value; `inconsistent`: right last byte, another
 * byte of the pad wrong; `pkcs7-16`: AES's own PKCS#7 to 16, which WeChat never sends when the
 * result is not a multiple of 32).
 */
export type Padding = 'pkcs7-32' | 'zero' | 'over-32' | 'inconsistent' | 'pkcs7-16';

export interface EncryptOptions {
  /** The 16 random bytes that start the plaintext; random unless given. */
  random16?: Buffer;
  padding?: Padding;
}

/** Encrypts `xml` for `appId` as WeChat does: base64 of AES-256-CBC(random16 ‖ len32be ‖ xml ‖ appId ‖ pad). */
export function wechatEncrypt(xml: string, encodingAesKey: string, appId: string, options: EncryptOptions = {}): string {
  const key = aesKeyBytes(encodingAesKey);
  const random16 = options.random16 ?? randomBytes(16);
  if (random16.length !== 16) throw new Error('random16 must be 16 bytes');
  const body = Buffer.from(xml, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length, 0);
  const plain = padded(Buffer.concat([random16, length, body, Buffer.from(appId, 'utf8')]), options.padding ?? 'pkcs7-32');
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

function padded(plain: Buffer, padding: Padding): Buffer {
  const to32 = 32 - (plain.length % 32);
  switch (padding) {
    case 'pkcs7-32':
      return Buffer.concat([plain, Buffer.alloc(to32, to32)]);
    case 'pkcs7-16': {
      const to16 = 16 - (plain.length % 16);
      return Buffer.concat([plain, Buffer.alloc(to16, to16)]);
    }
    case 'zero':
      return Buffer.concat([plain, Buffer.alloc(to32, 0)]);
    case 'over-32': {
      // A pad consistent in itself (n bytes of value n) and a multiple of 32, but longer than 32,
      // which no PKCS#7-to-32 pad is.
      const n = to32 + 32;
      return Buffer.concat([plain, Buffer.alloc(n, n)]);
    }
    case 'inconsistent': {
      // At least two pad bytes, so one of them can be wrong while the last one is right.
      const n = to32 >= 2 ? to32 : to32 + 32;
      const pad = Buffer.alloc(n, n);
      pad[0] = n ^ 0xff;
      return Buffer.concat([plain, pad]);
    }
  }
}

/** Decrypts a base64 `Encrypt` value, checking the padding, the length and the AppID; throws on anything wrong. */
export function wechatDecrypt(encrypted: string, encodingAesKey: string, appId: string): string {
  const key = aesKeyBytes(encodingAesKey);
  if (!/^(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(encrypted)) throw new Error('Encrypt is not base64');
  const data = Buffer.from(encrypted, 'base64');
  if (data.length === 0 || data.length % 32 !== 0) throw new Error(`Encrypt is ${data.length} bytes, not a multiple of 32`);
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(data), decipher.final()]);
  const pad = plain[plain.length - 1]!;
  if (pad < 1 || pad > 32) throw new Error(`bad padding: pad byte ${pad}`);
  for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) throw new Error('bad padding: inconsistent pad bytes');
  const content = plain.subarray(0, plain.length - pad);
  if (content.length < 20) throw new Error('plaintext too short');
  const xmlLength = content.readUInt32BE(16);
  if (20 + xmlLength > content.length) throw new Error(`declared XML length ${xmlLength} runs past the plaintext`);
  const from = content.subarray(20 + xmlLength).toString('utf8');
  if (from !== appId) throw new Error(`encrypted for AppID ${JSON.stringify(from)}, expected ${JSON.stringify(appId)}`);
  return content.subarray(20, 20 + xmlLength).toString('utf8');
}

// ---- XML as WeChat writes it ------------------------------------------------------------------

/** A CDATA section holding `text` exactly (`]]>` split across two sections). */
export function cdataOf(text: string): string {
  return `<![CDATA[${text.split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

/** A value as WeChat writes it: numbers bare, text in CDATA. */
function valueXml(value: string): string {
  return /^\d+$/.test(value) ? value : cdataOf(value);
}

function element(name: string, value: string): string {
  return `<${name}>${valueXml(value)}</${name}>`;
}

export interface XmlOptions {
  accountId?: string;
  createTime?: number;
}

/** The XML WeChat posts for a text a user sends. */
export function textXml(openid: string, content: string, opts: XmlOptions & { msgId?: string } = {}): string {
  return (
    `<xml>${element('ToUserName', opts.accountId ?? DEFAULT_ACCOUNT)}${element('FromUserName', openid)}` +
    `<CreateTime>${opts.createTime ?? nextCreateTime()}</CreateTime><MsgType>${cdataOf('text')}</MsgType>` +
    `<Content>${cdataOf(content)}</Content><MsgId>${opts.msgId ?? newMsgId()}</MsgId></xml>`
  );
}

/** The XML WeChat posts for an event; `fields` in the order given (EventKey, Ticket, MsgID, Status…). */
export function eventXml(openid: string, event: string, fields: Record<string, string> = {}, opts: XmlOptions = {}): string {
  const extra = Object.entries(fields)
    .map(([name, value]) => element(name, value))
    .join('');
  return (
    `<xml>${element('ToUserName', opts.accountId ?? DEFAULT_ACCOUNT)}${element('FromUserName', openid)}` +
    `<CreateTime>${opts.createTime ?? nextCreateTime()}</CreateTime><MsgType>${cdataOf('event')}</MsgType>` +
    `<Event>${cdataOf(event)}</Event>${extra}</xml>`
  );
}

/** The safe-mode body: the account and the encrypted message. */
export function envelopeXml(toUserName: string, encrypted: string): string {
  return `<xml><ToUserName>${cdataOf(toUserName)}</ToUserName><Encrypt>${cdataOf(encrypted)}</Encrypt></xml>`;
}

let lastCreateTime = 0;

/**
 * Now, in Unix seconds, but never the same second twice in this process: events are deduplicated
 * by FromUserName + CreateTime + Event, so two scans in one second would otherwise pass for a retry.
 */
function nextCreateTime(): number {
  lastCreateTime = Math.max(Math.floor(Date.now() / 1000), lastCreateTime + 1);
  return lastCreateTime;
}

let msgCounter = 0;

/** A fresh 64-bit-looking MsgId, unique within the process and unlikely to repeat across runs. */
export function newMsgId(): string {
  msgCounter = (msgCounter + 1) % 1000;
  return `${Date.now()}${String(randomInt(0, 1000)).padStart(3, '0')}${String(msgCounter).padStart(3, '0')}`;
}

function newNonce(): string {
  return String(randomInt(100_000_000, 2_000_000_000));
}

// ---- reading what comes back ------------------------------------------------------------------

/**
 * The text of the first `<name>` child anywhere in `xml`: CDATA sections verbatim and joined, other
 * text entity-decoded. Undefined when absent. A small reader of its own, not the bridge's.
 */
export function elementText(xml: string, name: string): string | undefined {
  const open = new RegExp(`<${name}(?:\\s[^>]*)?>`).exec(xml);
  if (open === null) {
    return new RegExp(`<${name}\\s*/>`).test(xml) ? '' : undefined;
  }
  const close = `</${name}>`;
  let text = '';
  let i = open.index + open[0].length;
  for (;;) {
    if (i >= xml.length) throw new Error(`<${name}> is never closed`);
    if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i + 9);
      if (end === -1) throw new Error(`a CDATA section in <${name}> is never closed`);
      text += xml.slice(i + 9, end);
      i = end + 3;
    } else if (xml.startsWith(close, i)) {
      return text;
    } else if (xml[i] === '<') {
      throw new Error(`<${name}> holds an element`);
    } else {
      const next = xml.indexOf('<', i);
      const end = next === -1 ? xml.length : next;
      text += decodeEntities(xml.slice(i, end));
      i = end;
    }
  }
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_all, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[ref]!;
  });
}

export interface ReplyKeys {
  token: string;
  appId: string;
  aesKey: string;
}

/**
 * The XML inside a safe-mode reply (`<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`),
 * after checking MsgSignature (in constant time) and the AppID as WeChat would. Throws when the
 * reply is not encrypted, its signature is wrong, or it does not decrypt for `appId`.
 */
export function decryptReply(body: string, keys: ReplyKeys): string {
  const encrypted = elementText(body, 'Encrypt');
  const signature = elementText(body, 'MsgSignature');
  const timestamp = elementText(body, 'TimeStamp');
  const nonce = elementText(body, 'Nonce');
  if (encrypted === undefined || signature === undefined || timestamp === undefined || nonce === undefined) {
    throw new Error('a safe-mode reply needs Encrypt, MsgSignature, TimeStamp and Nonce');
  }
  const expected = Buffer.from(wechatSignature(keys.token, timestamp, nonce, encrypted), 'utf8');
  const presented = Buffer.from(signature.toLowerCase(), 'utf8');
  if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) throw new Error('the reply MsgSignature is wrong');
  return wechatDecrypt(encrypted, keys.aesKey, keys.appId);
}

/** A passive reply's fields. */
export function readReply(xml: string): CallbackReply {
  const field = (name: string): string => {
    const value = elementText(xml, name);
    if (value === undefined) throw new Error(`the reply has no <${name}>`);
    return value;
  };
  const msgType = field('MsgType');
  return { toUserName: field('ToUserName'), fromUserName: field('FromUserName'), msgType, content: msgType === 'text' ? field('Content') : '' };
}

// ---- the player -------------------------------------------------------------------------------

interface Signed {
  query: URLSearchParams;
  body: string;
}

export class WechatCallbackPlayer {
  private readonly url: string;
  private readonly token: string;
  private readonly appId: string;
  private readonly aesKey: string | undefined;
  private readonly accountId: string;

  constructor(options: CallbackPlayerOptions) {
    this.url = options.url;
    this.token = options.token;
    this.appId = options.appId;
    this.aesKey = options.aesKey;
    if (this.aesKey !== undefined) aesKeyBytes(this.aesKey);
    this.accountId = options.accountId ?? DEFAULT_ACCOUNT;
  }

  /** Whether the player speaks safe mode. */
  get safeMode(): boolean {
    return this.aesKey !== undefined;
  }

  /** URL verification: GET ?signature&timestamp&nonce&echostr. */
  async verify(echostr: string, tamper?: VerifyTamper): Promise<{ status: number; body: string }> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = newNonce();
    const query = new URLSearchParams();
    if (tamper !== 'missing') query.set('signature', tamper === 'bad-signature' ? corrupt(wechatSignature(this.token, timestamp, nonce)) : wechatSignature(this.token, timestamp, nonce));
    query.set('timestamp', timestamp);
    query.set('nonce', nonce);
    query.set('echostr', echostr);
    const res = await fetch(this.withQuery(query), { method: 'GET', redirect: 'manual' });
    return { status: res.status, body: await res.text() };
  }

  /** A user sends `content`. */
  text(openid: string, content: string, opts: { msgId?: string; createTime?: number } = {}): Promise<CallbackAnswer> {
    return this.post(textXml(openid, content, { ...opts, accountId: this.accountId }));
  }

  /** An event, e.g. `event(openid, 'TEMPLATESENDJOBFINISH', { MsgID, Status })`. */
  event(openid: string, event: string, fields: Record<string, string> = {}, opts: { createTime?: number } = {}): Promise<CallbackAnswer> {
    return this.post(eventXml(openid, event, fields, { ...opts, accountId: this.accountId }));
  }

  /** A QR code with `scene` scanned: by a non-follower (subscribe, qrscene_{scene}) or a follower (SCAN, {scene}). */
  scan(openid: string, scene: string, opts: { following: boolean }): Promise<CallbackAnswer> {
    const ticket = `gQ${createHash('sha1').update(scene).digest('base64url').slice(0, 24)}`;
    return opts.following
      ? this.event(openid, 'SCAN', { EventKey: scene, Ticket: ticket })
      : this.event(openid, 'subscribe', { EventKey: `qrscene_${scene}`, Ticket: ticket });
  }

  /** Signs (and in safe mode encrypts) `xml` and posts it. */
  async post(xml: string, opts: PostOptions = {}): Promise<CallbackAnswer> {
    return this.send(this.sign(xml, opts));
  }

  /**
   * Posts the same signed body `times` times as WeChat retries do (same timestamp, nonce and body)
   * and returns every answer, in order. One after the other, as WeChat retries after a timeout;
   * `{ concurrent: true }` sends them all at once (a retry racing the first delivery).
   */
  async deliverRepeatedly(xml: string, times: number, opts: { concurrent?: boolean } = {}): Promise<CallbackAnswer[]> {
    const signed = this.sign(xml, {});
    if (opts.concurrent) return Promise.all(Array.from({ length: times }, () => this.send(signed)));
    const answers: CallbackAnswer[] = [];
    for (let i = 0; i < times; i++) answers.push(await this.send(signed));
    return answers;
  }

  /** Builds the XML WeChat would send for a text. */
  textXml(openid: string, content: string, opts: { msgId?: string; createTime?: number } = {}): string {
    return textXml(openid, content, { ...opts, accountId: this.accountId });
  }

  /** Builds the XML WeChat would send for an event. */
  eventXml(openid: string, event: string, fields: Record<string, string> = {}, opts: { createTime?: number } = {}): string {
    return eventXml(openid, event, fields, { ...opts, accountId: this.accountId });
  }

  private sign(xml: string, opts: PostOptions): Signed {
    const { tamper } = opts;
    const safeOnly: PostTamper[] = ['bad-msg-signature', 'wrong-appid', 'bad-padding'];
    if (tamper !== undefined && safeOnly.includes(tamper) && this.aesKey === undefined) throw new Error(`the ${tamper} tamper needs safe mode (an aesKey)`);
    const now = Math.floor(Date.now() / 1000);
    const timestamp = String(tamper === 'stale-timestamp' ? (opts.timestamp ?? now) - STALE_SECONDS : (opts.timestamp ?? now));
    const nonce = opts.nonce ?? newNonce();
    const query = new URLSearchParams();
    const signature = wechatSignature(this.token, timestamp, nonce);
    if (tamper !== 'missing-signature') query.set('signature', tamper === 'bad-signature' ? corrupt(signature) : signature);
    query.set('timestamp', timestamp);
    query.set('nonce', nonce);
    const openid = safeElementText(xml, 'FromUserName');
    if (openid) query.set('openid', openid);
    if (this.aesKey === undefined) return { query, body: xml };

    const appId = tamper === 'wrong-appid' ? OTHER_APPID : this.appId;
    const encrypted = wechatEncrypt(xml, this.aesKey, appId, { padding: tamper === 'bad-padding' ? 'zero' : 'pkcs7-32' });
    const msgSignature = wechatSignature(this.token, timestamp, nonce, encrypted);
    query.set('encrypt_type', 'aes');
    if (tamper !== 'missing-signature') query.set('msg_signature', tamper === 'bad-msg-signature' ? corrupt(msgSignature) : msgSignature);
    return { query, body: envelopeXml(safeElementText(xml, 'ToUserName') ?? this.accountId, encrypted) };
  }

  private async send(signed: Signed): Promise<CallbackAnswer> {
    const res = await fetch(this.withQuery(signed.query), {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml' },
      body: signed.body,
      redirect: 'manual',
    });
    const body = await res.text();
    return { status: res.status, body, reply: this.replyOf(res.status, body) };
  }

  private replyOf(status: number, body: string): CallbackReply | null {
    if (status !== 200 || body === '' || body === 'success') return null;
    try {
      const xml = this.aesKey === undefined ? body : decryptReply(body, { token: this.token, appId: this.appId, aesKey: this.aesKey });
      return readReply(xml);
    } catch (err) {
      throw new CallbackReplyError(`WeChat would not accept the bridge's reply: ${err instanceof Error ? err.message : String(err)}`, status, body);
    }
  }

  private withQuery(query: URLSearchParams): string {
    const url = new URL(this.url);
    for (const [k, v] of query) url.searchParams.set(k, v);
    return url.toString();
  }
}

function safeElementText(xml: string, name: string): string | undefined {
  try {
    return elementText(xml, name);
  } catch {
    return undefined;
  }
}

/** The same hex digest with its first digit changed: right length, right alphabet, wrong value. */
function corrupt(hex: string): string {
  return (hex[0] === '0' ? '1' : '0') + hex.slice(1);
}
