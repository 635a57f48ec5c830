import { setTimeout as sleep } from 'node:timers/promises';
import type { Metrics } from '../metrics.js';
import type { Channel, Delivery, Notice } from '../push/deliver.js';
import type { DeliveryAttempt } from '../types.js';
import type { CallResult, WechatApi } from './api.js';
import { templateData, templateUrl, type TemplateField } from './template-fields.js';
import { TokenError, type TokenProvider } from './token.js';

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

type Outcome = Delivery['outcome'];
type Step =
  /** `unsent`: nothing reached WeChat this time (no token, no time left), so it says nothing about delivery. */
  | { kind: 'done'; outcome: Outcome; unsent?: true }
  /** -1, HTTP 5xx, not sent: retried with backoff up to maxRetries. */
  | { kind: 'retryable'; cause: string; outcome: Outcome }
  /** The answer was lost after the request may have reached WeChat. */
  | { kind: 'maybe-sent'; outcome: Outcome }
  | { kind: 'token-rejected'; token: string; outcome: Outcome };

const TOKEN_ERRCODES = new Set([40001, 40014, 42001]);
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
    const at = new Date().toISOString();
    const replacing = state.replacing;
    state.replacing = null;
    let token: string;
    try {
      token = replacing === null ? await this.tokens.get() : await this.tokens.getReplacing(replacing);
    } catch (err) {
      return tokenFailure(err, at, attempts);
    }
    const timeout = Math.min(this.config.timeoutMs, deadline - Date.now());
    if (timeout < MIN_ATTEMPT_MS) {
      attempts.push({ at, channel: 'template', part: 0, ms: 0, error: '处理时限已到，未发送' });
      return { kind: 'done', outcome: unreachable('处理超时', false), unsent: true };
    }
    const result = await this.api.post(PATH, { access_token: token }, body, timeout);
    attempts.push({ ...attemptOf(result, at), templateData: body.data });
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

function classify(result: CallResult, token: string): Step {
  if (result.kind === 'maybe-sent') return { kind: 'maybe-sent', outcome: unreachable(result.error, true) };
  if (result.kind === 'not-sent') return { kind: 'retryable', cause: 'not_sent', outcome: unreachable(result.error, false) };
  if (result.httpStatus >= 500) return { kind: 'retryable', cause: 'http_5xx', outcome: unreachable(`HTTP ${result.httpStatus}`, false) };
  const errcode = result.json?.errcode;
  // An answer we cannot read may still mean WeChat took the message: like a lost answer.
  if (typeof errcode !== 'number') return { kind: 'maybe-sent', outcome: unreachable(`无法识别的应答（HTTP ${result.httpStatus}）`, true) };
  if (errcode === 0) return { kind: 'done', outcome: { code: 'DELIVERED' } };
  const rejected = { code: 'WECHAT_REJECTED' as const, errcode, errmsg: String(result.json?.errmsg ?? '') };
  if (TOKEN_ERRCODES.has(errcode)) return { kind: 'token-rejected', token, outcome: rejected };
  if (errcode === -1) return { kind: 'retryable', cause: 'errcode_-1', outcome: rejected };
  return { kind: 'done', outcome: rejected };
}

/** A token that cannot be had means nothing was sent: network trouble is retried like a send, an errcode is final. */
function tokenFailure(err: unknown, at: string, attempts: DeliveryAttempt[]): Step {
  if (!(err instanceof TokenError)) {
    attempts.push({ at, channel: 'template', part: 0, ms: 0, error: `access_token不可用：${err instanceof Error ? err.message : String(err)}` });
    return { kind: 'retryable', cause: 'token_unavailable', outcome: unreachable('access_token不可用', false) };
  }
  const { result } = err;
  attempts.push({ ...attemptOf(result, at), error: err.message });
  if (result.kind === 'answered' && typeof result.json?.errcode === 'number' && result.json.errcode !== -1) {
    return { kind: 'done', outcome: { code: 'WECHAT_REJECTED', errcode: result.json.errcode, errmsg: String(result.json.errmsg ?? '') }, unsent: true };
  }
  return { kind: 'retryable', cause: 'token_unavailable', outcome: unreachable(err.message, false) };
}

function unreachable(detail: string, maybeDelivered: boolean) {
  return { code: 'WECHAT_UNREACHABLE' as const, detail, maybeDelivered };
}

function attemptOf(result: CallResult, at: string): DeliveryAttempt {
  if (result.kind !== 'answered') return { at, channel: 'template', part: 0, ms: result.ms, error: result.error };
  const attempt: DeliveryAttempt = { at, channel: 'template', part: 0, ms: result.ms, httpStatus: result.httpStatus };
  if (typeof result.json?.errcode === 'number') attempt.errcode = result.json.errcode;
  if (result.json?.errmsg !== undefined) attempt.errmsg = String(result.json.errmsg);
  const msgid = msgidOf(result.text);
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
