import { setTimeout as sleep } from 'node:timers/promises';
import type { LiveWechatConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { Channel, Delivery, Notice } from '../push/deliver.js';
import type { DeliveryAttempt } from '../types.js';
import type { WechatApi } from './api.js';
import { attemptOf, classify, outOfTime, tokenFailure, type AttemptBase, type Step } from './send-rules.js';
import type { TokenProvider } from './token.js';

// The customer-service channel: the text parts through POST /cgi-bin/message/custom/send, with the
// retry rules of contract §5:
// - 40001/40014/42001: drop that token (if still current), get another, retry once;
// - errcode -1, HTTP 5xx, or a connection that failed before sending: retry with backoff;
// - a timeout or a connection lost after sending: stop, outcome unknown (WeChat may have it);
// - any other errcode: stop.
// Everything happens before `deadline`, so the push is answered in time whatever WeChat does.

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
      // A send that may have reached WeChat is never repeated here: the employee could get it twice.
      if (step.kind === 'done' || step.kind === 'maybe-sent') return step.outcome;
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
  ): Promise<Step> {
    const base: AttemptBase = { at: new Date().toISOString(), channel: 'custom', part };
    let token: string;
    try {
      token = replacing === null ? await this.tokens.get() : await this.tokens.getReplacing(replacing);
    } catch (err) {
      return tokenFailure(err, base, attempts);
    }
    const timeout = Math.min(this.config.timeoutMs, deadline - Date.now());
    if (timeout < 50) return outOfTime(base, attempts);
    const result = await this.api.post('/cgi-bin/message/custom/send', { access_token: token }, body, timeout);
    attempts.push(attemptOf(result, base));
    return classify(result, token);
  }
}

