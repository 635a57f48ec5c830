import type { MessageRow } from '../types.js';

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
}

export function toSummary(row: MessageRow): MessageSummary {
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
  };
}

/** The message that owns its GUID (or a refused one), with the other pushes of the same GUID. */
export function toDetail(main: MessageRow, others: MessageRow[]): Record<string, unknown> {
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
    ackXml: main.ackXml,
    wechatErrcode: main.wechatErrcode,
    wechatErrmsg: main.wechatErrmsg,
    pushCount: main.pushCount,
    lastPushAt: iso(main.lastPushAt),
    related: others.map((r) => ({ id: String(r.id), status: r.status, receivedAt: iso(r.receivedAt), reason: r.reason })),
  };
}

function iso(date: Date | null): string | null {
  return date ? new Date(date).toISOString() : null;
}
