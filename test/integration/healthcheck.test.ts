import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ROOT } from '../support/process.js';

// The container HEALTHCHECK (dist/src/cli/healthcheck.js) asks the address the bridge listens on:
// a bridge bound to one interface (here 127.0.0.2, not 127.0.0.1) is healthy, a wrong port is not.

let db: TestDatabase;
let bridge: TestBridge;

beforeAll(async () => {
  db = await createTestDatabase('healthcheck');
  bridge = await startBridge({ databaseUrl: db.url, wechat: false, env: { HOST: '127.0.0.2' } });
});

afterAll(async () => {
  await bridge?.stop();
  await db?.drop();
});

async function healthcheck(env: Record<string, string>): Promise<number> {
  try {
    await promisify(execFile)(process.execPath, ['dist/src/cli/healthcheck.js'], { cwd: ROOT, env: { PATH: process.env.PATH, ...env } });
    return 0;
  } catch (err) {
    return (err as { code: number }).code;
  }
}

it('is healthy on the interface the bridge listens on, and unhealthy elsewhere', async () => {
  const port = new URL(bridge.url).port;
  expect(new URL(bridge.url).hostname).toBe('127.0.0.2');
  expect(await healthcheck({ HOST: '127.0.0.2', PORT: port })).toBe(0);
  expect(await healthcheck({ HOST: '127.0.0.2', PORT: String(Number(port) + 1) })).toBe(1);
});
