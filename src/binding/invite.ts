import type { Database } from '../db/data-source.js';
import { recordChange } from '../db/employee-audit.js';
import { ensureEmployee, getEmployee } from '../db/employees.js';
import { insertInvitation } from '../db/invitations.js';
import type { InvitationRow } from '../types.js';
import { newBindCode, newScene } from './codes.js';
import { qrSvg } from './qr-svg.js';

// Inviting an employee to bind their own WeChat (contract §9): the employee is created when absent,
// a single-use code and QR scene are drawn, and in live mode WeChat makes the QR code first — if it
// cannot, nothing is written and the administrator is told why.

export const DEFAULT_EXPIRES_HOURS = 72;
export const MAX_EXPIRES_HOURS = 720;

/** WeChat's qrcode/create (live mode); null in sandbox mode, where invitations carry the code only. */
export type QrMaker = ((scene: string, expireSeconds: number) => Promise<{ ticket: string; url: string }>) | null;

export interface InvitationView {
  employeeNo: string;
  name: string;
  code: string;
  expiresAt: string;
  qr: { url: string; ticket: string; svg?: string } | null;
}

export interface InviteOptions {
  name: string | null;
  expiresInHours: number;
  actor: string;
  /** The QR image as SVG in the answer (one employee); a bulk answer leaves it out. */
  withSvg: boolean;
}

/** Codes and scenes are unique in the table; a collision (about 1 in 10^11) just draws again. */
const DRAWS = 3;

export async function invite(db: Database, makeQr: QrMaker, employeeNo: string, options: InviteOptions): Promise<InvitationView> {
  const scene = newScene();
  const qr = makeQr === null ? null : await makeQr(scene, options.expiresInHours * 3600);
  const row = await withFreshCode((code) =>
    db.transaction(async (tx) => {
      await ensureEmployee(tx, employeeNo, options.name, options.actor);
      const created = await insertInvitation(tx, { employeeNo, code, scene, createdBy: options.actor, expiresInHours: options.expiresInHours, qr });
      await recordChange(tx, options.actor, 'api', { employeeNo, action: 'invite', before: null, after: null });
      return created;
    }),
  );
  const employee = await getEmployee(db, employeeNo);
  return view(row, employee?.name ?? '', options.withSvg);
}

async function withFreshCode(write: (code: string) => Promise<InvitationRow>): Promise<InvitationRow> {
  for (let draw = 1; ; draw++) {
    try {
      return await write(newBindCode());
    } catch (err) {
      if (draw >= DRAWS || (err as { code?: unknown }).code !== '23505') throw err;
    }
  }
}

export async function view(row: InvitationRow, name: string, withSvg: boolean): Promise<InvitationView> {
  const qr = row.qrTicket === null || row.qrUrl === null ? null : { url: row.qrUrl, ticket: row.qrTicket, ...(withSvg ? { svg: await qrSvg(row.qrUrl) } : {}) };
  return { employeeNo: row.employeeNo, name, code: row.code, expiresAt: row.expiresAt.toISOString(), qr };
}
