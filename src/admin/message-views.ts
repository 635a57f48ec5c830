import type { EmployeeRecord, MessageRow } from '../types.js';
import { hintFor } from '../wechat/errcodes.js';
import { maskOpenid } from '../log.js';

// Messages as the admin API shows them (contract §7): a summary per list item, the message in full.

export interface MessageSummary {
  id: string;
  guid: string | null;
  receivedAt: string;
  employeeNo: string | null;
  ackCode: string | null;
  reason: string | null;
  status: string;
  envelope: string;
  action: string | null;
  pushCount: number;
  /** What WeChat's errcode (or the outcome) means and what to do next; null when nothing to add. */
  hint: string | null;
  billNum: string | null;
  /** The applicant's name as the employee list has it. */
  applicantName: string | null;
}

export function toSummary(row: MessageRow & { applicantName?: string | null }): MessageSummary {
  return {
    id: String(row.id),
    guid: row.guid,
    receivedAt: iso(row.receivedAt)!,
    employeeNo: row.employeeNo,
    ackCode: row.ackCode,
    reason: row.reason,
    status: row.status,
    envelope: row.envelope,
    action: row.action,
    pushCount: row.pushCount,
    hint: hintFor(row.wechatErrcode ?? null, row.status, row.reason),
    billNum: row.approval?.billNum ?? null,
    applicantName: row.applicantName ?? null,
  };
}

/** The message that owns its GUID (or a refused one), with the other pushes of the same GUID. */
export function toDetail(main: MessageRow, others: MessageRow[], employee: EmployeeRecord | null): Record<string, unknown> {
  return {
    id: String(main.id),
    guid: main.guid,
    status: main.status,
    receivedAt: iso(main.receivedAt),
    updatedAt: iso(main.updatedAt),
    finishedAt: iso(main.finishedAt),
    deliveredAt: iso(main.deliveredAt),
    envelope: main.envelope,
    action: main.action,
    contentType: main.contentType,
    senderId: main.senderId,
    receiverId: main.receiverId,
    employeeNo: main.employeeNo,
    openid: main.openidMasked,
    payload: main.payload,
    approval: main.approval,
    texts: main.texts,
    /** How many parts the whole text needed; more than texts.length when it was shortened. */
    partsTotal: main.partsTotal,
    shortened: main.shortened,
    acceptedParts: main.acceptedParts,
    attempts: main.attempts,
    /** Template msgids sent for this message, and WeChat's TEMPLATESENDJOBFINISH report (§10). */
    templateMsgids: main.templateMsgids ?? [],
    deliveryReport: main.deliveryReport ?? null,
    ackCode: main.ackCode,
    reason: main.reason,
    /** What the ERP was told when it pushed (ackCode is the outcome now, after any resends). */
    erpAckCode: main.erpAckCode ?? null,
    ackXml: main.ackXml,
    wechatErrcode: main.wechatErrcode,
    wechatErrmsg: main.wechatErrmsg,
    hint: hintFor(main.wechatErrcode, main.status, main.reason),
    /** The applicant as the employee list has them, to fix the binding from here; null when unknown. */
    // Masked like the message's own openid: the message log never shows a full one.
    employee: employee === null ? null : { ...employee, openid: employee.openid === null ? null : maskOpenid(employee.openid) },
    pushCount: main.pushCount,
    lastPushAt: iso(main.lastPushAt),
    related: others.map((r) => ({ id: String(r.id), status: r.status, receivedAt: iso(r.receivedAt), reason: r.reason })),
  };
}

function iso(date: Date | null): string | null {
  return date ? new Date(date).toISOString() : null;
}
