import pino, { type Logger } from 'pino';

// Structured JSON logs. Secrets never reach a log line: the access token and AppSecret are never
// passed to the logger, and these paths are censored in case an object carrying them is logged.

export type { Logger };

const REDACT = [
  'access_token',
  'accessToken',
  'secret',
  'appSecret',
  'openid',
  'touser',
  '*.access_token',
  '*.accessToken',
  '*.secret',
  '*.openid',
  '*.touser',
  'req.headers.authorization',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: undefined, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
}

/** First 4 and last 4 characters: enough for an administrator to tell openids apart. */
export function maskOpenid(openid: string | null | undefined): string {
  if (!openid) return '';
  if (openid.length <= 8) return '*'.repeat(openid.length);
  return `${openid.slice(0, 4)}…${openid.slice(-4)}`;
}
