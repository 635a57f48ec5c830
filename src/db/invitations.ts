import { EntitySchema, In } from 'typeorm';
import type { InvitationRow } from '../types.js';
import type { Database, Tx } from './data-source.js';

// Invitations to bind (contract §9): every statement on `invitations`. A code or scene is used at
// most once: using it is one UPDATE … WHERE unused, so two scans of one QR bind once.

export const InvitationSchema = new EntitySchema<InvitationRow>({
  name: 'Invitation',
  tableName: 'invitations',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment' },
    employeeNo: { name: 'employee_no', type: 'text' },
    code: { type: 'text' },
    scene: { type: 'text' },
    qrTicket: { name: 'qr_ticket', type: 'text', nullable: true },
    qrUrl: { name: 'qr_url', type: 'text', nullable: true },
    createdAt: { name: 'created_at', type: 'timestamptz' },
    createdBy: { name: 'created_by', type: 'text' },
    expiresAt: { name: 'expires_at', type: 'timestamptz' },
    usedAt: { name: 'used_at', type: 'timestamptz', nullable: true },
    usedBy: { name: 'used_by', type: 'text', nullable: true },
    revokedAt: { name: 'revoked_at', type: 'timestamptz', nullable: true },
  },
});

/** Unused, not replaced by a newer one, not expired. */
const openIn = (alias: string): string => `${alias}.used_at IS NULL AND ${alias}.revoked_at IS NULL AND ${alias}.expires_at > now()`;
const OPEN = openIn('invitations');

/** A LATERAL subquery (alias `inv`: code, expires_at) with the employee's latest open invitation. */
export function latestOpenInvitationSql(employeeNoExpr: string): string {
  return `LEFT JOIN LATERAL (SELECT i.code, i.expires_at FROM invitations i WHERE i.employee_no = ${employeeNoExpr} AND ${openIn('i')}
                            ORDER BY i.created_at DESC LIMIT 1) inv ON true`;
}

export interface NewInvitation {
  employeeNo: string;
  code: string;
  scene: string;
  createdBy: string;
  expiresInHours: number;
  /** WeChat's QR code for the scene (live mode). */
  qr: { ticket: string; url: string } | null;
}

/** A new invitation replaces the employee's earlier unused ones: only the latest slip binds. */
export async function insertInvitation(tx: Tx, invitation: NewInvitation): Promise<InvitationRow> {
  await tx.query(`UPDATE invitations SET revoked_at = now() WHERE employee_no = $1 AND ${OPEN}`, [invitation.employeeNo]);
  const [row] = await tx.query<RawInvitation>(
    `INSERT INTO invitations (employee_no, code, scene, created_by, expires_at, qr_ticket, qr_url)
     VALUES ($1, $2, $3, $4, now() + make_interval(hours => $5), $6, $7) RETURNING *`,
    [invitation.employeeNo, invitation.code, invitation.scene, invitation.createdBy, invitation.expiresInHours, invitation.qr?.ticket ?? null, invitation.qr?.url ?? null],
  );
  return fromRaw(row!);
}

/** An employee deleted: their open invitations bind nothing any more. */
export async function revokeInvitations(tx: Tx, employeeNo: string): Promise<void> {
  await tx.query(`UPDATE invitations SET revoked_at = now() WHERE employee_no = $1 AND ${OPEN}`, [employeeNo]);
}

/** Uses an open invitation by its code or its QR scene; null when unknown, used, revoked or expired. */
export async function useInvitation(tx: Tx, by: { code: string } | { scene: string }, openidMasked: string): Promise<InvitationRow | null> {
  const [column, value] = 'code' in by ? ['code', by.code] : ['scene', by.scene];
  const [row] = await tx.query<RawInvitation>(`UPDATE invitations SET used_at = now(), used_by = $2 WHERE ${column} = $1 AND ${OPEN} RETURNING *`, [value, openidMasked]);
  return row ? fromRaw(row) : null;
}

/** An invitation by its code or scene, whatever its state (to tell "already yours" from "unknown"). */
export async function findInvitation(db: Database, by: { code: string } | { scene: string }): Promise<InvitationRow | null> {
  const [column, value] = 'code' in by ? ['code', by.code] : ['scene', by.scene];
  const [row] = await db.query<RawInvitation>(`SELECT * FROM invitations WHERE ${column} = $1`, [value]);
  return row ? fromRaw(row) : null;
}

/** The latest invitation of each employee still open, for printing slips and showing status. */
export async function openInvitations(db: Database, employeeNos: string[]): Promise<InvitationRow[]> {
  if (employeeNos.length === 0) return [];
  const rows = await db.query<RawInvitation>(
    `SELECT DISTINCT ON (employee_no) * FROM invitations WHERE employee_no = ANY($1::text[]) AND ${OPEN} ORDER BY employee_no, created_at DESC`,
    [employeeNos],
  );
  return rows.map(fromRaw);
}

export type InvitationStatus = 'open' | 'used' | 'expired' | 'revoked';

const STATUS = `CASE WHEN i.used_at IS NOT NULL THEN 'used' WHEN i.revoked_at IS NOT NULL THEN 'revoked'
                    WHEN i.expires_at <= now() THEN 'expired' ELSE 'open' END`;

export interface InvitationListItem {
  employeeNo: string;
  name: string;
  code: string;
  status: InvitationStatus;
  createdAt: string;
  createdBy: string;
  expiresAt: string;
  usedAt: string | null;
}

export async function listInvitations(
  db: Database,
  filter: { employeeNo: string | null; status: InvitationStatus | null; limit: number; offset: number },
): Promise<{ items: InvitationListItem[]; total: number }> {
  const where = `($1::text IS NULL OR i.employee_no = $1) AND ($2::text IS NULL OR ${STATUS} = $2)`;
  const params = [filter.employeeNo, filter.status];
  const [rows, [count]] = await Promise.all([
    db.query<RawInvitation & { status: InvitationStatus; name: string | null }>(
      `SELECT i.*, ${STATUS} AS status, e.name FROM invitations i LEFT JOIN employees e ON e.employee_no = i.employee_no
       WHERE ${where} ORDER BY i.created_at DESC, i.id DESC LIMIT $3 OFFSET $4`,
      [...params, filter.limit, filter.offset],
    ),
    db.query<{ n: string }>(`SELECT count(*) AS n FROM invitations i WHERE ${where}`, params),
  ]);
  return {
    items: rows.map((r) => ({
      employeeNo: r.employee_no,
      name: r.name ?? '',
      code: r.code,
      status: r.status,
      createdAt: new Date(r.created_at).toISOString(),
      createdBy: r.created_by,
      expiresAt: new Date(r.expires_at).toISOString(),
      usedAt: r.used_at ? new Date(r.used_at).toISOString() : null,
    })),
    total: Number(count?.n ?? 0),
  };
}

export async function invitationsOf(db: Database, employeeNos: string[]): Promise<InvitationRow[]> {
  return db.dataSource.getRepository(InvitationSchema).find({ where: { employeeNo: In(employeeNos) }, order: { createdAt: 'DESC' } });
}

interface RawInvitation {
  id: string;
  employee_no: string;
  code: string;
  scene: string;
  qr_ticket: string | null;
  qr_url: string | null;
  created_at: Date;
  created_by: string;
  expires_at: Date;
  used_at: Date | null;
  used_by: string | null;
  revoked_at: Date | null;
}

function fromRaw(r: RawInvitation): InvitationRow {
  return {
    id: String(r.id),
    employeeNo: r.employee_no,
    code: r.code,
    scene: r.scene,
    qrTicket: r.qr_ticket,
    qrUrl: r.qr_url,
    createdAt: r.created_at,
    createdBy: r.created_by,
    expiresAt: r.expires_at,
    usedAt: r.used_at,
    usedBy: r.used_by,
    revokedAt: r.revoked_at,
  };
}
