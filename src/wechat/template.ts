import { setTimeout as sleep } from 'node:timers/promises';
import type { Metrics } from '../metrics.js';
import type { Channel, Delivery, Notice } from '../push/deliver.js';
import type { DeliveryAttempt } from '../types.js';
import type { CallResult, WechatApi } from './api.js';
import { templateData, templateUrl, type TemplateField } from './template-fields.js';
import { attemptOf, classify, outOfTime, tokenFailure, unreachable, type AttemptBase, type Outcome, type Step } from './send-rules.js';
import { TOKEN_ERRCODES, type TokenProvider } from './token.js';

// The template channel (contract §10): one template message per notice through
// POST /cgi-bin/message/template/send, with the retry rules of contract §5 and one exception.
// WeChat sends one message per openid + client_msg_id within 10 minutes, and the GUID is the
// client_msg_id, so a send whose answer was lost (timeout, connection dropped after sending) can
// be asked again once: a repeat of a delivered message is answered, not sent twice. Only once:
// WeChat promises nothing beyond its window, and a second silence says little more than the first.

export interface TemplateChannelConfig {
  templateId: string;
  fields: TemplateField[];
  /** WECHAT_TEMPLATE_URL: the message's link, `{guid}` replaced; null for none. */
  url: string | null;
  timeoutMs: number;
  maxRetries: number;
}

const BACKOFF_BASE_MS = 200;
/** A timeout shorter than this is no attempt at all. */
const MIN_ATTEMPT_MS = 50;
const PATH = '/cgi-bin/message/template/send';

interface TemplateBody {
  touser: string;
  template_id: string;
  url?: string;
  client_msg_id: string;
  data: Record<string, { value: string }>;
}

/** What one send has been through so far, across its attempts. */
interface SendState {
  retries: number;
  tokenReplaced: boolean;
  resentAfterSilence: boolean;
  /** An earlier attempt may have reached WeChat: a later failure cannot say it was not delivered. */
  maybeSent: boolean;
  replacing: string | null;
}

export class TemplateChannel implements Channel {
  readonly name = 'template' as const;

  constructor(
    private readonly api: WechatApi,
    private readonly tokens: TokenProvider,
    private readonly config: TemplateChannelConfig,
    private readonly metrics: Metrics,
  ) {}

  /** Parts are a custom-text notion: a template is one message, so `accepted` stays empty. */
  async send(openid: string, notice: Notice, deadline: number, _alreadyAccepted?: ReadonlySet<number>): Promise<Delivery> {
    const attempts: DeliveryAttempt[] = [];
    const body = this.body(openid, notice);
    const state: SendState = { retries: 0, tokenReplaced: false, resentAfterSilence: false, maybeSent: false, replacing: null };
    for (;;) {
      const step = await this.attempt(body, deadline, attempts, state);
      const next = await this.nextMove(step, deadline, state);
      if (next === 'stop') return { outcome: finalOutcome(step, state), attempts, accepted: [] };
    }
  }

  private body(openid: string, notice: Notice): TemplateBody {
    const url = templateUrl(this.config.url, notice.guid);
    return {
      touser: openid,
      template_id: this.config.templateId,
      ...(url === undefined ? {} : { url }),
      client_msg_id: notice.guid,
      data: templateData(this.config.fields, notice.approval),
    };
  }

  /** Decides whether to try again (waiting out any backoff first) and records why. */
  private async nextMove(step: Step, deadline: number, state: SendState): Promise<'again' | 'stop'> {
    if (step.kind === 'maybe-sent') state.maybeSent = true;
    if (step.kind === 'done') return 'stop';
    if (step.kind === 'token-rejected') {
      if (state.tokenReplaced) return 'stop';
      state.tokenReplaced = true;
      state.replacing = step.token;
      this.metrics.retries.inc({ cause: 'token_rejected' });
      await this.tokens.invalidate(step.token);
      return 'again';
    }
    if (step.kind === 'maybe-sent') {
      // At once: the slow answer already took its time, and the repeat needs a whole timeout too.
      if (state.resentAfterSilence || Date.now() + 2 * MIN_ATTEMPT_MS >= deadline) return 'stop';
      state.resentAfterSilence = true;
      this.metrics.retries.inc({ cause: 'maybe_sent' });
      return 'again';
    }
    const backoff = BACKOFF_BASE_MS * 2 ** state.retries * (0.75 + Math.random() / 2);
    if (state.retries >= this.config.maxRetries || Date.now() + backoff + 100 >= deadline) return 'stop';
    state.retries++;
    this.metrics.retries.inc({ cause: step.cause });
    await sleep(backoff);
    return 'again';
  }

  private async attempt(body: TemplateBody, deadline: number, attempts: DeliveryAttempt[], state: SendState): Promise<Step> {
    const base: AttemptBase = { at: new Date().toISOString(), channel: 'template', part: 0 };
    const replacing = state.replacing;
    state.replacing = null;
    let token: string;
    try {
      token = replacing === null ? await this.tokens.get() : await this.tokens.getReplacing(replacing);
    } catch (err) {
      return tokenFailure(err, base, attempts);
    }
    const timeout = Math.min(this.config.timeoutMs, deadline - Date.now());
    if (timeout < MIN_ATTEMPT_MS) return outOfTime(base, attempts);
    const result = await this.api.post(PATH, { access_token: token }, body, timeout);
    attempts.push({ ...templateAttemptOf(result, base), templateData: body.data });
    return classify(result, token);
  }
}

/**
 * After an attempt that may have reached WeChat, only a definite answer from WeChat to the send
 * settles the outcome; a later busy signal, network failure, token refusal, or a token API that
 * refuses (nothing was sent then) leaves it unknown.
 */
function finalOutcome(step: Step, state: SendState): Outcome {
  const { outcome } = step;
  if (!state.maybeSent || outcome.code === 'DELIVERED') return outcome;
  if (outcome.code === 'WECHAT_UNREACHABLE') return { ...outcome, maybeDelivered: true };
  const unsent = step.kind === 'done' && step.unsent === true;
  if (outcome.code === 'WECHAT_REJECTED' && (unsent || outcome.errcode === -1 || TOKEN_ERRCODES.has(outcome.errcode))) {
    return unreachable(`微信未确认（${outcome.errcode}）`, true);
  }
  return outcome;
}

/** A template attempt also keeps WeChat's msgid, to match the delivery report to it. */
function templateAttemptOf(result: CallResult, base: AttemptBase): DeliveryAttempt {
  const attempt = attemptOf(result, base);
  const msgid = result.kind === 'answered' ? msgidOf(result.text) : null;
  if (msgid !== null) attempt.msgid = msgid;
  return attempt;
}

/**
 * The msgid as WeChat wrote it: JSON.parse would round a number above 2^53 to a neighbour, and
 * the delivery report (TEMPLATESENDJOBFINISH) must be matched to it digit for digit.
 */
export function msgidOf(text: string): string | null {
  return /"msgid"\s*:\s*"?(\d+)/.exec(text)?.[1] ?? null;
}
