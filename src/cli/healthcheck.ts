import { request } from 'undici';

// `node dist/src/cli/healthcheck.js`: the container's HEALTHCHECK. Asks /healthz on the address the
// bridge listens on (PORT, HOST), so a bridge bound to one interface is checked there, not on
// 127.0.0.1. Exit 0 healthy, 1 not.

const ANY_ADDRESS = new Set(['', '0.0.0.0', '::', '[::]']);

function healthUrl(env: NodeJS.ProcessEnv): string {
  const host = env.HOST?.trim() ?? '';
  const port = env.PORT?.trim() || '8080';
  const target = ANY_ADDRESS.has(host) ? '127.0.0.1' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${target}:${port}/healthz`;
}

try {
  const res = await request(healthUrl(process.env), { signal: AbortSignal.timeout(2500) });
  await res.body.dump();
  process.exit(res.statusCode === 200 ? 0 : 1);
} catch (err) {
  console.error(`healthcheck: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
