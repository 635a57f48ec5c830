import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseAesKeys } from './callback/crypto.js';
import { DEFAULT_MAX_PARTS } from './push/split.js';
import { parseTemplateFields, type TemplateField } from './wechat/template-fields.js';

// Every environment variable the bridge reads, validated once at start-up. A bad value stops the
// process with one line naming the variable (contract §2).

export interface AdminCredential {
  actor: string;
  token: string;
}

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | null;
  dataDir: string;
  embeddedPgPort: number;
  dbPoolSize: number;
  wechat: WechatConfig;
  /** The Official Account's server callback (contract §8); null: /wechat/callback answers 404. */
  callback: CallbackConfig | null;
  bridgeId: string;
  /** Null when ADMIN_TOKEN is unset: the token kept in DATA_DIR/admin-token is used (admin/token-file.ts). */
  adminTokens: AdminCredential[] | null;
  pushMaxBytes: number;
  /** Push body bytes being read and processed at once (PUSH_MAX_INFLIGHT_BYTES); more wait, then are turned away. */
  pushMaxInflightBytes: number;
  /** CIDR ranges allowed to push; empty: everyone. */
  pushAllowIps: Cidr[];
  /** Shared secret a push must carry (X-Push-Token header or ?token=); null: none required. */
  pushToken: string | null;
  /** Express `trust proxy`: whether (and which) proxies' X-Forwarded-For to believe. */
  trustProxy: boolean | number | string[];
  requestTimeoutMs: number;
  logLevel: string;
  shutdownGraceMs: number;
  /** Processes serving the port(s); above 1, a primary process runs them (cluster.ts). */
  workers: number;
}

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Sandbox: no credentials, everything runs, nothing is sent. Live: the Official Account's. */
export type WechatConfig = ({ mode: 'sandbox' } | ({ mode: 'live' } & WechatCredentials)) & WechatSettings;
export type LiveWechatConfig = Extract<WechatConfig, { mode: 'live' }>;

export interface CallbackConfig {
  /** WECHAT_CALLBACK_TOKEN: the 令牌 of the account's server configuration. */
  token: string;
  /** WECHAT_ENCODING_AES_KEY decoded: safe mode (安全模式); the first key encrypts replies. Null: plain mode only. */
  aesKeys: Buffer[] | null;
  /** CALLBACK_PORT: a second listener that serves the callback and nothing else; null: none. */
  port: number | null;
}

/** Which channel a push goes by (contract §10). */
export type DeliveryPolicy = 'custom' | 'template' | 'auto';

export interface TemplateConfig {
  templateId: string;
  fields: TemplateField[];
  /** WECHAT_TEMPLATE_URL, `{guid}` replaced per message; null: no link. */
  url: string | null;
}

export interface WechatCredentials {
  appId: string;
  secret: string;
}

export interface WechatSettings {
  apiBase: string;
  tokenApi: 'stable' | 'classic';
  timeoutMs: number;
  maxRetries: number;
  maxConnections: number;
  /** At most this many messages per push; a longer text is shortened with a closing notice. */
  maxParts: number;
  delivery: DeliveryPolicy;
  template: TemplateConfig | null;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Far above any core count this runs on; a typo such as 800 is caught rather than forking 800 processes. */
const MAX_WORKERS = 256;

/** WECHAT_MAX_CONNECTIONS when unset; the bench's relay builds its pool with it too. */
export const DEFAULT_WECHAT_MAX_CONNECTIONS = 256;

/** WECHAT_TIMEOUT_MS when unset; the bench's relay times its sends with it too. */
export const DEFAULT_WECHAT_TIMEOUT_MS = 5000;

/** REQUEST_TIMEOUT_MS when unset; the bench's baselines set up their servers with it too. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;

export function loadConfig(env: Env = process.env): Config {
  const get = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max) throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${raw}`);
    return value;
  };

  const appId = get('WECHAT_APPID') ?? null;
  const secret = get('WECHAT_SECRET') ?? null;
  if ((appId === null) !== (secret === null)) {
    throw new ConfigError(appId === null ? 'WECHAT_APPID' : 'WECHAT_SECRET', 'WECHAT_APPID and WECHAT_SECRET must be set together (leave both unset for sandbox mode)');
  }
  const tokenApi = get('WECHAT_TOKEN_API') ?? 'stable';
  if (tokenApi !== 'stable' && tokenApi !== 'classic') throw new ConfigError('WECHAT_TOKEN_API', `expected "stable" or "classic", got "${tokenApi}"`);
  const adminTokenRaw = get('ADMIN_TOKEN');
  const template = templateConfig(get);
  const port = int('PORT', 8080, 0, 65535);

  return {
    port,
    host: get('HOST') ?? '0.0.0.0',
    databaseUrl: databaseUrl(get('DATABASE_URL')),
    dataDir: path.resolve(get('DATA_DIR') ?? './data'),
    embeddedPgPort: int('EMBEDDED_PG_PORT', 54329, 1, 65535),
    dbPoolSize: int('DB_POOL_SIZE', 20, 2, 500),
    wechat: {
      ...(appId !== null && secret !== null ? { mode: 'live' as const, appId, secret } : { mode: 'sandbox' as const }),
      apiBase: httpUrl('WECHAT_API_BASE', get('WECHAT_API_BASE') ?? 'https://api.weixin.qq.com'),
      tokenApi,
      timeoutMs: int('WECHAT_TIMEOUT_MS', DEFAULT_WECHAT_TIMEOUT_MS, 100, 14000),
      maxRetries: int('WECHAT_MAX_RETRIES', 3, 0, 10),
      maxConnections: int('WECHAT_MAX_CONNECTIONS', DEFAULT_WECHAT_MAX_CONNECTIONS, 1, 4096),
      maxParts: int('WECHAT_MAX_PARTS', DEFAULT_MAX_PARTS, 1, 50),
      delivery: deliveryPolicy(get('WECHAT_DELIVERY'), template),
      template,
    },
    callback: callbackConfig(get, appId, port, (name) => int(name, 0, 1, 65535)),
    bridgeId: get('BRIDGE_ID') ?? 'WECHAT-BRIDGE',
    adminTokens: adminTokenRaw === undefined ? null : adminTokens(adminTokenRaw),
    pushMaxBytes: int('PUSH_MAX_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    pushMaxInflightBytes: int('PUSH_MAX_INFLIGHT_BYTES', 16 * 1024 * 1024, 64 * 1024, 4 * 1024 * 1024 * 1024),
    pushAllowIps: cidrList(get('PUSH_ALLOW_IPS')),
    pushToken: get('PUSH_TOKEN') ?? null,
    trustProxy: trustProxy(get('TRUST_PROXY')),
    requestTimeoutMs: int('REQUEST_TIMEOUT_MS', DEFAULT_REQUEST_TIMEOUT_MS, 1000, 300000),
    logLevel: logLevel(get('LOG_LEVEL') ?? 'info'),
    shutdownGraceMs: int('SHUTDOWN_GRACE_MS', 15000, 0, 120000),
    workers: int('WORKERS', Math.min(availableParallelism(), MAX_WORKERS), 1, MAX_WORKERS),
  };
}

/** WECHAT_TEMPLATE_ID needs WECHAT_TEMPLATE_FIELDS and the other way round: half a template sends nothing useful. */
function templateConfig(get: (name: string) => string | undefined): TemplateConfig | null {
  const templateId = get('WECHAT_TEMPLATE_ID');
  const rawFields = get('WECHAT_TEMPLATE_FIELDS');
  const url = get('WECHAT_TEMPLATE_URL') ?? null;
  if (templateId === undefined) {
    if (rawFields !== undefined) throw new ConfigError('WECHAT_TEMPLATE_ID', 'WECHAT_TEMPLATE_FIELDS is set but no template: set WECHAT_TEMPLATE_ID too (or unset both)');
    if (url !== null) throw new ConfigError('WECHAT_TEMPLATE_ID', 'WECHAT_TEMPLATE_URL is set but no template: set WECHAT_TEMPLATE_ID and WECHAT_TEMPLATE_FIELDS');
    return null;
  }
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(templateId)) throw new ConfigError('WECHAT_TEMPLATE_ID', 'expected the template id from the account\'s 模板消息 page (letters, digits, _ and -)');
  if (rawFields === undefined) {
    throw new ConfigError('WECHAT_TEMPLATE_FIELDS', 'required with WECHAT_TEMPLATE_ID: map the template\'s keys to approval fields, e.g. thing1=bill_type,character_string2=bill_num,thing3=approval_opinion');
  }
  let fields: TemplateField[];
  try {
    fields = parseTemplateFields(rawFields);
  } catch (err) {
    throw new ConfigError('WECHAT_TEMPLATE_FIELDS', err instanceof Error ? err.message : String(err));
  }
  if (url !== null) httpUrl('WECHAT_TEMPLATE_URL', url.replaceAll('{guid}', 'GUID'));
  return { templateId, fields, url };
}

function deliveryPolicy(raw: string | undefined, template: TemplateConfig | null): DeliveryPolicy {
  if (raw === undefined) return template === null ? 'custom' : 'auto';
  if (raw !== 'custom' && raw !== 'template' && raw !== 'auto') throw new ConfigError('WECHAT_DELIVERY', `expected custom, template or auto, got "${raw}"`);
  if (raw !== 'custom' && template === null) throw new ConfigError('WECHAT_DELIVERY', `"${raw}" needs a template: set WECHAT_TEMPLATE_ID and WECHAT_TEMPLATE_FIELDS`);
  return raw;
}

function callbackConfig(get: (name: string) => string | undefined, appId: string | null, port: number, portOf: (name: string) => number): CallbackConfig | null {
  const token = get('WECHAT_CALLBACK_TOKEN');
  const rawKeys = get('WECHAT_ENCODING_AES_KEY');
  const callbackPort = get('CALLBACK_PORT') === undefined ? null : portOf('CALLBACK_PORT');
  if (token === undefined) {
    for (const name of ['WECHAT_ENCODING_AES_KEY', 'CALLBACK_PORT']) {
      if (get(name) !== undefined) throw new ConfigError(name, 'is set but the callback is off: set WECHAT_CALLBACK_TOKEN (the 令牌 of the account\'s server configuration)');
    }
    return null;
  }
  // WeChat's rule for the 令牌: 3–32 letters and digits.
  if (!/^[A-Za-z0-9]{3,32}$/.test(token)) throw new ConfigError('WECHAT_CALLBACK_TOKEN', 'expected 3–32 letters and digits, as the account\'s server configuration allows');
  if (callbackPort !== null && callbackPort === port) throw new ConfigError('CALLBACK_PORT', `must differ from PORT (${port}): it is a second listener that serves only the callback`);
  let aesKeys: Buffer[] | null = null;
  if (rawKeys !== undefined) {
    try {
      aesKeys = parseAesKeys(rawKeys);
    } catch (err) {
      throw new ConfigError('WECHAT_ENCODING_AES_KEY', err instanceof Error ? err.message : String(err));
    }
    if (appId === null) throw new ConfigError('WECHAT_APPID', 'safe mode (WECHAT_ENCODING_AES_KEY) checks the AppID in every message: set WECHAT_APPID and WECHAT_SECRET');
  }
  return { token, aesKeys, port: callbackPort };
}

function databaseUrl(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL', 'not a valid URL (expected postgres://user:password@host:5432/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', `expected a postgres:// URL, got ${url.protocol}//`);
  }
  return raw;
}

function httpUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a valid URL: "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(name, `expected an http(s) URL, got "${raw}"`);
  // Keep a path prefix: some hospitals reach WeChat through a forward proxy mounted under a path.
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** `token`, or `name:token,name:token` so the audit trail can say who acted. */
function adminTokens(raw: string): AdminCredential[] {
  const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (entries.length === 1 && !entries[0]!.includes(':')) return [{ actor: 'admin', token: entries[0]! }];
  return entries.map((entry) => {
    const colon = entry.indexOf(':');
    const actor = entry.slice(0, colon).trim();
    const token = entry.slice(colon + 1).trim();
    if (colon <= 0 || token.length < 8) throw new ConfigError('ADMIN_TOKEN', 'expected a token, or name:token pairs separated by commas, each token at least 8 characters');
    return { actor, token };
  });
}

function cidrList(raw: string | undefined): Cidr[] {
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const [address = '', prefixText] = entry.split('/');
      const family = isIP(address) === 4 ? 'ipv4' : isIP(address) === 6 ? 'ipv6' : null;
      const max = family === 'ipv4' ? 32 : 128;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (family === null || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) {
        throw new ConfigError('PUSH_ALLOW_IPS', `"${entry}" is not an IP address or CIDR range (e.g. 10.1.0.0/16, 192.168.5.20)`);
      }
      return { address, prefix, family };
    });
}

/** `true`/`false`, a hop count, or a comma list of proxy addresses/ranges (Express `trust proxy`). */
function trustProxy(raw: string | undefined): boolean | number | string[] {
  if (raw === undefined || raw === 'false') return false;
  // `true` would believe the left-most X-Forwarded-For entry, which any client writes itself. Read
  // it as one proxy: the right-most entry, the address our proxy saw, is the client.
  if (raw === 'true') return 1;
  if (/^\d+$/.test(raw)) return Number(raw);
  const list = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
  for (const entry of list) {
    if (!['loopback', 'linklocal', 'uniquelocal'].includes(entry) && isIP(entry.split('/')[0] ?? '') === 0) {
      throw new ConfigError('TRUST_PROXY', `"${entry}" is not true, false, a hop count, or a proxy address/range`);
    }
  }
  return list;
}

function logLevel(raw: string): string {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(raw)) throw new ConfigError('LOG_LEVEL', `expected one of ${levels.join(', ')}, got "${raw}"`);
  return raw;
}
