import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AdminCredential } from '../config.js';
import type { Logger } from '../log.js';

// Without ADMIN_TOKEN, the admin token is generated once and kept in DATA_DIR/admin-token (0600),
// so the token an administrator wrote down still works after a restart. It is printed only the
// time it is made.

export const ADMIN_TOKEN_FILE = 'admin-token';

export async function adminTokenFromDataDir(dataDir: string, log: Logger): Promise<AdminCredential> {
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  const kept = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (kept.length >= 8) {
    log.info({ file }, 'ADMIN_TOKEN is not set: using the admin token kept in this file');
    return { actor: 'admin', token: kept };
  }
  await mkdir(dataDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  // 'wx': never overwrite a token another process has just written.
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: kept === '' ? 'wx' : 'w' }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const stored = (await readFile(file, 'utf8')).trim();
  log.warn(
    { adminToken: stored, file },
    'ADMIN_TOKEN is not set: generated this admin token, shown only now; it is kept in the file named here (mode 0600) and survives restarts',
  );
  return { actor: 'admin', token: stored };
}

/**
 * A cluster worker's copy: the primary made or found the token before forking, and has said so
 * in the log once; each worker only reads it.
 */
export async function keptAdminToken(dataDir: string): Promise<AdminCredential> {
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  const kept = (await readFile(file, 'utf8')).trim();
  if (kept.length < 8) throw new Error(`${file} holds no admin token (it changed after start-up)`);
  return { actor: 'admin', token: kept };
}
