import { readFileSync } from 'node:fs';
import path from 'node:path';

// package.json's `start` script is the one place that says how node runs the bridge (its flags bound
// the heap: README, Operations, Memory). Tests and the bench that start dist/src/main.js directly take the
// flags from there, so what they measure is what `npm start` runs; start-command.test.ts holds the
// Dockerfile and the README's systemd unit to the same flags.

export const ENTRY = 'dist/src/main.js';

const REPO = path.resolve(import.meta.dirname, '../..');

/** The node flags of a command line `[exec] node <flags…> dist/src/main.js`; null if it is not one. */
export function nodeFlagsOf(command: string): string[] | null {
  const words = command.trim().split(/\s+/);
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  const entry = words.indexOf(ENTRY);
  if (node === -1 || entry !== words.length - 1 || entry < node) return null;
  return words.slice(node + 1, entry);
}

/** The flags `npm start` gives node. */
export function startFlags(root = REPO): string[] {
  const script = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const flags = nodeFlagsOf(script);
  if (flags === null) throw new Error(`package.json's start script is not "node <flags> ${ENTRY}": ${script}`);
  return flags;
}
