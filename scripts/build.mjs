#!/usr/bin/env node
// Compiles src/ and migrations/ into dist/ (tsc -p tsconfig.build.json).
//
//   node scripts/build.mjs             clean build (npm run build)
//   node scripts/build.mjs --install   at `npm install`/`npm ci` (the prepare script): build when the
//                                      TypeScript compiler is installed; a production install
//                                      (--omit=dev) has none and ships a dist/ built elsewhere
//   node scripts/build.mjs --if-stale  before `npm start` and the CLIs: build only when a source is
//                                      newer than dist/, so a start does not recompile every time
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const output = path.join(root, 'dist', 'src', 'main.js');
const sources = ['src', 'migrations', 'tsconfig.json', 'tsconfig.build.json'].map((p) => path.join(root, p));
const mode = process.argv[2] ?? '--clean';

function newestSource(p) {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((name) => newestSource(path.join(p, name))));
}

function compile({ clean }) {
  // A clean build drops outputs of deleted sources; an incremental one leaves a running copy alone.
  if (clean) rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

const haveCompiler = existsSync(tsc) && existsSync(path.join(root, 'src'));

if (mode === '--install') {
  if (haveCompiler) compile({ clean: true });
  console.log('build: skipped (no TypeScript compiler or no sources here, as in a production install); using the dist/ that ships with this copy');
  process.exit(0);
}
if (mode === '--if-stale') {
  const built = existsSync(output) ? statSync(output).mtimeMs : -1;
  if (built >= Math.max(...sources.map(newestSource))) process.exit(0);
  if (haveCompiler) {
    console.error(built < 0 ? 'build: dist/ is missing; compiling once' : 'build: sources changed since the last build; compiling');
    compile({ clean: false });
  }
  console.error(`build: ${built < 0 ? 'dist/ is missing' : 'dist/ is older than src/'} and the TypeScript compiler is not installed: run npm install (with dev dependencies), then npm run build`);
  process.exit(1);
}
if (!haveCompiler) {
  console.error('build: the TypeScript compiler is not installed: run npm install (with dev dependencies)');
  process.exit(1);
}
compile({ clean: true });
