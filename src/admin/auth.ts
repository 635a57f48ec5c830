import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { AdminCredential } from '../config.js';

// Bearer tokens compared in constant time (over digests, so length differences leak nothing).
// The matching token's name is who acted, for the audit trail.

export function requireAdmin(credentials: AdminCredential[]) {
  const digests = credentials.map((c) => ({ actor: c.actor, digest: digest(c.token) }));
  return (req: Request, res: Response, next: NextFunction): void => {
    const match = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
    const presented = match ? digest(match[1]!.trim()) : null;
    let actor: string | null = null;
    for (const candidate of digests) {
      if (presented && timingSafeEqual(presented, candidate.digest) && actor === null) actor = candidate.actor;
    }
    if (actor === null) {
      res.status(401).set('WWW-Authenticate', 'Bearer realm="admin"').json({ error: 'authorization: a valid Bearer token is required' });
      return;
    }
    res.locals.actor = actor;
    next();
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
