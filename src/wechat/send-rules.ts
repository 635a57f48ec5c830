import type { Delivery } from '../push/deliver.js';
import type { DeliveryAttempt } from '../types.js';
import type { CallResult } from './api.js';
import { TOKEN_ERRCODES, TokenError } from './token.js';

// What one send attempt's result means under contract §5, for every channel: each channel decides
// only what to do next (customer-service text never repeats a send that may have arrived; a
// template repeats it once, as its client_msg_id makes safe).

export type Outcome = Delivery['outcome'];

export type Step =
  /** `unsent`: nothing reached WeChat this time (no token, no time left), so it says nothing about delivery. */
  | { kind: 'done'; outcome: Outcome; unsent?: true }
  /** -1, HTTP 5xx, not sent: retried with backoff up to WECHAT_MAX_RETRIES. */
  | { kind: 'retryable'; cause: string; outcome: Outcome }
  /** The answer was lost (or unreadable) after the request may have reached WeChat. */
  | { kind: 'maybe-sent'; outcome: Outcome }
  | { kind: 'token-rejected'; token: string; outcome: Outcome };

/** Where an attempt stands in the message record: when, which channel, which part (0: a template). */
export type AttemptBase = Pick<DeliveryAttempt, 'at' | 'channel' | 'part'>;

export function classify(result: CallResult, token: string): Step {
  if (result.kind === 'maybe-sent') return { kind: 'maybe-sent', outcome: unreachable(result.error, true) };
  if (result.kind === 'not-sent') return { kind: 'retryable', cause: 'not_sent', outcome: unreachable(result.error, false) };
  if (result.httpStatus >= 500) return { kind: 'retryable', cause: 'http_5xx', outcome: unreachable(`HTTP ${result.httpStatus}`, false) };
  const errcode = result.json?.errcode;
  // Success is errcode 0 in the JSON body; an HTTP 200 alone proves nothing, and an answer we
  // cannot read may still mean WeChat took the message: like a lost answer.
  if (typeof errcode !== 'number') return { kind: 'maybe-sent', outcome: unreachable(`无法识别的应答（HTTP ${result.httpStatus}）`, true) };
  if (errcode === 0) return { kind: 'done', outcome: { code: 'DELIVERED' } };
  const rejected = { code: 'WECHAT_REJECTED' as const, errcode, errmsg: String(result.json?.errmsg ?? '') };
  if (TOKEN_ERRCODES.has(errcode)) return { kind: 'token-rejected', token, outcome: rejected };
  if (errcode === -1) return { kind: 'retryable', cause: 'errcode_-1', outcome: rejected };
  return { kind: 'done', outcome: rejected };
}

/** A token that cannot be had means nothing was sent: network trouble is retried like a send, an errcode is final. */
export function tokenFailure(err: unknown, base: AttemptBase, attempts: DeliveryAttempt[]): Step {
  if (!(err instanceof TokenError)) {
    attempts.push({ ...base, ms: 0, error: `access_token不可用：${err instanceof Error ? err.message : String(err)}` });
    return { kind: 'retryable', cause: 'token_unavailable', outcome: unreachable('access_token不可用', false) };
  }
  const { result } = err;
  attempts.push({ ...attemptOf(result, base), error: err.message });
  if (result.kind === 'answered' && typeof result.json?.errcode === 'number' && result.json.errcode !== -1) {
    return { kind: 'done', outcome: { code: 'WECHAT_REJECTED', errcode: result.json.errcode, errmsg: String(result.json.errmsg ?? '') }, unsent: true };
  }
  return { kind: 'retryable', cause: 'token_unavailable', outcome: unreachable(err.message, false) };
}

/** No time left before the push's deadline: nothing is sent. */
export function outOfTime(base: AttemptBase, attempts: DeliveryAttempt[]): Step {
  attempts.push({ ...base, ms: 0, error: '处理时限已到，未发送' });
  return { kind: 'done', outcome: unreachable('处理超时', false), unsent: true };
}

export function unreachable(detail: string, maybeDelivered: boolean) {
  return { code: 'WECHAT_UNREACHABLE' as const, detail, maybeDelivered };
}

export function attemptOf(result: CallResult, base: AttemptBase): DeliveryAttempt {
  if (result.kind !== 'answered') return { ...base, ms: result.ms, error: result.error };
  const attempt: DeliveryAttempt = { ...base, ms: result.ms, httpStatus: result.httpStatus };
  if (typeof result.json?.errcode === 'number') attempt.errcode = result.json.errcode;
  if (result.json?.errmsg !== undefined) attempt.errmsg = String(result.json.errmsg);
  return attempt;
}
