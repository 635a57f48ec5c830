import type { CallResult, WechatApi } from './api.js';
import { TOKEN_ERRCODES, TokenError, type TokenProvider } from './token.js';

// Temporary parameterised QR codes (contract §9): POST /cgi-bin/qrcode/create with a string scene.
// Scanning one makes WeChat call us back with the scene (subscribe `qrscene_<scene>`, or SCAN).
// Token rules as for sends (contract §5): a rejected token is dropped if still current and the
// call made once more. Nothing else is retried here: an administrator is waiting for the
// invitation, and asking again is theirs to decide.

export interface QrScene {
  ticket: string;
  /** The content to encode in the image (WeChat's own image host needs the internet). */
  url: string;
  expireSeconds: number;
}

/** WeChat's limits for QR_STR_SCENE. */
export const MAX_SCENE_LENGTH = 64;
export const MAX_EXPIRE_SECONDS = 2_592_000;

interface CreateBody {
  expire_seconds: number;
  action_name: 'QR_STR_SCENE';
  action_info: { scene: { scene_str: string } };
}

const PATH = '/cgi-bin/qrcode/create';

/** Why no QR code: WeChat's errcode, or (errcode null) the network or an unreadable answer. */
export class QrCodeError extends Error {
  constructor(
    readonly errcode: number | null,
    readonly errmsg: string,
    readonly httpStatus: number | null = null,
  ) {
    super(errcode === null ? `创建二维码失败：${errmsg}` : `创建二维码失败(${errcode}): ${errmsg}`);
    this.name = 'QrCodeError';
  }
}

export async function createQrScene(api: WechatApi, tokens: TokenProvider, scene: string, expireSeconds: number, timeoutMs: number): Promise<QrScene> {
  checkArguments(scene, expireSeconds);
  const body: CreateBody = { expire_seconds: expireSeconds, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: scene } } };
  const first = await call(api, await token(() => tokens.get()), body, timeoutMs);
  if (!('rejectedToken' in first)) return first;
  await tokens.invalidate(first.rejectedToken);
  const second = await call(api, await token(() => tokens.getReplacing(first.rejectedToken)), body, timeoutMs);
  if ('rejectedToken' in second) throw second.error;
  return second;
}

function checkArguments(scene: string, expireSeconds: number): void {
  const length = Array.from(scene).length;
  if (length < 1 || length > MAX_SCENE_LENGTH) throw new RangeError(`QR scene must be 1-${MAX_SCENE_LENGTH} characters, got ${length}`);
  if (!Number.isInteger(expireSeconds) || expireSeconds < 1 || expireSeconds > MAX_EXPIRE_SECONDS) {
    throw new RangeError(`QR expire_seconds must be a whole number from 1 to ${MAX_EXPIRE_SECONDS}, got ${expireSeconds}`);
  }
}

async function token(get: () => Promise<string>): Promise<string> {
  try {
    return await get();
  } catch (err) {
    if (!(err instanceof TokenError)) throw new QrCodeError(null, `access_token不可用：${err instanceof Error ? err.message : String(err)}`);
    const json = err.result.kind === 'answered' ? err.result.json : null;
    if (typeof json?.errcode === 'number') throw new QrCodeError(json.errcode, String(json.errmsg ?? ''));
    throw new QrCodeError(null, err.message);
  }
}

async function call(api: WechatApi, accessToken: string, body: CreateBody, timeoutMs: number): Promise<QrScene | { rejectedToken: string; error: QrCodeError }> {
  const result = await api.post(PATH, { access_token: accessToken }, body, timeoutMs);
  const error = failure(result);
  if (error === null) return sceneOf(result, body.expire_seconds);
  if (error.errcode !== null && TOKEN_ERRCODES.has(error.errcode)) return { rejectedToken: accessToken, error };
  throw error;
}

function failure(result: CallResult): QrCodeError | null {
  if (result.kind !== 'answered') return new QrCodeError(null, result.error);
  if (result.httpStatus >= 500) return new QrCodeError(null, `HTTP ${result.httpStatus}`, result.httpStatus);
  const errcode = result.json?.errcode;
  if (typeof errcode === 'number' && errcode !== 0) return new QrCodeError(errcode, String(result.json?.errmsg ?? ''), result.httpStatus);
  return null;
}

/** `asked`: the lifetime requested, for an answer that leaves it out. */
function sceneOf(result: CallResult, asked: number): QrScene {
  const json = result.kind === 'answered' ? result.json : null;
  const { ticket, url, expire_seconds: expireSeconds = asked } = json ?? {};
  if (typeof ticket !== 'string' || ticket === '' || typeof url !== 'string' || url === '' || typeof expireSeconds !== 'number') {
    const status = result.kind === 'answered' ? result.httpStatus : null;
    throw new QrCodeError(null, `无法识别的应答（HTTP ${status ?? '-'}）`, status);
  }
  return { ticket, url, expireSeconds };
}
