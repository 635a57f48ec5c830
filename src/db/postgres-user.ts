import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, chmod, lstat, mkdir, realpath, rename, stat, symlink } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../config.js';
import type { Logger } from '../log.js';

// Postgres refuses to run as root. As an ordinary user the embedded cluster runs as that user; as
// root it runs as the OS user `postgres` (created when missing), which must be able to reach both
// the binaries and the cluster. Where it cannot (a checkout or DATA_DIR under a 0700 home), the
// binaries are copied and the cluster kept under STATE_ROOT, linked from DATA_DIR/postgres.

export const STATE_ROOT = '/var/lib/gcp-approval-bridge';

export interface RunAs {
  name: string;
  /** Set only when we are root and Postgres runs as another user. */
  uid?: number;
  gid?: number;
}

const run = promisify(execFile);
const isRoot = (): boolean => process.getuid?.() === 0;

export async function postgresRunAs(log: Logger): Promise<RunAs> {
  if (!isRoot()) return { name: userInfo().username };
  let ids = await idsOf('postgres');
  if (ids === null) {
    log.warn('running as root: creating the OS user "postgres" to run the embedded Postgres (Postgres refuses to run as root)');
    try {
      await run('groupadd', ['--system', 'postgres']).catch(() => undefined); // may exist without the user
      await run('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', 'postgres']);
    } catch (err) {
      throw new ConfigError(
        'DATA_DIR',
        `running as root, the embedded Postgres must run as the OS user "postgres", which does not exist and could not be created (${oneLine(err)}); ` +
          'create it (useradd --system postgres), run the bridge as an ordinary user, or set DATABASE_URL',
      );
    }
    ids = await idsOf('postgres');
    if (ids === null) throw new ConfigError('DATA_DIR', 'the OS user "postgres" was created but cannot be looked up; set DATABASE_URL or run as an ordinary user');
  }
  return { name: 'postgres', ...ids };
}

async function idsOf(name: string): Promise<{ uid: number; gid: number } | null> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return null;
  }
}

/**
 * The first of `target` and its parent directories that `runAs` cannot pass through (or, for the
 * target itself, execute), tested by a shell running with exactly the credentials Postgres gets;
 * null when everything is reachable. Only meaningful as root: any other user runs Postgres itself.
 */
export async function firstUnreachable(runAs: RunAs, target: string): Promise<string | null> {
  if (runAs.uid === undefined) return null;
  const chain = ancestry(target);
  const script = 'for p in "$@"; do test -x "$p" || { printf %s "$p"; exit 1; }; done';
  try {
    await run('/bin/sh', ['-c', script, 'sh', ...chain], { uid: runAs.uid, gid: runAs.gid });
    return null;
  } catch (err) {
    const out = (err as { stdout?: string }).stdout;
    return out && out !== '' ? out : target;
  }
}

function ancestry(target: string): string[] {
  const chain: string[] = [];
  for (let p = path.resolve(target); ; p = path.dirname(p)) {
    chain.unshift(p);
    if (path.dirname(p) === p) return chain;
  }
}

/** DATA_DIR exists and this process can write to it, or start-up stops with the fix. */
export async function prepareDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true });
    await access(dataDir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const { username, uid } = userInfo();
    throw new ConfigError(
      'DATA_DIR',
      `${dataDir} cannot be used as a writable directory by the user running the bridge (${username}, uid ${uid}): ${oneLine(err)}; ` +
        `point DATA_DIR at a directory that user owns (or chown -R ${uid} ${dataDir})`,
    );
  }
}

/**
 * Where the cluster lives: DATA_DIR/postgres, or — as root, when `postgres` cannot reach DATA_DIR
 * and no cluster exists there yet — under STATE_ROOT, with DATA_DIR/postgres a link to it.
 */
export async function clusterLocation(dataDir: string, runAs: RunAs, log: Logger): Promise<string> {
  const link = path.join(dataDir, 'postgres');
  const linkStat = await lstat(link).catch(() => null);
  if (linkStat?.isSymbolicLink()) return reachableOrFail(await realpath(link), runAs, dataDir);
  if (runAs.uid === undefined) return link;
  // DATA_DIR holds the root-only password file (0600); postgres needs to pass through, not list.
  if ((await stat(dataDir)).uid === 0) await chmod(dataDir, 0o711);
  const blocked = await firstUnreachable(runAs, dataDir);
  if (blocked === null) return link;
  if (linkStat !== null) {
    throw new ConfigError(
      'DATA_DIR',
      `the embedded Postgres runs as the OS user "postgres" (Postgres refuses to run as root), which cannot enter ${blocked}, so it cannot reach the cluster in ${link}; ` +
        `move DATA_DIR to a directory it can reach (e.g. ${STATE_ROOT}), run the bridge as an ordinary user, or set DATABASE_URL`,
    );
  }
  const home = path.join(STATE_ROOT, 'clusters', `${path.basename(path.dirname(path.resolve(dataDir)))}-${createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12)}`);
  await mkdir(home, { recursive: true, mode: 0o755 });
  const cluster = path.join(home, 'postgres');
  if (existsSync(cluster) && !existsSync(path.join(dataDir, 'postgres.password'))) {
    // DATA_DIR was deleted (a reset): its old cluster cannot be opened without the password that
    // went with it. Keep it aside rather than delete data.
    const aside = `${cluster}.abandoned-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(cluster, aside);
    log.warn({ dataDir, aside }, 'DATA_DIR was recreated: the cluster of the deleted one is kept aside; delete it when it is not needed');
  }
  await symlink(cluster, link);
  log.warn(
    { dataDir, cluster, blocked },
    `the OS user "postgres" that runs the embedded Postgres cannot enter ${blocked}; its cluster is kept in ${cluster}, linked from ${link} ` +
      '(back it up with `npm run backup`, or run the bridge as an ordinary user to keep everything in DATA_DIR)',
  );
  return cluster;
}

async function reachableOrFail(cluster: string, runAs: RunAs, dataDir: string): Promise<string> {
  const blocked = await firstUnreachable(runAs, path.dirname(cluster));
  if (blocked !== null) {
    throw new ConfigError('DATA_DIR', `${dataDir}/postgres links to ${cluster}, but the OS user "postgres" cannot enter ${blocked}; make it reachable or set DATABASE_URL`);
  }
  return cluster;
}

/** A cluster made by another user cannot be started by this one: say whose it is and how to fix it. */
export async function assertOwnedBy(clusterDir: string, runAs: RunAs, dataDir: string): Promise<void> {
  if (!existsSync(clusterDir)) return;
  const owner = (await stat(clusterDir)).uid;
  const expected = runAs.uid ?? process.getuid?.();
  if (expected === undefined || owner === expected) return;
  throw new ConfigError(
    'DATA_DIR',
    `the embedded Postgres cluster ${clusterDir} belongs to uid ${owner}, but it must run as ${runAs.name} (uid ${expected}): ` +
      `start the bridge as the user that created ${dataDir}, or give the cluster to ${runAs.name} (chown -R ${expected} ${clusterDir})`,
  );
}

export function oneLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return String(e.stderr?.trim() || e.message || err).replace(/\s+/g, ' ');
}
