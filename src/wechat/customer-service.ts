import { setTimeout as sleep } from 'node:timers/promises';
import type { LiveWechatConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { Channel, Delivery, Notice } from '../push/deliver.js';
import type { DeliveryAttempt } from '../types.js';
import type { CallResult, WechatApi } from './api.js';
import { TokenError, type TokenProvider } from './token.js';

// The customer-service channel: the text parts through POST /cgi-bin/message/custom/send, with the
// retry rules of contract §5:
// - 40001/40014/42001: drop that token (if still current), get another, retry once;
// - errcode -1, HTTP 5xx, or a connection that failed before sending: retry with backoff;
// - a timeout or a connection lost after sending: stop, outcome unknown (WeChat may have it);
// - any other errcode: stop.
// Everything happens before `deadline`, so the push is answered in time whatever WeChat does.

const TOKEN_ERRCODES = new Set([40001, 40014, 42001]);
const BACKOFF_BASE_MS = 200;

export class CustomerServiceChannel implements Channel {
  readonly name = 'custom' as const;

  constructor(
    private readonly api: WechatApi,
    private readonly tokens: TokenProvider,
    private readonly config: LiveWechatConfig,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Sends the parts in order, skipping those WeChat already accepted for this message (a re-push
   * or resend after part 4 of 4 timed out sends part 4 only), and stops at the first that fails.
   */
  async send(openid: string, notice: Notice, deadline: number, alreadyAccepted: ReadonlySet<number> = new Set()): Promise<Delivery> {
    const { parts } = notice;
    const attempts: DeliveryAttempt[] = [];
    const accepted = [...alreadyAccepted].filter((p) => p >= 1 && p <= parts.length).sort((a, b) => a - b);
    for (let part = 1; part <= parts.length; part++) {
      if (alreadyAccepted.has(part)) continue;
      const outcome = await this.sendPart(openid, parts[part - 1]!, part, deadline, attempts);
      if (outcome.code !== 'DELIVERED') return { outcome, attempts, accepted };
      accepted.push(part);
    }
    return { outcome: { code: 'DELIVERED' }, attempts, accepted };
  }

  private async sendPart(openid: string, content: string, part: number, deadline: number, attempts: DeliveryAttempt[]): Promise<Delivery['outcome']> {
    const body = { touser: openid, msgtype: 'text', text: { content } };
    let retries = 0;
    let tokenReplaced = false;
    let replacing: string | null = null;
    for (;;) {
      const step = await this.attempt(body, part, deadline, attempts, replacing);
      replacing = null;
      if (step.kind === 'done') return step.outcome;
      if (step.kind === 'token-rejected' && !tokenReplaced) {
        tokenReplaced = true;
        this.metrics.retries.inc({ cause: 'token_rejected' });
        replacing = step.token;
        await this.tokens.invalidate(step.token);
        continue;
      }
      if (step.kind === 'token-rejected') return step.outcome;
      const backoff = BACKOFF_BASE_MS * 2 ** retries * (0.75 + Math.random() / 2);
      if (retries >= this.config.maxRetries || Date.now() + backoff + 100 >= deadline) return step.outcome;
      retries++;
      this.metrics.retries.inc({ cause: step.cause });
      await sleep(backoff);
    }
  }

  private async attempt(
    body: object,
    part: number,
    deadline: number,
    attempts: DeliveryAttempt[],
    replacing: string | null,
  ): Promise<
    | { kind: 'done'; outcome: Delivery['outcome'] }
    | { kind: 'retryable'; cause: string; outcome: Delivery['outcome'] }
    | { kind: 'token-rejected'; token: string; outcome: Delivery['outcome'] }
  > {
    const at = new Date().toISOString();
    let token: string;
    try {
      token = replacing === null ? await this.tokens.get() : await this.tokens.getReplacing(replacing);
    } catch (err) {
      return tokenFailure(err, at, part, attempts);
    }
    const timeout = Math.min(this.config.timeoutMs, deadline - Date.now());
    if (timeout < 50) {
      attempts.push({ at, channel: 'custom', part, ms: 0, error: '处理时限已到，未发送' });
      return { kind: 'done', outcome: { code: 'WECHAT_UNREACHABLE', detail: '处理超时', maybeDelivered: false } };
    }
    const result = await this.api.post('/cgi-bin/message/custom/send', { access_token: token }, body, timeout);
    attempts.push(attemptOf(result, at, part));
    return classify(result, token);
  }
}

function classify(result: CallResult, token: string) {
  if (result.kind === 'maybe-sent') {
    return { kind: 'done' as const, outcome: unreachable(result.error, true) };
  }
  if (result.kind === 'not-sent') return { kind: 'retryable' as const, cause: 'not_sent', outcome: unreachable(result.error, false) };
  if (result.httpStatus >= 500) return { kind: 'retryable' as const, cause: 'http_5xx', outcome: unreachable(`HTTP ${result.httpStatus}`, false) };
  const errcode = result.json?.errcode;
  const errmsg = String(result.json?.errmsg ?? '');
  // Success is errcode 0 in the JSON body; an HTTP 200 alone proves nothing.
  if (typeof errcode !== 'number') {
    return { kind: 'done' as const, outcome: unreachable(`无法识别的应答（HTTP ${result.httpStatus}）`, true) };
  }
  if (errcode === 0) return { kind: 'done' as const, outcome: { code: 'DELIVERED' as const } };
  const rejected = { code: 'WECHAT_REJECTED' as const, errcode, errmsg };
  if (TOKEN_ERRCODES.has(errcode)) return { kind: 'token-rejected' as const, token, outcome: rejected };
  if (errcode === -1) return { kind: 'retryable' as const, cause: 'errcode_-1', outcome: rejected };
  return { kind: 'done' as const, outcome: rejected };
}

/** A token that cannot be had means nothing was sent: network trouble is retried like a send, an errcode is final. */
function tokenFailure(err: unknown, at: string, part: number, attempts: DeliveryAttempt[]) {
  if (!(err instanceof TokenError)) {
    attempts.push({ at, channel: 'custom', part, ms: 0, error: `access_token不可用：${err instanceof Error ? err.message : String(err)}` });
    return { kind: 'retryable' as const, cause: 'token_unavailable', outcome: unreachable('access_token不可用', false) };
  }
  const { result } = err;
  attempts.push({ ...attemptOf(result, at, part), error: err.message });
  if (result.kind === 'answered' && typeof result.json?.errcode === 'number' && result.json.errcode !== -1) {
    return { kind: 'done' as const, outcome: { code: 'WECHAT_REJECTED' as const, errcode: result.json.errcode, errmsg: String(result.json.errmsg ?? '') } };
  }
  return { kind: 'retryable' as const, cause: 'token_unavailable', outcome: unreachable(err.message, false) };
}

function unreachable(detail: string, maybeDelivered: boolean) {
  return { code: 'WECHAT_UNREACHABLE' as const, detail, maybeDelivered };
}

function attemptOf(result: CallResult, at: string, part: number): DeliveryAttempt {
  if (result.kind !== 'answered') return { at, channel: 'custom', part, ms: result.ms, error: result.error };
  const attempt: DeliveryAttempt = { at, channel: 'custom', part, ms: result.ms, httpStatus: result.httpStatus };
  if (typeof result.json?.errcode === 'number') attempt.errcode = result.json.errcode;
  if (result.json?.errmsg !== undefined) attempt.errmsg = String(result.json.errmsg);
  return attempt;
}

