import { randomUUID } from 'node:crypto';
import { EntitySchema } from 'typeorm';
import type { Approval, Claimed, ExistingMessage, Finish, Listed, MessageRow, Page, Received, Refusal } from '../types.js';
import { Batcher } from './batch.js';
import type { Database } from './data-source.js';
import { employeeNosNamedSql, escapeLike, openidOfEmployeeSql } from './employees.js';
import { lastInteractionSql } from './wechat-users.js';

// The message log: every statement on `messages`. A push is recorded before anything is sent, and
// duplicates are serialised by the database, not by process memory, so replicas agree: a GUID is
// claimed with one INSERT … ON CONFLICT DO UPDATE … WHERE, which Postgres lets exactly one
// concurrent push win. No connection is held while WeChat is called: the claim is a lease.

/** Longer than any push may take (15 s), so only a push whose process died loses its claim. */
export const LEASE_SECONDS = 30;

export const MessageSchema = new EntitySchema<MessageRow>({
  name: 'Message',
  tableName: 'messages',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment' },
    guid: { type: 'text', nullable: true },
    status: { type: 'text' },
    receivedAt: { name: 'received_at', type: 'timestamptz' },
    updatedAt: { name: 'updated_at', type: 'timestamptz' },
    finishedAt: { name: 'finished_at', type: 'timestamptz', nullable: true },
    deliveredAt: { name: 'delivered_at', type: 'timestamptz', nullable: true },
    envelope: { type: 'text' },
    action: { type: 'text', nullable: true },
    senderId: { name: 'sender_id', type: 'text' },
    receiverId: { name: 'receiver_id', type: 'text' },
    employeeNo: { name: 'employee_no', type: 'text', nullable: true },
    contentType: { name: 'content_type', type: 'text', nullable: true },
    payload: { type: 'text' },
    approval: { type: 'jsonb', nullable: true },
    fingerprint: { type: 'text', nullable: true },
    openidMasked: { name: 'openid_masked', type: 'text', nullable: true },
    ackCode: { name: 'ack_code', type: 'text', nullable: true },
    reason: { type: 'text', nullable: true },
    ackXml: { name: 'ack_xml', type: 'text', nullable: true },
    texts: { type: 'jsonb' },
    wechatErrcode: { name: 'wechat_errcode', type: 'integer', nullable: true },
    wechatErrmsg: { name: 'wechat_errmsg', type: 'text', nullable: true },
    attempts: { type: 'jsonb' },
    pushCount: { name: 'push_count', type: 'integer' },
    lastPushAt: { name: 'last_push_at', type: 'timestamptz' },
    leaseUntil: { name: 'lease_until', type: 'timestamptz', nullable: true },
    claimedBy: { name: 'claimed_by', type: 'text', nullable: true },
    claimToken: { name: 'claim_token', type: 'uuid', nullable: true },
    acceptedParts: { name: 'accepted_parts', type: 'integer', array: true },
    partsTotal: { name: 'parts_total', type: 'integer', nullable: true },
    shortened: { type: 'boolean' },
    templateMsgids: { name: 'template_msgids', type: 'text', array: true },
    deliveryReport: { name: 'delivery_report', type: 'jsonb', nullable: true },
    erpAckCode: { name: 'erp_ack_code', type: 'text', nullable: true },
  },
});

/** The look-up for a claimed row: the openid (NULL: unbound) and when it last interacted (the window). */
function lookUpSql(employeeNoExpr: string): string {
  return `LEFT JOIN LATERAL (SELECT ${openidOfEmployeeSql(employeeNoExpr)} AS openid) lookup ON true`;
}
const LOOKED_UP = `lookup.openid, ${lastInteractionSql('lookup.openid')} AS last_interaction_at`;

// ---- the push path -----------------------------------------------------------------------------

export type Claim = ({ kind: 'claimed'; pushCount: number } & Claimed) | { kind: 'taken'; existing: ExistingMessage };

// Claims and outcomes go to Postgres in batches (db/batch.ts): each push's values are one element
// of a JSON array read by json_to_recordset, so a batch of any size is one named statement. The
// planner guesses 100 rows for any json_to_recordset; joined to messages that guess made the
// cached plan of the outcome UPDATE scan the whole table (6.7 ms a call at 200 pushes/s, most of
// Postgres' CPU). The ids as an array give it the primary-key path whatever the guess.
// Claims are inserted in GUID order: two batches that share GUIDs then wait on each other in the
// same order and cannot deadlock.
const CLAIM_AND_LOOK_UP = `
  WITH input AS (
    SELECT * FROM json_to_recordset($1::json) AS i(guid text, envelope text, action text, content_type text, payload text,
      sender_id text, receiver_id text, employee_no text, approval jsonb, fingerprint text, claimed_by text, claim_token uuid)
  ), claimed AS (
    INSERT INTO messages AS m (guid, status, envelope, action, content_type, payload, sender_id, receiver_id,
                               employee_no, approval, fingerprint, lease_until, claimed_by, claim_token)
    SELECT guid, 'processing', envelope, action, content_type, payload, sender_id, receiver_id,
           employee_no, approval, fingerprint, now() + make_interval(secs => ${LEASE_SECONDS}), claimed_by, claim_token
    FROM input ORDER BY guid
    ON CONFLICT (guid) WHERE status <> 'rejected' DO UPDATE SET
      status = 'processing', envelope = EXCLUDED.envelope, action = EXCLUDED.action,
      content_type = EXCLUDED.content_type, payload = EXCLUDED.payload, sender_id = EXCLUDED.sender_id,
      receiver_id = EXCLUDED.receiver_id, employee_no = EXCLUDED.employee_no, approval = EXCLUDED.approval,
      fingerprint = EXCLUDED.fingerprint, lease_until = EXCLUDED.lease_until, claimed_by = EXCLUDED.claimed_by,
      claim_token = EXCLUDED.claim_token, ack_code = NULL, reason = NULL,
      ack_xml = NULL, finished_at = NULL, push_count = m.push_count + 1, last_push_at = now(), updated_at = now()
    WHERE m.status IN ('failed', 'unknown') OR (m.status = 'processing' AND m.lease_until < now())
    RETURNING m.id, m.claim_token, m.employee_no, m.push_count, m.texts, m.accepted_parts
  )
  SELECT claimed.claim_token::text AS token, claimed.id::text AS id, claimed.push_count, claimed.texts, claimed.accepted_parts, ${LOOKED_UP}
  FROM claimed ${lookUpSql('claimed.employee_no')}`;

interface ClaimInput {
  guid: string;
  envelope: string;
  action: string | null;
  content_type: string | null;
  payload: string;
  sender_id: string;
  receiver_id: string;
  employee_no: string;
  approval: Approval;
  fingerprint: string;
  claimed_by: string;
  claim_token: string;
}

type ClaimRow = ClaimedSql & { token: string; push_count: number };

const BATCHING = { concurrency: 4, maxItems: 100, maxWeight: 1 << 20 } as const;

/** One batcher of each kind per database (pool), made on first use. */
function perDatabase<I, O>(make: (db: Database) => Batcher<I, O>): (db: Database) => Batcher<I, O> {
  const made = new WeakMap<Database, Batcher<I, O>>();
  return (db) => {
    let batcher = made.get(db);
    if (!batcher) made.set(db, (batcher = make(db)));
    return batcher;
  };
}

const claimBatcher = perDatabase<ClaimInput, ClaimRow | null>(
  (db) =>
    new Batcher(
      async (inputs) => {
        const rows = await db.named<ClaimRow>('bridge_claim_batch', CLAIM_AND_LOOK_UP, [JSON.stringify(inputs)]);
        const byToken = new Map(rows.map((r) => [r.token, r]));
        return inputs.map((i) => byToken.get(i.claim_token) ?? null);
      },
      { ...BATCHING, key: (i) => i.guid, weight: (i) => i.payload.length },
    ),
);

/**
 * Records the push and claims its GUID in one statement, and looks the applicant up in the same
 * round trip (the look-up step of the data path rides along to save a query on every push). A
 * GUID is claimable when new, when its last processing ended AE, or when its lease expired.
 * Otherwise the push is counted on the GUID's row and what that row says comes back.
 */
export async function claimAndLookUp(db: Database, received: Received, approval: Approval, fingerprint: string, claimant: string): Promise<Claim> {
  for (let round = 0; round < 4; round++) {
    const token = randomUUID();
    const claimed = await claimBatcher(db).submit({
      guid: approval.guid,
      envelope: received.envelope,
      action: received.action,
      content_type: received.contentType,
      payload: storable(received.bodyText),
      sender_id: approval.senderId,
      receiver_id: approval.receiverId,
      employee_no: approval.employeeNo,
      approval,
      fingerprint,
      claimed_by: claimant,
      claim_token: token,
    });
    if (claimed) return { kind: 'claimed', pushCount: claimed.push_count, ...toClaimed(claimed, token) };
    const existing = await countRepeat(db, approval.guid);
    if (existing) return { kind: 'taken', existing };
    // The holder finished with AE between our INSERT and this read: claim again (a race, rarely twice).
  }
  throw new Error(`could not claim or read message ${approval.guid}`);
}

/** A push of a GUID someone else holds: count it on that row, and read how the holder is doing. */
async function countRepeat(db: Database, guid: string): Promise<ExistingMessage | null> {
  const [row] = await db.query<ExistingSql>(
    `UPDATE messages SET push_count = push_count + 1, last_push_at = now()
     WHERE guid = $1 AND status <> 'rejected' AND NOT (status IN ('failed', 'unknown'))
     RETURNING ${EXISTING_COLUMNS}`,
    [guid],
  );
  return row ? toExisting(row) : null;
}

/**
 * An administrator's resend claims the GUID like a push does, so it cannot race an ERP re-push:
 * failed and unknown messages always, delivered ones only when forced.
 */
export async function claimForResend(db: Database, guid: string, force: boolean, claimant: string): Promise<(Claimed & { approval: Approval }) | null> {
  const token = randomUUID();
  const [row] = await db.query<ClaimedSql & { approval: Approval }>(
    `WITH claimed AS (
       UPDATE messages SET status = 'processing', lease_until = now() + make_interval(secs => ${LEASE_SECONDS}),
              claimed_by = $3, claim_token = $4, updated_at = now()
       WHERE guid = $1 AND approval IS NOT NULL
         AND (status IN ('failed', 'unknown') OR ($2 AND status IN ('delivered', 'sandbox'))
              OR (status = 'processing' AND lease_until < now()))
       RETURNING id, approval, employee_no, texts, accepted_parts
     )
     SELECT claimed.id::text AS id, claimed.approval, claimed.texts, claimed.accepted_parts, ${LOOKED_UP}
     FROM claimed ${lookUpSql('claimed.employee_no')}`,
    [guid, force, claimant, token],
  );
  return row ? { ...toClaimed(row, token), approval: row.approval } : null;
}

/** The state of the row that owns a GUID, if any. */
export async function messageState(db: Database, guid: string): Promise<ExistingMessage | null> {
  const [row] = await db.query<ExistingSql>(`SELECT ${EXISTING_COLUMNS} FROM messages WHERE guid = $1 AND status <> 'rejected'`, [guid]);
  return row ? toExisting(row) : null;
}

/** Whether any push of this GUID was kept, refused ones included. */
export async function guidSeen(db: Database, guid: string): Promise<boolean> {
  return (await db.query('SELECT 1 FROM messages WHERE guid = $1 LIMIT 1', [guid])).length > 0;
}

const FINISH = `
  UPDATE messages m SET status = f.status, ack_code = f.ack_code, reason = f.reason, ack_xml = COALESCE(f.ack_xml, m.ack_xml),
         texts = f.texts, attempts = m.attempts || f.attempts, wechat_errcode = f.errcode, wechat_errmsg = f.errmsg,
         openid_masked = f.openid_masked, accepted_parts = f.accepted_parts, parts_total = f.parts_total, shortened = f.shortened,
         template_msgids = m.template_msgids || f.msgids, erp_ack_code = COALESCE(f.erp_ack_code, m.erp_ack_code),
         lease_until = NULL, claim_token = NULL, finished_at = now(), updated_at = now(),
         delivered_at = CASE WHEN f.status = 'delivered' THEN now() ELSE m.delivered_at END
  FROM json_to_recordset($1::json) AS f(id bigint, token uuid, status text, ack_code text, reason text, ack_xml text,
    texts jsonb, attempts jsonb, errcode integer, errmsg text, openid_masked text, accepted_parts integer[],
    parts_total integer, shortened boolean, msgids text[], erp_ack_code text)
  WHERE m.id = ANY($2::bigint[]) AND m.id = f.id AND m.claim_token = f.token
  RETURNING m.id::text AS id`;

interface FinishInput {
  id: string;
  token: string;
  status: string;
  ack_code: string;
  reason: string;
  ack_xml: string | null;
  texts: string[];
  attempts: Finish['attempts'];
  errcode: number | null;
  errmsg: string | null;
  openid_masked: string | null;
  accepted_parts: number[];
  parts_total: number | null;
  shortened: boolean;
  msgids: string[];
  erp_ack_code: string | null;
}

const finishBatcher = perDatabase<FinishInput, boolean>(
  (db) =>
    new Batcher(
      async (inputs) => {
        const ids = inputs.map((i) => i.id);
        const written = new Set((await db.named<{ id: string }>('bridge_finish_batch', FINISH, [JSON.stringify(inputs), ids])).map((r) => r.id));
        return inputs.map((i) => written.has(i.id));
      },
      { ...BATCHING, key: (i) => i.id, weight: (i) => (i.ack_xml?.length ?? 0) + i.texts.reduce((n, t) => n + t.length, 0) },
    ),
);

/**
 * The outcome of a claim, committed before the answer leaves. Applies only to its own claim and
 * only once: false when another push has re-claimed the GUID or this outcome is already written
 * (a retry after Postgres lost the first answer).
 */
export function finishMessage(db: Database, id: string, finish: Finish): Promise<boolean> {
  return finishBatcher(db).submit({
    id,
    token: finish.token,
    status: finish.status,
    ack_code: finish.ackCode,
    reason: finish.reason,
    ack_xml: finish.ackXml,
    texts: finish.texts,
    attempts: finish.attempts,
    errcode: finish.errcode,
    errmsg: finish.errmsg,
    openid_masked: finish.openidMasked,
    accepted_parts: finish.acceptedParts,
    parts_total: finish.partsTotal,
    shortened: finish.shortened,
    msgids: finish.attempts.flatMap((a) => (a.msgid === undefined ? [] : [a.msgid])),
    erp_ack_code: finish.erpAckCode,
  });
}

/**
 * TEMPLATESENDJOBFINISH (§10): WeChat's report on a template message, kept on the message it was
 * sent for (matched by msgid as text). The ack the ERP got does not change. The GUID, or null when
 * no message sent that msgid.
 */
export async function recordDeliveryReport(db: Database, msgid: string, status: string): Promise<string | null> {
  const [row] = await db.query<{ guid: string }>(
    `UPDATE messages SET delivery_report = jsonb_build_object('status', $2::text, 'msgid', $1::text, 'at', now()), updated_at = now()
     WHERE template_msgids @> ARRAY[$1::text] RETURNING guid`,
    [msgid, status],
  );
  return row?.guid ?? null;
}

/** A push that never owned a GUID (unreadable, or conflicting with one that did): kept, answered, never processed. */
export async function recordRefusal(db: Database, received: Received, refusal: Refusal): Promise<void> {
  await db.query(
    `INSERT INTO messages (guid, status, envelope, action, content_type, payload, sender_id, receiver_id, employee_no,
                           approval, fingerprint, ack_code, erp_ack_code, reason, ack_xml, finished_at)
     VALUES ($1, 'rejected', $2, $3, $4, $5, $6, $7, $8, $9, $10, 'AE', 'AE', $11, $12, now())`,
    [
      refusal.guid && storable(refusal.guid),
      received.envelope,
      received.action,
      received.contentType && storable(received.contentType),
      storable(received.bodyText),
      storable(refusal.senderId),
      storable(refusal.receiverId),
      refusal.employeeNo,
      refusal.approval === null ? null : JSON.stringify(refusal.approval),
      refusal.fingerprint,
      storable(refusal.reason),
      refusal.ackXml,
    ],
  );
}

/**
 * The sweeper. Pushes whose process died mid-delivery: WeChat may or may not have the text, so
 * they become of unknown outcome, offered for resend. Any bridge releases claims whose lease ran
 * out; a restarted bridge also releases, at once, the claims its earlier self took before `startedAt`.
 */
export async function releaseAbandoned(db: Database, claimant: string, startedAt: Date | null = null): Promise<number> {
  const rows = await db.query(
    `UPDATE messages SET status = 'unknown', ack_code = 'AE', reason = '微信接口调用失败：处理中断（发送结果未知）',
            lease_until = NULL, finished_at = now(), updated_at = now()
     WHERE status = 'processing'
       AND (lease_until < now() - interval '5 seconds' OR (claimed_by = $1 AND updated_at < $2))
     RETURNING id`,
    [claimant, startedAt],
  );
  return rows.length;
}

// ---- administration ----------------------------------------------------------------------------

export type OutcomeFilter = 'AA' | 'AE' | 'unknown' | 'sandbox';

export interface MessageFilter extends Page {
  outcome: OutcomeFilter | null;
  employeeNo: string | null;
  guid: string | null;
  from: Date | null;
  to: Date | null;
  q: string | null;
}

const OUTCOME_CONDITION: Record<OutcomeFilter, string> = {
  AA: `m.ack_code = 'AA'`,
  AE: `m.ack_code = 'AE'`,
  unknown: `m.status = 'unknown'`,
  sandbox: `m.status = 'sandbox'`,
};

export async function listMessages(db: Database, filter: MessageFilter): Promise<Listed<MessageRow>> {
  const query = db.dataSource.getRepository(MessageSchema).createQueryBuilder('m');
  if (filter.outcome !== null) query.andWhere(OUTCOME_CONDITION[filter.outcome]);
  if (filter.employeeNo !== null) query.andWhere('m.employee_no = :employeeNo', { employeeNo: filter.employeeNo });
  // A GUID as people copy it: its beginning, in either letter case (lower(guid) is indexed for this).
  if (filter.guid !== null) query.andWhere('lower(m.guid) LIKE :guid', { guid: `${escapeLike(filter.guid.toLowerCase())}%` });
  if (filter.from !== null) query.andWhere('m.received_at >= :from', { from: filter.from });
  if (filter.to !== null) query.andWhere('m.received_at < :to', { to: filter.to });
  if (filter.q !== null) {
    // Reason, GUID, employee number, bill number (单据编号) or the applicant's name.
    query.andWhere(`(m.reason ILIKE :q OR m.guid ILIKE :q OR m.employee_no ILIKE :q OR m.approval->>'billNum' ILIKE :q OR m.employee_no IN ${employeeNosNamedSql(':q')})`, {
      q: `%${escapeLike(filter.q)}%`,
    });
  }
  const [items, total] = await query
    .select(['m.id', 'm.guid', 'm.receivedAt', 'm.employeeNo', 'm.ackCode', 'm.reason', 'm.status', 'm.envelope', 'm.action', 'm.pushCount', 'm.wechatErrcode', 'm.approval'])
    .orderBy('m.received_at', 'DESC')
    .addOrderBy('m.id', 'DESC')
    .take(filter.limit)
    .skip(filter.offset)
    .getManyAndCount();
  return { items, total };
}

/** The row that owns the GUID first, then any pushes of it that were refused. */
export async function messagesOfGuid(db: Database, guid: string): Promise<MessageRow[]> {
  return db.dataSource
    .getRepository(MessageSchema)
    .createQueryBuilder('m')
    .where('m.guid = :guid', { guid })
    .orderBy(`(m.status = 'rejected')`)
    .addOrderBy('m.received_at', 'DESC')
    .addOrderBy('m.id', 'DESC')
    .getMany();
}

export async function messageById(db: Database, id: string): Promise<MessageRow | null> {
  return db.dataSource.getRepository(MessageSchema).findOneBy({ id });
}

export interface OutcomeCounts {
  /** Message rows (one per GUID that owned it, plus each refused push). */
  total: number;
  /** The current outcome by ack code, as before (AA includes sandbox). */
  AA: number;
  AE: number;
  unknown: number;
  sandbox: number;
  /** Pushes received: every push of a GUID (duplicates included) and every refused push. */
  pushes: number;
  /** GUIDs the bridge processed (refused pushes not counted). */
  messages: number;
  /** What the ERP was told when it pushed; resends do not change it. */
  erpTold: { AA: number; AE: number };
  /** The current state of each message, after any resends: sandbox is not a success, unknown is not AE. */
  current: { delivered: number; failed: number; unknown: number; sandbox: number; processing: number; refused: number };
}

const COUNTS = (since: string, name: string): string[] => [
  `count(*) FILTER (WHERE received_at >= ${since}) AS ${name}_total`,
  `count(*) FILTER (WHERE received_at >= ${since} AND ack_code = 'AA') AS ${name}_aa`,
  `count(*) FILTER (WHERE received_at >= ${since} AND ack_code = 'AE') AS ${name}_ae`,
  `coalesce(sum(push_count) FILTER (WHERE received_at >= ${since}), 0) AS ${name}_pushes`,
  `count(*) FILTER (WHERE received_at >= ${since} AND erp_ack_code = 'AA') AS ${name}_erp_aa`,
  `count(*) FILTER (WHERE received_at >= ${since} AND erp_ack_code = 'AE') AS ${name}_erp_ae`,
  ...['delivered', 'failed', 'unknown', 'sandbox', 'processing', 'rejected'].map((status) => `count(*) FILTER (WHERE received_at >= ${since} AND status = '${status}') AS ${name}_${status}`),
];

export async function countOutcomes(db: Database, startOfToday: Date): Promise<{ today: OutcomeCounts; last24h: OutcomeCounts; last7d: OutcomeCounts }> {
  const windows = { today: '$1::timestamptz', last24h: `now() - interval '24 hours'`, last7d: `now() - interval '7 days'` };
  const columns = Object.entries(windows).flatMap(([name, since]) => COUNTS(since, name));
  const [row] = await db.query<Record<string, string>>(`SELECT ${columns.join(', ')} FROM messages WHERE received_at >= LEAST($1::timestamptz, now() - interval '7 days')`, [startOfToday]);
  const n = (key: string): number => Number(row![key]);
  const counts = (name: string): OutcomeCounts => ({
    total: n(`${name}_total`),
    AA: n(`${name}_aa`),
    AE: n(`${name}_ae`),
    unknown: n(`${name}_unknown`),
    sandbox: n(`${name}_sandbox`),
    pushes: n(`${name}_pushes`),
    messages: n(`${name}_total`) - n(`${name}_rejected`),
    erpTold: { AA: n(`${name}_erp_aa`), AE: n(`${name}_erp_ae`) },
    current: {
      delivered: n(`${name}_delivered`),
      failed: n(`${name}_failed`),
      unknown: n(`${name}_unknown`),
      sandbox: n(`${name}_sandbox`),
      processing: n(`${name}_processing`),
      refused: n(`${name}_rejected`),
    },
  });
  return { today: counts('today'), last24h: counts('last24h'), last7d: counts('last7d') };
}

export interface SeriesBucket {
  start: string;
  /** Delivered (sandbox not counted). */
  AA: number;
  /** Failed or refused. */
  AE: number;
  unknown: number;
  sandbox: number;
}

/** Messages per hour for the last 24 hours, or per day for the last 7 (in the server's time zone), empty buckets included. */
export async function outcomeSeries(db: Database, range: '24h' | '7d'): Promise<SeriesBucket[]> {
  const [unit, count] = range === '24h' ? ['hour', 24] : ['day', 7];
  const rows = await db.query<{ start: Date; aa: string; ae: string; unknown: string; sandbox: string }>(
    `WITH buckets AS (
       SELECT generate_series(date_trunc('${unit}', now()) - make_interval(${unit}s => ${count - 1}), date_trunc('${unit}', now()), interval '1 ${unit}') AS start
     )
     SELECT b.start,
            count(m.id) FILTER (WHERE m.status = 'delivered') AS aa,
            count(m.id) FILTER (WHERE m.status IN ('failed', 'rejected')) AS ae,
            count(m.id) FILTER (WHERE m.status = 'unknown') AS unknown,
            count(m.id) FILTER (WHERE m.status = 'sandbox') AS sandbox
     FROM buckets b LEFT JOIN messages m ON m.received_at >= b.start AND m.received_at < b.start + interval '1 ${unit}'
     GROUP BY b.start ORDER BY b.start`,
  );
  return rows.map((r) => ({ start: new Date(r.start).toISOString(), AA: Number(r.aa), AE: Number(r.ae), unknown: Number(r.unknown), sandbox: Number(r.sandbox) }));
}

// ---- rows as the SQL above returns them --------------------------------------------------------

/** Postgres text cannot hold NUL; a body carrying one is still kept, with U+FFFD in its place. */
function storable(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

interface ClaimedSql {
  id: string;
  openid: string | null;
  last_interaction_at: Date | null;
  texts: string[];
  accepted_parts: number[];
}

function toClaimed(row: ClaimedSql, token: string): Claimed {
  return { id: row.id, token, openid: row.openid, lastInteractionAt: row.last_interaction_at, previousTexts: row.texts, acceptedParts: row.accepted_parts };
}

const EXISTING_COLUMNS = `status, fingerprint, ack_code, reason, finished_at, (lease_until IS NOT NULL AND lease_until < now()) AS lease_expired`;

interface ExistingSql {
  status: ExistingMessage['status'];
  fingerprint: string | null;
  ack_code: ExistingMessage['ackCode'];
  reason: string | null;
  finished_at: Date | null;
  lease_expired: boolean;
}

function toExisting(row: ExistingSql): ExistingMessage {
  return { status: row.status, fingerprint: row.fingerprint, ackCode: row.ack_code, reason: row.reason, finishedAt: row.finished_at, leaseExpired: row.lease_expired };
}
