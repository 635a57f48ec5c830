import path from 'node:path';
import fc from 'fast-check';
import { beforeEach, onTestFailed } from 'vitest';

// One seed per test file for every fc.assert in it, so a failure found by a random run can be
// replayed exactly: `FC_SEED=<seed> npx vitest run <file>`. fast-check seeds each fc.assert
// independently from the global seed, so the replay does not depend on which other properties
// (or files) run alongside. A property that passes its own `seed` keeps it: per-call parameters
// override the global ones.

function seedFromEnv(raw: string | undefined): number | null {
  if (raw === undefined || raw.trim() === '') return null;
  const value = Number(raw.trim());
  // fast-check prints 32-bit seeds and would silently fold any other number into one, running a
  // seed other than the one asked for: a typo must fail loudly instead.
  if (!/^[+-]?\d+$/.test(raw.trim()) || (value | 0) !== value) {
    throw new Error(`FC_SEED must be a 32-bit integer (as fast-check prints seeds), got ${JSON.stringify(raw)}`);
  }
  return value;
}

const fixed = seedFromEnv(process.env.FC_SEED);
// The same formula fast-check uses when no seed is given.
const seed = fixed ?? (Date.now() ^ (Math.random() * 0x100000000));

fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });

beforeEach(() => {
  onTestFailed(({ task }) => {
    // Only property failures: unit and integration suites share this setup file and have no use for a seed.
    const reported = (task.result?.errors ?? []).map((e) => /\{ seed: (-?\d+)/.exec(String(e.message))?.[1]).find((s) => s !== undefined);
    if (reported === undefined) return;
    const file = path.relative(process.cwd(), task.file.filepath);
    console.error(
      Number(reported) === seed
        ? `[fast-check] ${task.name}: replay with FC_SEED=${seed} npx vitest run ${file} (seed ${fixed === null ? 'chosen at random' : 'from FC_SEED'} for this file).`
        : `[fast-check] ${task.name}: this property passes its own seed (${reported}); FC_SEED does not change it.`,
    );
  });
});
