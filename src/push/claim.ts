import { createHash } from 'node:crypto';
import { claimAndLookUp as claimInDatabase, type Claim } from '../db/messages.js';
import type { Approval, Received } from '../types.js';
import type { PushContext } from './context.js';

// The record and look-up steps: the push is recorded and its GUID claimed (or found taken) in
// Postgres, and the applicant's openid looked up in the same round trip.

export function claimAndLookUp(ctx: PushContext, received: Received, approval: Approval, fingerprint: string): Promise<Claim> {
  return claimInDatabase(ctx.db, received, approval, fingerprint, ctx.identity.claimant);
}

/**
 * "Same content" for duplicate detection: the approval's fields, however the push was wrapped and
 * whenever its envelope was made. Version 1 is this explicit list, in this order, so a field added
 * to the approval later cannot change the fingerprints already stored (it gives the same hash as
 * the JSON of the approval had before the list was written down).
 */
export function fingerprintOf(a: Approval): string {
  const v1 = {
    guid: a.guid,
    senderId: a.senderId,
    receiverId: a.receiverId,
    employeeNo: a.employeeNo,
    operator: a.operator,
    billType: a.billType,
    billNum: a.billNum,
    approvalDate: a.approvalDate,
    approvalOpinion: a.approvalOpinion,
    items: a.items.map((i) => ({ pi: i.pi, cardNum: i.cardNum, projectName: i.projectName })),
  };
  return createHash('sha256').update(JSON.stringify(v1)).digest('hex');
}
