import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { PostgresServer } from '../../src/db/postgres-process.js';

// Start-up waits for Postgres' "ready" line. A stand-in server program that writes that line and
// more output in one write must still count as started (it once waited 60 s for it instead).

const dir = mkdtempSync(path.join(tmpdir(), 'fake-postgres-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakePostgres(script: string): PostgresServer {
  const bin = path.join(dir, `postgres-${Math.random().toString(36).slice(2)}`);
  writeFileSync(bin, `#!/bin/sh\n${script}\n`);
  chmodSync(bin, 0o755);
  return new PostgresServer({ binaries: { nativeDir: dir, version: 'test', initdb: bin, postgres: bin }, clusterDir: dir, port: 1, runAs: { name: 'test' }, settings: {} });
}

it('is started once the ready line appears, even with more output after it in the same write', async () => {
  const server = fakePostgres(`printf 'LOG:  database system is ready to accept connections\\n%0300d\\n' 0; exec sleep 30`);
  const started = Date.now();
  await server.start();
  expect(Date.now() - started).toBeLessThan(5000);
  await server.stop();
});

it('fails at once, with what it said, when the server exits before it is ready', async () => {
  const server = fakePostgres(`echo 'FATAL:  could not create any TCP/IP sockets' >&2; exit 1`);
  await expect(server.start()).rejects.toThrow(/did not start on port 1 .*could not create any TCP\/IP sockets/);
});
