import type { Approval } from '../types.js';

// The text the applicant reads in WeChat (contract §3). Built as blocks — the header, then one block
// per <lists> item — so the splitter can cut between list items; the whole text is the blocks
// joined with '\n'.

export function textBlocks(approval: Approval): string[] {
  const header = [
    '审批消息',
    '',
    `申请人工号：${approval.employeeNo}`,
    `经办人工号：${approval.operator}`,
    `单据类型：${approval.billType}`,
    `单据编号：${approval.billNum}`,
    `审批时间：${approval.approvalDate}`,
    `审批意见：${approval.approvalOpinion}`,
  ].join('\n');
  const items = approval.items.map((item) =>
    [`项目名称：${item.projectName}`, `卡主工号：${item.pi}`, `卡号：${item.cardNum}`].join('\n'),
  );
  return [header, ...items];
}

export function formatText(approval: Approval): string {
  return textBlocks(approval).join('\n');
}
