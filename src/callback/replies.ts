import type { BindResult } from '../binding/bind.js';
import { BIND_CODE_LENGTH } from './message.js';

// What the Official Account answers an employee (contract §8–§9). Pure. The first word of each
// binding reply is fixed by the contract (绑定成功 / 绑定失败 / 已解绑); the rest says what to do next.

const EXAMPLE_CODE = 'AB23CD45'.slice(0, BIND_CODE_LENGTH);

export const HELP =
  `您好，这里发送GCP/财务审批通知。\n` +
  `绑定工号：扫描管理员提供的二维码，或发送“绑定 绑定码”（例如：绑定 ${EXAMPLE_CODE}）。\n` +
  `解除绑定：发送“解绑”。`;

export const WELCOME_BACK = '欢迎回来，审批通知将继续发送到这里。发送“解绑”可解除绑定。';

function who(employeeNo: string, name: string): string {
  return name === '' ? `工号 ${employeeNo}` : `工号 ${employeeNo}（${name}）`;
}

export function bindReply(result: BindResult, by: 'code' | 'scene'): string {
  switch (result.kind) {
    case 'bound':
      return `绑定成功：${who(result.employeeNo, result.name)}已与本微信绑定，审批通知将发送到这里。发送“解绑”可解除绑定。`;
    case 'already-bound':
      return `绑定成功：${who(result.employeeNo, result.name)}已与本微信绑定，无需重复操作。`;
    case 'blocked':
      return '绑定失败：绑定码错误次数过多，请一小时后再试，或请管理员重新生成。';
    case 'invalid':
      return by === 'code'
        ? '绑定失败：绑定码不存在、已使用或已过期。请核对后重新发送，或请管理员重新生成。'
        : '绑定失败：二维码已使用或已过期。请管理员重新生成绑定码。';
  }
}

export function unbindReply(employeeNos: string[]): string {
  if (employeeNos.length === 0) return '本微信未绑定工号，无需解绑。';
  return `已解绑：工号 ${employeeNos.join('、')} 不再向本微信发送审批通知。如需重新绑定，请向管理员索取绑定码。`;
}
