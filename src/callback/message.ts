import { FormatError } from '../errors.js';
import { child, isNode, parseXml, printable, type XmlNode } from '../push/xml.js';
import { messageSignature } from './signature.js';

// What WeChat posts to /wechat/callback (contract §8), read into one typed message, and what goes
// back. Pure. The XML goes through the project's one safe reader (src/push/xml.ts): no DTD, linear,
// values kept as strings — a TEMPLATESENDJOBFINISH `MsgID` can exceed 2^53.

interface CallbackCommon {
  /** The Official Account's id (gh_…). */
  toUserName: string;
  /** The user's openid. */
  fromUserName: string;
  /** Unix seconds, as sent. */
  createTime: string;
}

export interface TextMessage extends CallbackCommon {
  type: 'text';
  content: string;
  /** '' when WeChat sent none (it always does); see dedupeKey. */
  msgId: string;
}

export type KnownEvent = 'subscribe' | 'SCAN' | 'unsubscribe' | 'TEMPLATESENDJOBFINISH';

export interface EventMessage extends CallbackCommon {
  type: 'event';
  // `string & {}` keeps the known names offered by the editor while any other event still fits.
  event: KnownEvent | (string & {});
  /** '' when absent (a subscribe without a QR code). */
  eventKey: string;
  /**
   * The QR scene a subscribe (`qrscene_{scene}`) or SCAN (`{scene}`) carries; absent when the
   * event is neither or carries none.
   */
  scene?: string;
  ticket?: string;
  /** TEMPLATESENDJOBFINISH's `MsgID` (capital ID), exactly as sent. */
  msgId?: string;
  /** TEMPLATESENDJOBFINISH's `Status`, normalised (see normaliseStatus). */
  status?: string;
}

export interface OtherMessage extends CallbackCommon {
  type: 'other';
  /** image, voice, video, shortvideo, location, link, … as sent. */
  msgType: string;
  msgId?: string;
}

export type CallbackMessage = TextMessage | EventMessage | OtherMessage;

/** WeChat's root element, in plain and safe mode alike. */
const ROOT = 'xml';

/** The root of a WeChat callback body, or null when it is not one (or not XML WeChat would send). */
function rootOf(xml: string): XmlNode | null {
  if (typeof xml !== 'string') return null;
  try {
    const { rootName, root } = parseXml(xml, '微信回调');
    return rootName === ROOT ? root : null;
  } catch (err) {
    if (err instanceof FormatError) return null;
    throw err;
  }
}

/**
 * The value of a child element as sent: CDATA verbatim (the shared reader keeps it untrimmed and
 * undecoded), plain text entity-decoded (the shared reader trims it). Undefined when absent or
 * when the element holds elements rather than text.
 */
function valueOf(node: XmlNode, name: string): string | undefined {
  const value = child(node, name);
  if (typeof value === 'string') return value;
  if (!isNode(value)) return undefined;
  let text = typeof value['#text'] === 'string' ? value['#text'] : '';
  const cdata = value['#cdata'];
  // A value split as `]]]]><![CDATA[>` (how `]]>` is written inside CDATA) arrives in pieces.
  for (const piece of Array.isArray(cdata) ? cdata : [cdata]) if (typeof piece === 'string') text += piece;
  return Object.keys(value).some(isElementKey) ? undefined : text;
}

function isElementKey(key: string): boolean {
  return !key.startsWith('@_') && key !== '#text' && key !== '#cdata';
}

/** Reads a callback body; null when it is not a usable WeChat message (never throws for bad input). */
export function readCallback(xml: string): CallbackMessage | null {
  const root = rootOf(xml);
  if (root === null) return null;
  const toUserName = valueOf(root, 'ToUserName');
  const fromUserName = valueOf(root, 'FromUserName');
  const createTime = valueOf(root, 'CreateTime');
  const msgType = valueOf(root, 'MsgType');
  // Without these there is no one to answer, nothing to deduplicate on and nothing to act on.
  if (!toUserName || !fromUserName || !createTime || !msgType) return null;
  const common: CallbackCommon = { toUserName, fromUserName, createTime };
  if (msgType === 'text') return { ...common, type: 'text', content: valueOf(root, 'Content') ?? '', msgId: valueOf(root, 'MsgId') ?? '' };
  if (msgType === 'event') return readEvent(root, common);
  const msgId = valueOf(root, 'MsgId');
  return { ...common, type: 'other', msgType, ...(msgId === undefined ? {} : { msgId }) };
}

function readEvent(root: XmlNode, common: CallbackCommon): EventMessage | null {
  const event = valueOf(root, 'Event');
  if (!event) return null;
  const eventKey = valueOf(root, 'EventKey') ?? '';
  const scene = sceneOf(event, eventKey);
  const ticket = valueOf(root, 'Ticket');
  // SDKs that read `MsgId` lost these reports; `MsgId` is only a fallback for a sender spelling it so.
  const msgId = valueOf(root, 'MsgID') ?? valueOf(root, 'MsgId');
  const status = valueOf(root, 'Status');
  // Optional fields only when sent, so `'msgId' in m` means WeChat sent one.
  return {
    ...common,
    type: 'event',
    event,
    eventKey,
    ...(scene === undefined ? {} : { scene }),
    ...(ticket === undefined ? {} : { ticket }),
    ...(msgId === undefined ? {} : { msgId }),
    ...(status === undefined ? {} : { status: normaliseStatus(status) }),
  };
}

export const QR_SCENE_PREFIX = 'qrscene_';

function sceneOf(event: string, eventKey: string): string | undefined {
  if (event === 'subscribe') return eventKey.startsWith(QR_SCENE_PREFIX) && eventKey.length > QR_SCENE_PREFIX.length ? eventKey.slice(QR_SCENE_PREFIX.length) : undefined;
  if (event === 'SCAN') return eventKey === '' ? undefined : eventKey;
  return undefined;
}

/**
 * WeChat writes `failed:user block` but `failed: system failed` (with a space), and SDKs have seen
 * both spellings of each. One spelling is kept: trimmed, `failed:` followed directly by the reason.
 */
export function normaliseStatus(status: string): string {
  const trimmed = status.trim();
  const colon = trimmed.indexOf(':');
  if (colon === -1 || trimmed.slice(0, colon).trim().toLowerCase() !== 'failed') return trimmed;
  return `failed:${trimmed.slice(colon + 1).trim()}`;
}

/**
 * What makes a callback the same one again when WeChat retries it (contract §8): a message by its
 * `MsgId`, an event by `FromUserName` + `CreateTime` + `Event`. A message without a `MsgId` (WeChat
 * always sends one) falls back to the event rule with its `MsgType`, so it is still deduplicated,
 * under a prefix of its own so that it never passes for an event of the same name. The parts are
 * JSON-quoted, so no two different triples give the same key.
 */
export function dedupeKey(m: CallbackMessage): string {
  if (m.type === 'event') return `event:${JSON.stringify([m.fromUserName, m.createTime, m.event])}`;
  if (m.msgId) return `msg:${m.msgId}`;
  return `message:${JSON.stringify([m.fromUserName, m.createTime, m.type === 'text' ? 'text' : m.msgType])}`;
}

/** The safe-mode body: `<xml><ToUserName/><Encrypt/></xml>`; null without a non-empty `Encrypt`. */
export function readEncryptedEnvelope(xml: string): { encrypt: string; toUserName?: string } | null {
  const root = rootOf(xml);
  if (root === null) return null;
  // Verbatim: msg_signature is computed over the value exactly as WeChat sent it.
  const encrypt = valueOf(root, 'Encrypt');
  if (!encrypt) return null;
  const toUserName = valueOf(root, 'ToUserName');
  return toUserName === undefined ? { encrypt } : { encrypt, toUserName };
}

/** The passive text reply (被动回复) to `toOpenid` from the account `fromAccount`. */
export function textReply(toOpenid: string, fromAccount: string, content: string, now: Date): string {
  return (
    `<xml><ToUserName>${cdata(toOpenid)}</ToUserName><FromUserName>${cdata(fromAccount)}</FromUserName>` +
    `<CreateTime>${Math.floor(now.getTime() / 1000)}</CreateTime><MsgType>${cdata('text')}</MsgType>` +
    `<Content>${cdata(content)}</Content></xml>`
  );
}

/** A reply in safe mode: the encrypted reply and its msg_signature (over the same timestamp and nonce). */
export function encryptedReply(encryptedBase64: string, token: string, timestamp: string, nonce: string): string {
  const signature = messageSignature(token, timestamp, nonce, encryptedBase64);
  return (
    `<xml><Encrypt>${cdata(encryptedBase64)}</Encrypt><MsgSignature>${cdata(signature)}</MsgSignature>` +
    `<TimeStamp>${escapeText(timestamp)}</TimeStamp><Nonce>${cdata(nonce)}</Nonce></xml>`
  );
}

/**
 * A CDATA section holding `text` exactly: `]]>` cannot appear inside one, so it is split across two
 * sections. Characters XML cannot hold at all become U+FFFD rather than breaking the reply.
 */
export function cdata(text: string): string {
  return `<![CDATA[${printable(text).split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

function escapeText(text: string): string {
  return printable(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// ---- self-service binding commands (contract §9) ------------------------------------------------

/** Invitation codes: no 0/O, 1/I/L, so a code read off paper is typed right. */
export const BIND_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const BIND_CODE_LENGTH = 8;

const BIND = '绑定';
const UNBIND = '解绑';

export function isBindCode(code: string): boolean {
  if (code.length !== BIND_CODE_LENGTH) return false;
  for (const c of code) if (!BIND_CODE_ALPHABET.includes(c)) return false;
  return true;
}

export type BindCommand = { kind: 'bind'; code: string; wellFormed: boolean } | { kind: 'unbind' };

/**
 * `绑定 CODE` or `解绑`; null for any other text (the caller's help reply).
 *
 * - The text is NFKC-normalised first, so full-width letters and digits (a Chinese IME in full-width
 *   mode) and U+3000 read as their ASCII forms; leading and trailing whitespace is ignored.
 * - Between `绑定` and the code: nothing, any whitespace, or one colon (`:` or `：`, which people add).
 * - The code is upper-cased and returned whatever it is; `wellFormed` says whether it could be an
 *   invitation code, and a caller answers `绑定失败` (counting the failure) when it is not.
 * - `绑定` alone returns null: it guesses no code, so it is answered with the help text (which says
 *   how to bind) and does not count towards the failed-code limit.
 */
export function parseBindCommand(content: string): BindCommand | null {
  const text = content.normalize('NFKC').trim();
  if (text === UNBIND) return { kind: 'unbind' };
  if (!text.startsWith(BIND)) return null;
  const code = stripSeparator(text.slice(BIND.length)).toUpperCase();
  if (code === '') return null;
  return { kind: 'bind', code, wellFormed: isBindCode(code) };
}

function stripSeparator(rest: string): string {
  const trimmed = rest.trimStart();
  return trimmed.startsWith(':') ? trimmed.slice(1).trimStart() : trimmed;
}
