import type { Database } from '../db/data-source.js';
import { bindSelf, getEmployee, setUnfollowed, unbindOpenid } from '../db/employees.js';
import { findInvitation, useInvitation } from '../db/invitations.js';
import { bindingBlocked, countFailedBind, setFollowing } from '../db/wechat-users.js';
import { maskOpenid } from '../log.js';

// Self-service binding (contract §9): what an employee's own WeChat can do to its mapping. Each
// function answers what happened; the callback turns that into the reply text (callback/replies.ts).

export type BindResult =
  | { kind: 'bound'; employeeNo: string; name: string }
  /** The invitation was used already, by this very openid, which is still bound to it: a second scan of one slip. */
  | { kind: 'already-bound'; employeeNo: string; name: string }
  | { kind: 'invalid' }
  /** Too many failed codes from this openid within the hour: the code was not even checked. */
  | { kind: 'blocked' };

export type InvitationKey = { code: string } | { scene: string };

/**
 * Uses the invitation and binds `openid` to its employee in one transaction: two scans of one QR
 * code, or a scan racing a typed code, bind once. A failed code counts towards the limit; a QR
 * scene does not (scenes are too long to guess, and scanning an old slip twice is no attack).
 */
export async function bindByInvitation(db: Database, key: InvitationKey, openid: string): Promise<BindResult> {
  const byCode = 'code' in key;
  if (byCode && (await bindingBlocked(db, openid))) return { kind: 'blocked' };
  const bound = await db.transaction(async (tx) => {
    const invitation = await useInvitation(tx, key, maskOpenid(openid));
    return invitation === null ? null : bindSelf(tx, invitation.employeeNo, openid);
  });
  if (bound) return { kind: 'bound', employeeNo: bound.employeeNo, name: bound.name };
  const again = await alreadyBound(db, key, openid);
  if (again) return again;
  if (byCode) await countFailedBind(db, openid);
  return { kind: 'invalid' };
}

/** A bind command whose code cannot be an invitation code at all: a failure all the same. */
export async function refuseMalformedCode(db: Database, openid: string): Promise<BindResult> {
  if (await bindingBlocked(db, openid)) return { kind: 'blocked' };
  await countFailedBind(db, openid);
  return { kind: 'invalid' };
}

async function alreadyBound(db: Database, key: InvitationKey, openid: string): Promise<BindResult | null> {
  const invitation = await findInvitation(db, key);
  if (!invitation || invitation.usedAt === null) return null;
  const employee = await getEmployee(db, invitation.employeeNo);
  return employee?.openid === openid ? { kind: 'already-bound', employeeNo: employee.employeeNo, name: employee.name } : null;
}

/** `解绑`: the employee numbers this openid was bound to (none: nothing to undo). */
export async function unbind(db: Database, openid: string): Promise<string[]> {
  const rows = await db.transaction((tx) => unbindOpenid(tx, openid));
  return rows.map((r) => r.employeeNo);
}

/** subscribe / unsubscribe: whether the account is followed, and the employees bound to the openid. */
export async function setFollowed(db: Database, openid: string, following: boolean): Promise<string[]> {
  await setFollowing(db, openid, following);
  const rows = await db.transaction((tx) => setUnfollowed(tx, openid, !following));
  return rows.map((r) => r.employeeNo);
}
