import type { AckCode, MessageStatus } from './types.js';

// One typed outcome per row of the contract's reason table (§4). Every way a push can end is one of
// these; `ackOf` is the only place that turns them into an ack code and reason text.

export type Outcome =
  | { code: 'DELIVERED' }
  | { code: 'SANDBOX' }
  | { code: 'DUPLICATE'; firstAck: string }
  | { code: 'EMPTY' }
  | { code: 'MALFORMED'; detail: string }
  | { code: 'UNBOUND' }
  | { code: 'GUID_CONFLICT' }
  | { code: 'WECHAT_REJECTED'; errcode: number; errmsg: string }
  | { code: 'WECHAT_UNREACHABLE'; detail: string; maybeDelivered: boolean }
  | { code: 'BUSY' }
  /** A push that arrived while another push of the same GUID was being processed gets that push's ack. */
  | { code: 'CONCURRENT'; ack: Ack };

export type OutcomeCode = Outcome['code'];

export interface Ack {
  code: AckCode;
  reason: string;
}

export function ackOf(outcome: Outcome): Ack {
  switch (outcome.code) {
    case 'DELIVERED':
      return { code: 'AA', reason: '处理成功' };
    case 'SANDBOX':
      return { code: 'AA', reason: '处理成功（沙箱模式，未发送微信消息）' };
    case 'DUPLICATE':
      return { code: 'AA', reason: `处理成功（重复消息，已于${outcome.firstAck}处理，未重复发送）` };
    case 'EMPTY':
      return { code: 'AE', reason: '推送消息不能为空' };
    case 'MALFORMED':
      return { code: 'AE', reason: `消息格式错误：${outcome.detail}` };
    case 'UNBOUND':
      return { code: 'AE', reason: '工号关联账号不存在' };
    case 'GUID_CONFLICT':
      return { code: 'AE', reason: '消息ID重复：该消息ID已用于内容不同的消息' };
    case 'WECHAT_REJECTED':
      return { code: 'AE', reason: `微信发送失败(${outcome.errcode}): ${outcome.errmsg}` };
    case 'WECHAT_UNREACHABLE':
      return {
        code: 'AE',
        reason: outcome.maybeDelivered
          ? `微信接口调用失败：${outcome.detail}（发送结果未知）`
          : `微信接口调用失败：${outcome.detail}`,
      };
    case 'BUSY':
      return { code: 'AE', reason: '系统繁忙，请稍后重试' };
    case 'CONCURRENT':
      return outcome.ack;
  }
}

/** The status a message row ends in for an outcome of its own processing. */
export function finalStatusOf(outcome: Outcome): MessageStatus {
  switch (outcome.code) {
    case 'DELIVERED':
      return 'delivered';
    case 'SANDBOX':
      return 'sandbox';
    case 'WECHAT_UNREACHABLE':
      return outcome.maybeDelivered ? 'unknown' : 'failed';
    case 'UNBOUND':
    case 'WECHAT_REJECTED':
    case 'BUSY':
      return 'failed';
    case 'DUPLICATE':
    case 'CONCURRENT':
    case 'EMPTY':
    case 'MALFORMED':
    case 'GUID_CONFLICT':
      return 'rejected';
  }
}
