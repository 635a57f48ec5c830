import type { DeliveryPolicy, TemplateConfig } from '../config.js';
import type { ChannelName, DeliveryAttempt } from '../types.js';
import { templateData } from '../wechat/template-fields.js';
import { SAFE_WINDOW_MS, withinWindow } from '../wechat/window.js';
import type { Channel, Deliverer, Delivery } from './deliver.js';

// Which channel a push goes by (contract §10), decided in one pure function, and the deliverers
// that carry the decision out: live (the channels send) and sandbox (nothing is sent, the record
// says which channel would have been used and with what).

export interface ChannelChoice {
  first: ChannelName;
  /** Tried for the same push when `first` answers 45015 or 45047 (outside the window). */
  fallback: ChannelName | null;
}

/**
 * `custom` and `template` always use that channel. `auto`: customer-service text while the
 * employee's last interaction is within 47 hours (the 48-hour window with a margin), with the
 * template as fallback; otherwise (older, or never seen by the callback) the template.
 */
export function chooseChannel(policy: DeliveryPolicy, lastInteractionAt: Date | null, now: number): ChannelChoice {
  if (policy !== 'auto') return { first: policy, fallback: null };
  return withinWindow(lastInteractionAt, now, SAFE_WINDOW_MS) ? { first: 'custom', fallback: 'template' } : { first: 'template', fallback: null };
}

/** WeChat's answers for "outside the customer-service window": 45015 out of time, 45047 out of count. */
const OUTSIDE_WINDOW = new Set([45015, 45047]);

export function outsideWindow(delivery: Delivery): boolean {
  return delivery.outcome.code === 'WECHAT_REJECTED' && OUTSIDE_WINDOW.has(delivery.outcome.errcode);
}

export type Channels = Partial<Record<ChannelName, Channel>>;

export function liveDeliverer(policy: DeliveryPolicy, channels: Channels, now: () => number = Date.now): Deliverer {
  const channel = (name: ChannelName): Channel => {
    const found = channels[name];
    // Config refuses a policy naming a channel that is not configured; this is a wiring bug.
    if (!found) throw new Error(`delivery policy ${policy} needs the ${name} channel, which is not configured`);
    return found;
  };
  return {
    async deliver(openid, notice, deadline, alreadyAccepted) {
      const choice = chooseChannel(policy, notice.lastInteractionAt, now());
      const first = await channel(choice.first).send(openid, notice, deadline, alreadyAccepted);
      if (choice.fallback === null || !outsideWindow(first)) return first;
      const second = await channel(choice.fallback).send(openid, notice, deadline, new Set());
      // Parts the text channel got through stay accepted: a later resend need not repeat them.
      return { outcome: second.outcome, attempts: [...first.attempts, ...second.attempts], accepted: first.accepted };
    },
  };
}

/**
 * Sandbox mode: nothing is sent, the ack says so, and the record shows which channel the policy
 * would have used, with the template's data when that is the template.
 */
export function sandboxDeliverer(policy: DeliveryPolicy, template: TemplateConfig | null, now: () => number = Date.now): Deliverer {
  return {
    async deliver(_openid, notice, _deadline, alreadyAccepted) {
      const { first } = chooseChannel(policy, notice.lastInteractionAt, now());
      const attempt: DeliveryAttempt = { at: new Date(now()).toISOString(), channel: first, part: 0, ms: 0, sandbox: true };
      if (first === 'template' && template !== null) attempt.templateData = templateData(template.fields, notice.approval);
      return { outcome: { code: 'SANDBOX' }, attempts: [attempt], accepted: [...alreadyAccepted] };
    },
  };
}
