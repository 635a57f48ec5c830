import type { Db } from '../db/database.js';
import { escapeLike } from './employee-store.js';

// Read side of the message log for administrators: filtered lists, one message in full, counts.

export type OutcomeFilter = 'AA' | 'AE' | 'unknown' | 'sandbox';

export interface MessageFilter {
  outcome: OutcomeFilter | null;
  employeeNo: string | null;
  guid: string | null;
  from: Date | null;
  to: Date | null;
  q: string | null;
  limit: number;
  offset: number;
}

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

const OUTCOME_CONDITION: Record<OutcomeFilter, string> = {
  AA: `ack_code = 'AA'`,
  AE: `ack_code = 'AE'`,
  unknown: `status = 'unknown'`,
  sandbox: `status = 'sandbox'`,
};

export async function listMessages(db: Db, filter: MessageFilter): Promise<{ items: MessageSummary[]; total: number }> {
  const where = [
    filter.outcome ? OUTCOME_CONDITION[filter.outcome] : 'true',
    '($1::text IS NULL OR employee_no = $1)',
    '($2::text IS NULL OR guid = $2)',
    '($3::timestamptz IS NULL OR received_at >= $3)',
    '($4::timestamptz IS NULL OR received_at < $4)',
    '($5::text IS NULL OR reason ILIKE $5 OR guid ILIKE $5 OR employee_no ILIKE $5)',
  ].join(' AND ');
  const params = [filter.employeeNo, filter.guid, filter.from, filter.to, filter.q === null ? null : `%${escapeLike(filter.q)}%`];
  const [rows, count] = await Promise.all([
    db.rows<SummaryRow>(
      `SELECT id::text, guid, received_at, employee_no, ack_code, reason, status, envelope, action, push_count
       FROM messages WHERE ${where} ORDER BY received_at DESC, id DESC LIMIT $6 OFFSET $7`,
      [...params, filter.limit, filter.offset],
    ),
    db.one<{ n: string }>(`SELECT count(*) AS n FROM messages WHERE ${where}`, params),
  ]);
  return { items: rows.map(toSummary), total: Number(count?.n ?? 0) };
}

/** The GUID's own row (the one that owns the GUID) in full, plus any pushes of it that were refused. */
export async function getMessage(db: Db, guid: string): Promise<Record<string, unknown> | null> {
  const rows = await db.rows<FullRow>(`SELECT * FROM messages WHERE guid = $1 ORDER BY (status = 'rejected'), received_at DESC, id DESC`, [guid]);
  const [main, ...others] = rows;
  return main ? toDetail(main, others) : null;
}

/** One row by its id: the way to open a push that carried no GUID. */
export async function getMessageById(db: Db, id: string): Promise<Record<string, unknown> | null> {
  if (!/^\d{1,18}$/.test(id)) return null;
  const main = await db.one<FullRow>('SELECT * FROM messages WHERE id = $1', [id]);
  if (!main) return null;
  const others = main.guid === null ? [] : await db.rows<FullRow>('SELECT * FROM messages WHERE guid = $1 AND id <> $2 ORDER BY received_at DESC, id DESC', [main.guid, id]);
  return toDetail(main, others);
}

function toDetail(main: FullRow, others: FullRow[]): Record<string, unknown> {
  return {
    id: main.id,
    guid: main.guid,
    status: main.status,
    receivedAt: iso(main.received_at),
    updatedAt: iso(main.updated_at),
    finishedAt: iso(main.finished_at),
    deliveredAt: iso(main.delivered_at),
    envelope: main.envelope,
    action: main.action,
    contentType: main.content_type,
    senderId: main.sender_id,
    receiverId: main.receiver_id,
    employeeNo: main.employee_no,
    openid: main.openid_masked,
    payload: main.payload,
    approval: main.approval,
    texts: main.texts,
    /** How many parts the whole text needed; more than texts.length when it was shortened. */
    partsTotal: main.parts_total,
    shortened: main.shortened,
    acceptedParts: main.accepted_parts,
    attempts: main.attempts,
    ackCode: main.ack_code,
    reason: main.reason,
    ackXml: main.ack_xml,
    wechatErrcode: main.wechat_errcode,
    wechatErrmsg: main.wechat_errmsg,
    pushCount: main.push_count,
    lastPushAt: iso(main.last_push_at),
    related: others.map((r) => ({ id: r.id, status: r.status, receivedAt: iso(r.received_at), reason: r.reason })),
  };
}

export interface OutcomeCounts {
  total: number;
  AA: number;
  AE: number;
  unknown: number;
  sandbox: number;
}

export async function countOutcomes(db: Db, startOfToday: Date): Promise<{ today: OutcomeCounts; last24h: OutcomeCounts; last7d: OutcomeCounts }> {
  const windows = { today: '$1::timestamptz', last24h: `now() - interval '24 hours'`, last7d: `now() - interval '7 days'` };
  const columns = Object.entries(windows).flatMap(([name, since]) => [
    `count(*) FILTER (WHERE received_at >= ${since}) AS ${name}_total`,
    `count(*) FILTER (WHERE received_at >= ${since} AND ack_code = 'AA') AS ${name}_aa`,
    `count(*) FILTER (WHERE received_at >= ${since} AND ack_code = 'AE') AS ${name}_ae`,
    `count(*) FILTER (WHERE received_at >= ${since} AND status = 'unknown') AS ${name}_unknown`,
    `count(*) FILTER (WHERE received_at >= ${since} AND status = 'sandbox') AS ${name}_sandbox`,
  ]);
  const row = (await db.one<Record<string, string>>(`SELECT ${columns.join(', ')} FROM messages WHERE received_at >= LEAST($1::timestamptz, now() - interval '7 days')`, [startOfToday]))!;
  const counts = (name: string): OutcomeCounts => ({
    total: Number(row[`${name}_total`]),
    AA: Number(row[`${name}_aa`]),
    AE: Number(row[`${name}_ae`]),
    unknown: Number(row[`${name}_unknown`]),
    sandbox: Number(row[`${name}_sandbox`]),
  });
  return { today: counts('today'), last24h: counts('last24h'), last7d: counts('last7d') };
}

/** What administrators may see of the shared token: its age, never its value. */
export async function tokenStatus(db: Db): Promise<{ api: string; fetchedAt: string; expiresAt: string; fetchCount: number } | null> {
  const row = await db.one<{ api: string; fetched_at: Date; expires_at: Date; fetch_count: string }>(
    'SELECT api, fetched_at, expires_at, fetch_count FROM wechat_tokens ORDER BY fetched_at DESC LIMIT 1',
  );
  return row ? { api: row.api, fetchedAt: iso(row.fetched_at)!, expiresAt: iso(row.expires_at)!, fetchCount: Number(row.fetch_count) } : null;
}

interface SummaryRow {
  id: string;
  guid: string | null;
  received_at: Date;
  employee_no: string | null;
  ack_code: string | null;
  reason: string | null;
  status: string;
  envelope: string;
  action: string | null;
  push_count: number;
}

interface FullRow extends SummaryRow {
  updated_at: Date;
  finished_at: Date | null;
  delivered_at: Date | null;
  last_push_at: Date;
  content_type: string | null;
  sender_id: string;
  receiver_id: string;
  openid_masked: string | null;
  payload: string;
  approval: unknown;
  texts: string[];
  parts_total: number | null;
  shortened: boolean;
  accepted_parts: number[];
  attempts: unknown[];
  ack_xml: string | null;
  wechat_errcode: number | null;
  wechat_errmsg: string | null;
}

function toSummary(row: SummaryRow): MessageSummary {
  return {
    id: String(row.id),
    guid: row.guid,
    receivedAt: iso(row.received_at)!,
    employeeNo: row.employee_no,
    ackCode: row.ack_code,
    reason: row.reason,
    status: row.status,
    envelope: row.envelope,
    action: row.action,
    pushCount: row.push_count,
  };
}

function iso(date: Date | null): string | null {
  return date ? new Date(date).toISOString() : null;
}
