import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';

// One load phase with autocannon's programmatic API, run in the orchestrator's own process.
//
// Every request is a fresh push: `setupRequest` builds the body with a new GUID, `onResponse` reads
// the ack code and the echoed GUID out of the answer. Two things autocannon does not do are added,
// through its per-connection Client objects (`setupClient`):
//
// - A clean end. At the end of `duration` autocannon destroys its sockets with requests in flight;
//   the bridge still processes (and delivers) those pushes, so "delivered = answered AA" could never
//   be checked exactly. Here, when the time is up, each connection is told to stop after its
//   in-flight response (`responseMax`), so every push sent gets its answer counted.
// - An even rate. With `overallRate` autocannon gives each connection a quota per second and all
//   connections start their seconds at the same instant: "200/s" becomes one burst of 200 requests
//   every second. Here each connection (1 request/s) gets its own phase, spread evenly over the
//   second, and nothing is sent before a connection's phase comes: a steady 200/s, open loop as long
//   as latency stays under 1 s.
//
// Both reach into autocannon 9's Client internals (`reqsMade`, `responseMax`, `rateInterval`, ...);
// they are typed below and checked at run time, so an autocannon upgrade fails loudly, not silently.

export interface LoadOptions {
  url: string;
  connections: number;
  durationS: number;
  /** Overall pushes per second, spread evenly; unset: as fast as the connections go (closed loop). */
  rate?: number;
  contentType: string;
  body: (guid: string) => string;
  /** The ack must echo the push's GUID (false for the bare Express baseline). */
  expectGuidEcho: boolean;
}

export interface LoadResult {
  /** Requests written to a socket. */
  sent: number;
  answered: number;
  aa: number;
  ae: number;
  non200: number;
  /** 200 answers with no ack code, or an ack for another GUID. */
  badAcks: number;
  socketErrors: number;
  timeouts: number;
  elapsedS: number;
  pushesPerSec: number;
  latencyMs: Latency;
  /** Per second of the run: answers, p50, p99 and max latency (to tell a stall from steady queueing). */
  timeline: Array<{ s: number; n: number; p50: number; p99: number; max: number }>;
  aeReasons: Record<string, number>;
  /** GUIDs answered AA (for the exactly-once checks; not written to the JSON). */
  aaGuids: Set<string>;
  autocannon: { requestsAverage: number; latencyP50: number; latencyP99: number; errors: number; timeouts: number; non2xx: number };
}

export interface Latency {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Internals of autocannon 9's lib/httpClient.js used here (not in its public types). */
interface ClientInternals {
  reqsMade: number;
  responseMax?: number;
  rate?: number;
  reqsMadeThisSecond: number;
  paused: boolean;
  destroyed: boolean;
  cer?: unknown;
  rateInterval?: NodeJS.Timeout;
  pipelinedRequests: { size(): number };
  destroy(): void;
  _doRequest(cer?: unknown): void;
}

/** How long connections get to finish their last push once the time is up. */
const DRAIN_LIMIT_S = 30;

const ACK_CODE = /acknowledgement typeCode="(A[AER])"/;
const ACK_GUID = /targetMessage(?:>|&gt;)\s*(?:<|&lt;)id root="[^"]*" extension="([^"]*)"/;
const ACK_REASON = /acknowledgementDetail(?:>|&gt;)\s*(?:<|&lt;)text value="([^"]*)"/;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const clients: Array<autocannon.Client & ClientInternals> = [];
  const timers: NodeJS.Timeout[] = [];
  const latencies: number[] = [];
  const answeredAt: number[] = [];
  const aaGuids = new Set<string>();
  const aeReasons: Record<string, number> = {};
  let sent = 0;
  let aa = 0;
  let ae = 0;
  let non200 = 0;
  let badAcks = 0;
  let lastResponseAt = 0;
  const rate = options.rate;
  const perConnectionRate = rate === undefined ? undefined : rate / options.connections;
  if (perConnectionRate !== undefined && perConnectionRate !== 1) {
    throw new Error(`rate ${rate}/s needs ${rate} connections (one push per connection per second), got ${options.connections}`);
  }

  const setupClient = (client: autocannon.Client): void => {
    const internals = client as autocannon.Client & ClientInternals;
    if (typeof internals.reqsMade !== 'number' || typeof internals._doRequest !== 'function' || typeof internals.pipelinedRequests?.size !== 'function') {
      throw new Error('autocannon Client internals changed: bench/load.ts needs updating');
    }
    const index = clients.length;
    clients.push(internals);
    (client as NodeJS.EventEmitter).on('request', () => sent++);
    if (rate === undefined) return;
    // Hold this connection's first request until its phase; then one request per second.
    internals.reqsMadeThisSecond = Number.POSITIVE_INFINITY;
    const phaseMs = (index * 1000) / options.connections;
    setImmediate(() => {
      clearInterval(internals.rateInterval);
      const tick = (): void => {
        if (internals.destroyed) return;
        internals.reqsMadeThisSecond = 0;
        if (internals.paused) {
          internals.paused = false;
          internals._doRequest(internals.cer);
        }
      };
      timers.push(
        setTimeout(() => {
          tick();
          internals.rateInterval = setInterval(tick, 1000);
          timers.push(internals.rateInterval);
        }, phaseMs),
      );
    });
  };

  const config: autocannon.Options = {
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    duration: options.durationS + DRAIN_LIMIT_S,
    timeout: 20,
    ...(rate === undefined ? {} : { overallRate: rate, ignoreCoordinatedOmission: true }),
    setupClient,
    requests: [
      {
        method: 'POST',
        path: '/push',
        headers: { 'content-type': options.contentType },
        setupRequest: (request, context) => {
          const guid = randomUUID().toUpperCase();
          (context as { guid?: string }).guid = guid;
          return { ...request, body: options.body(guid) };
        },
        onResponse: (status, body, context) => {
          lastResponseAt = performance.now();
          if (status !== 200) {
            non200++;
            return;
          }
          const code = ACK_CODE.exec(body)?.[1];
          const guid = ACK_GUID.exec(body)?.[1];
          const expected = (context as { guid?: string }).guid;
          if (code === undefined || (options.expectGuidEcho && guid !== expected)) {
            badAcks++;
            return;
          }
          if (code === 'AA') {
            aa++;
            if (expected !== undefined) aaGuids.add(expected);
          } else {
            ae++;
            const reason = ACK_REASON.exec(body)?.[1] ?? '?';
            aeReasons[reason] = (aeReasons[reason] ?? 0) + 1;
          }
        },
      },
    ],
  };
  let settle: (err: unknown, result: autocannon.Result) => void = () => undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    settle = (err, result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result));
  });
  const started = performance.now();
  const instance = autocannon(config, (err: unknown, result: autocannon.Result) => settle(err, result));
  instance.on('response', (_client: autocannon.Client, _status: number, _bytes: number, responseTime: number) => {
    latencies.push(responseTime);
    answeredAt.push(performance.now());
  });

  // Time is up: each connection finishes its in-flight push, then closes.
  timers.push(
    setTimeout(() => {
      for (const client of clients) {
        if (client.destroyed) continue;
        if (client.pipelinedRequests.size() === 0) client.destroy();
        else client.responseMax = Math.max(1, client.reqsMade);
      }
    }, options.durationS * 1000),
  );

  const result = await done;
  for (const timer of timers) {
    clearTimeout(timer);
    clearInterval(timer);
  }

  const elapsedS = ((lastResponseAt || performance.now()) - started) / 1000;
  const answered = latencies.length;
  return {
    sent,
    answered,
    aa,
    ae,
    non200,
    badAcks,
    socketErrors: result.errors - result.timeouts,
    timeouts: result.timeouts,
    elapsedS: round(elapsedS, 2),
    pushesPerSec: round(answered / elapsedS, 1),
    latencyMs: summarize(latencies),
    timeline: timeline(latencies, answeredAt, started),
    aeReasons,
    aaGuids,
    autocannon: {
      requestsAverage: result.requests.average,
      latencyP50: result.latency.p50,
      latencyP99: result.latency.p99,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
    },
  };
}

function timeline(latencies: number[], answeredAt: number[], started: number): LoadResult['timeline'] {
  const bySecond = new Map<number, number[]>();
  for (let i = 0; i < latencies.length; i++) {
    const second = Math.floor((answeredAt[i]! - started) / 1000);
    const list = bySecond.get(second) ?? [];
    list.push(latencies[i]!);
    bySecond.set(second, list);
  }
  return [...bySecond.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, list]) => {
      const l = summarize(list);
      return { s, n: l.count, p50: l.p50, p99: l.p99, max: l.max };
    });
}

export function summarize(values: number[]): Latency {
  if (values.length === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number): number => round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!, 2);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { count: sorted.length, mean: round(mean, 2), p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: round(sorted[sorted.length - 1]!, 2) };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
