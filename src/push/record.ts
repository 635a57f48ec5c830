import { createHash, randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { AckCode, Approval, DeliveryAttempt, EnvelopeKind, MessageStatus } from '../types.js';

// The message log in Postgres. A push is recorded before anything is sent, and duplicates are
// serialised by the database, not by process memory, so replicas behind a load balancer agree:
// the row for a GUID is claimed with one INSERT … ON CONFLICT DO UPDATE … WHERE, which Postgres
// lets exactly one concurrent push win. No connection is held while WeChat is called: the claim
// is a lease (`lease_until`), not a lock.

/** Longer than any push may take (15 s), so only a push whose process died loses its claim. */
export const LEASE_SECONDS = 30;

export interface Received {
  envelope: EnvelopeKind;
  action: string | null;
  contentType: string | null;
  bodyText: string;
}

/** A claim of a GUID: whose it is (the token), whom to send to, and what an earlier claim already sent. */
export interface Claimed {
  id: string;
  token: string;
  openid: string | null;
  /** The parts an earlier claim of this GUID sent, and which of them WeChat accepted (1-based). */
  previousTexts: string[];
  acceptedParts: number[];
}

export type Claim = ({ kind: 'claimed'; pushCount: number } & Claimed) | { kind: 'taken'; row: ExistingRow };

export interface ExistingRow {
  status: MessageStatus;
  fingerprint: string | null;
  ackCode: AckCode | null;
  reason: string | null;
  finishedAt: Date | null;
  leaseExpired: boolean;
}

export interface Finish {
  /** The claim this outcome belongs to: a finish applies once, and only while that claim holds. */
  token: string;
  status: MessageStatus;
  ackCode: AckCode;
  reason: string;
  /** Null keeps the ack already returned to the ERP (an administrator's resend answers no one). */
  ackXml: string | null;
  texts: string[];
  attempts: DeliveryAttempt[];
  errcode: number | null;
  errmsg: string | null;
  openidMasked: string | null;
  acceptedParts: number[];
  partsTotal: number | null;
  shortened: boolean;
}

/** Postgres text cannot hold NUL; a body carrying one is still kept, with U+FFFD in its place. */
function storable(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

/** Same approval content, however it was wrapped or when the envelope was generated. */
export function fingerprintOf(approval: Approval): string {
  return createHash('sha256').update(JSON.stringify(approval)).digest('hex');
}

export class MessageLog {
  /**
   * This bridge's stable identity, host:port, set once the port is bound. Only one process can
   * listen on a host's port, so claims held under this name by an earlier process are abandoned.
   */
  claimant = '';

  constructor(private readonly db: Db) {}

  /**
   * Records the push and claims its GUID in one statement, and looks the applicant up in the same
   * round trip (the look-up step of the data path rides along to save a query on every push).
   * A GUID is claimable when new, when its last processing ended AE, or when its lease expired.
   */
  async claim(received: Received, approval: Approval, fingerprint: string, round = 0): Promise<Claim> {
    const token = randomUUID();
    const rows = await this.db.prepared<ClaimedRow & { push_count: number }>(
      'claim-message',
      `WITH claimed AS (
         INSERT INTO messages AS m (guid, status, envelope, action, content_type, payload, sender_id, receiver_id,
                                    employee_no, approval, fingerprint, lease_until, claimed_by, claim_token)
         VALUES ($1, 'processing', $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + make_interval(secs => ${LEASE_SECONDS}), $11, $12)
         ON CONFLICT (guid) WHERE status <> 'rejected' DO UPDATE SET
           status = 'processing', envelope = EXCLUDED.envelope, action = EXCLUDED.action,
           content_type = EXCLUDED.content_type, payload = EXCLUDED.payload, sender_id = EXCLUDED.sender_id,
           receiver_id = EXCLUDED.receiver_id, employee_no = EXCLUDED.employee_no, approval = EXCLUDED.approval,
           fingerprint = EXCLUDED.fingerprint, lease_until = EXCLUDED.lease_until, claimed_by = EXCLUDED.claimed_by,
           claim_token = EXCLUDED.claim_token, ack_code = NULL, reason = NULL,
           ack_xml = NULL, finished_at = NULL, push_count = m.push_count + 1, last_push_at = now(), updated_at = now()
         WHERE m.status IN ('failed', 'unknown') OR (m.status = 'processing' AND m.lease_until < now())
         RETURNING m.id, m.push_count, m.texts, m.accepted_parts
       )
       SELECT claimed.id::text AS id, claimed.push_count, claimed.texts, claimed.accepted_parts,
              (SELECT e.openid FROM employees e WHERE e.employee_no = $8 AND e.active) AS openid
       FROM claimed`,
      [
        approval.guid,
        received.envelope,
        received.action,
        received.contentType,
        storable(received.bodyText),
        approval.senderId,
        approval.receiverId,
        approval.employeeNo,
        JSON.stringify(approval),
        fingerprint,
        this.claimant,
        token,
      ],
    );
    const claimed = rows[0];
    if (claimed) return { kind: 'claimed', pushCount: claimed.push_count, ...toClaimed(claimed, token) };
    const row = await this.countRepeat(approval.guid);
    if (row) return { kind: 'taken', row };
    // The owner finished with AE between our INSERT and this read: claim again (a race, so rarely more than once).
    if (round >= 3) throw new Error(`could not claim or read message ${approval.guid}`);
    return this.claim(received, approval, fingerprint, round + 1);
  }

  /** A push of a GUID someone else owns: count it on that row, and read how the owner is doing. */
  private async countRepeat(guid: string): Promise<ExistingRow | null> {
    const row = await this.db.one<ExistingRowDb>(
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
  async claimForResend(guid: string, force: boolean): Promise<(Claimed & { approval: Approval }) | null> {
    const token = randomUUID();
    const row = await this.db.one<ClaimedRow & { approval: Approval }>(
      `WITH claimed AS (
         UPDATE messages SET status = 'processing', lease_until = now() + make_interval(secs => ${LEASE_SECONDS}),
                claimed_by = $3, claim_token = $4, updated_at = now()
         WHERE guid = $1 AND approval IS NOT NULL
           AND (status IN ('failed', 'unknown') OR ($2 AND status IN ('delivered', 'sandbox'))
                OR (status = 'processing' AND lease_until < now()))
         RETURNING id, approval, employee_no, texts, accepted_parts
       )
       SELECT claimed.id::text AS id, claimed.approval, claimed.texts, claimed.accepted_parts,
              (SELECT e.openid FROM employees e WHERE e.employee_no = claimed.employee_no AND e.active) AS openid
       FROM claimed`,
      [guid, force, this.claimant, token],
    );
    return row ? { ...toClaimed(row, token), approval: row.approval } : null;
  }

  /** Whether any push of this GUID was kept, refused ones included. */
  async seen(guid: string): Promise<boolean> {
    return (await this.db.rows('SELECT 1 FROM messages WHERE guid = $1 LIMIT 1', [guid])).length > 0;
  }

  async read(guid: string): Promise<ExistingRow | null> {
    const row = await this.db.one<ExistingRowDb>(`SELECT ${EXISTING_COLUMNS} FROM messages WHERE guid = $1 AND status <> 'rejected'`, [guid]);
    return row ? toExisting(row) : null;
  }

  /**
   * The outcome, committed durably (an AA leaves only after this returns). Applies only to its own
   * claim and only once: false when another push has re-claimed the GUID or this outcome is
   * already written (a retry after Postgres lost the first answer).
   */
  async finish(id: string, finish: Finish): Promise<boolean> {
    const rows = await this.db.prepared<{ id: string }>(
      'finish-message',
      `UPDATE messages SET status = $2, ack_code = $3, reason = $4, ack_xml = COALESCE($5, ack_xml), texts = $6, attempts = attempts || $7::jsonb,
              wechat_errcode = $8, wechat_errmsg = $9, openid_masked = $10, accepted_parts = $12, parts_total = $13, shortened = $14,
              lease_until = NULL, claim_token = NULL, finished_at = now(), updated_at = now(),
              delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END
       WHERE id = $1 AND claim_token = $11
       RETURNING id`,
      [
        id,
        finish.status,
        finish.ackCode,
        finish.reason,
        finish.ackXml,
        JSON.stringify(finish.texts),
        JSON.stringify(finish.attempts),
        finish.errcode,
        finish.errmsg,
        finish.openidMasked,
        finish.token,
        finish.acceptedParts,
        finish.partsTotal,
        finish.shortened,
      ],
    );
    return rows.length > 0;
  }

  /** A push that never owned a GUID (unreadable, or conflicting with one that did): kept, answered, never processed. */
  async reject(received: Received, fields: { guid: string | null; senderId: string; receiverId: string; employeeNo: string | null; approval: Approval | null; fingerprint: string | null; reason: string; ackXml: string }): Promise<void> {
    await this.db.rows(
      `INSERT INTO messages (guid, status, envelope, action, content_type, payload, sender_id, receiver_id, employee_no,
                             approval, fingerprint, ack_code, reason, ack_xml, finished_at)
       VALUES ($1, 'rejected', $2, $3, $4, $5, $6, $7, $8, $9, $10, 'AE', $11, $12, now())`,
      [
        fields.guid && storable(fields.guid),
        received.envelope,
        received.action,
        received.contentType && storable(received.contentType),
        storable(received.bodyText),
        storable(fields.senderId),
        storable(fields.receiverId),
        fields.employeeNo,
        fields.approval === null ? null : JSON.stringify(fields.approval),
        fields.fingerprint,
        storable(fields.reason),
        fields.ackXml,
      ],
    );
  }

  /**
   * Pushes whose process died mid-delivery: WeChat may or may not have the text, so they become
   * of unknown outcome, offered for resend. Any bridge releases claims whose lease ran out; a
   * restarted bridge also releases, at once, the claims its earlier self took before `startedAt`.
   */
  async markAbandoned(startedAt: Date | null = null): Promise<number> {
    const rows = await this.db.rows(
      `UPDATE messages SET status = 'unknown', ack_code = 'AE', reason = '微信接口调用失败：处理中断（发送结果未知）',
              lease_until = NULL, finished_at = now(), updated_at = now()
       WHERE status = 'processing'
         AND (lease_until < now() - interval '5 seconds' OR (claimed_by = $1 AND updated_at < $2))
       RETURNING id`,
      [this.claimant, startedAt],
    );
    return rows.length;
  }
}

interface ClaimedRow {
  id: string;
  openid: string | null;
  texts: string[];
  accepted_parts: number[];
}

function toClaimed(row: ClaimedRow, token: string): Claimed {
  return { id: row.id, token, openid: row.openid, previousTexts: row.texts, acceptedParts: row.accepted_parts };
}

const EXISTING_COLUMNS = `status, fingerprint, ack_code, reason, finished_at, (lease_until IS NOT NULL AND lease_until < now()) AS lease_expired`;

interface ExistingRowDb {
  status: MessageStatus;
  fingerprint: string | null;
  ack_code: AckCode | null;
  reason: string | null;
  finished_at: Date | null;
  lease_expired: boolean;
}

function toExisting(row: ExistingRowDb): ExistingRow {
  return {
    status: row.status,
    fingerprint: row.fingerprint,
    ackCode: row.ack_code,
    reason: row.reason,
    finishedAt: row.finished_at,
    leaseExpired: row.lease_expired,
  };
}
