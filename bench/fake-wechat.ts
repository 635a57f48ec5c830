import { parseArgs } from 'node:util';
import { FakeWechat } from '../test/support/fake-wechat.js';

// The tests' fake WeChat (test/support/fake-wechat.ts) for a person: a full local rehearsal of
// the fixtures on a live bridge, without the real WeChat. It prints the settings to start the
// bridge with, then one line per text it receives, and runs until Ctrl-C.
// (bench/fake-wechat-server.ts is the same fake for the benchmark, driven by bench/run.ts.)

const DEFAULT_PORT = 9099;
// Above the bridge's default WECHAT_TIMEOUT_MS (5000), so `_slow_` openids time out (fixture 44)
// without touching the bridge's settings; below the 15 s in which every push is answered.
const DEFAULT_SLOW_MS = 6000;

const USAGE = `usage: npm run fake-wechat -- [--port PORT] [--slow-ms MS] [--quiet]

A fake WeChat Official Account API on 127.0.0.1:PORT (default ${DEFAULT_PORT}) answering as
fixtures/README.md says: an openid with _err<N>_ gets errcode N, _http503_ gets HTTP 503, _slow_
is answered after --slow-ms (default ${DEFAULT_SLOW_MS}, more than the bridge's WECHAT_TIMEOUT_MS),
anything else is accepted. Prints one line per text received unless --quiet.`;

function options(): { port: number; slowMs: number; quiet: boolean } | null {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: String(DEFAULT_PORT) },
      'slow-ms': { type: 'string', default: String(DEFAULT_SLOW_MS) },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return null;
  const port = Number(values.port);
  const slowMs = Number(values['slow-ms']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected a port number, got "${values.port}"`);
  if (!Number.isInteger(slowMs) || slowMs < 0) throw new Error(`--slow-ms: expected milliseconds, got "${values['slow-ms']}"`);
  return { port, slowMs, quiet: values.quiet };
}

// As in the bridge's logs: never a full openid on screen.
const mask = (openid: string): string => (openid.length <= 8 ? '****' : `${openid.slice(0, 4)}…${openid.slice(-4)}`);

/** The lines that tell one fixture's text from another. */
function summary(content: string): string {
  const lines = content.split('\n');
  const pick = (label: string): string => lines.find((l) => l.startsWith(label)) ?? '';
  const parts = pick('申请人工号') === '' ? [lines[0] ?? ''] : [pick('申请人工号'), pick('单据编号')];
  return `${parts.filter((p) => p !== '').join('  ')}  (${Buffer.byteLength(content)} bytes)`;
}

function banner(wechat: FakeWechat, slowMs: number): string {
  return `fake WeChat listening on ${wechat.url}

Start the bridge against it with:
  WECHAT_APPID=${wechat.appId} WECHAT_SECRET=${wechat.secret} WECHAT_API_BASE=${wechat.url}
(keep WECHAT_TIMEOUT_MS below ${slowMs}; the default 5000 is fine). A bridge in Docker reaches it
with docker run --network host. Then replay the fixtures on it:
  npm run replay -- fixtures --url http://127.0.0.1:8080/push --wechat fake --bind --token ADMIN_TOKEN

Ctrl-C stops it.
`;
}

async function main(): Promise<void> {
  const opts = options();
  if (opts === null) {
    console.log(USAGE);
    return;
  }
  const wechat = await new FakeWechat({ slowMs: opts.slowMs }).start(opts.port);
  if (!opts.quiet) {
    wechat.onSend = async ({ touser, content }) => {
      console.log(`${new Date().toISOString().slice(11, 23)}  text to ${mask(touser)}  ${summary(content)}`);
    };
  }
  console.log(banner(wechat, opts.slowMs));
  const stop = (): void => {
    void wechat.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main();
