import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DatabaseStats } from './db/data-source.js';
import type { OutcomeCode } from './outcomes.js';

// Prometheus metrics for GET /metrics. One registry per service instance (tests run several in a
// process). Label values come from small fixed sets, so series stay few and the hot path cheap.


export class Metrics {
  readonly registry = new Registry();
  readonly pushes = new Counter({ name: 'bridge_pushes_total', help: 'Pushes answered, by outcome and ack code', labelNames: ['outcome', 'ack'] as const, registers: [this.registry] });
  readonly pushSeconds = new Histogram({
    name: 'bridge_push_duration_seconds',
    help: 'Time from a push arriving (its headers) to its answer, waiting for room and reading the body included',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
    registers: [this.registry],
  });
  readonly wechatCalls = new Counter({
    name: 'bridge_wechat_calls_total',
    help: 'Calls to the WeChat API, by endpoint and result (errcode, http_5xx, timeout_or_lost, not_sent)',
    labelNames: ['api', 'result'] as const,
    registers: [this.registry],
  });
  readonly wechatSeconds = new Histogram({
    name: 'bridge_wechat_call_duration_seconds',
    help: 'Duration of calls to the WeChat API',
    labelNames: ['api'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly tokenFetches = new Counter({ name: 'bridge_wechat_token_fetches_total', help: 'Access tokens fetched from WeChat by this instance', labelNames: ['api'] as const, registers: [this.registry] });
  readonly retries = new Counter({ name: 'bridge_wechat_retries_total', help: 'Sends retried, by cause', labelNames: ['cause'] as const, registers: [this.registry] });
  readonly callbacks = new Counter({
    name: 'bridge_wechat_callbacks_total',
    help: 'WeChat callbacks, by result: acted, repeat (a retry answered as the first), refused (403), bad_request, busy (database away), late (answered before acting finished)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly dbFailures = new Counter({
    name: 'bridge_db_failures_total',
    help: 'Pushes answered 系统繁忙 because of the database, by cause: pool_exhausted (Postgres healthy, all connections busy), unavailable, other',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });

  /** `db`: absent only where no database is involved (the pure path in tests). */
  constructor(db?: DatabaseStats) {
    collectDefaultMetrics({ register: this.registry });
    if (!db) return;
    const registers = [this.registry];
    new Gauge({ name: 'bridge_db_pool_in_use', help: 'Postgres connections checked out of the pool', registers, collect() { this.set(db.inUse()); } });
    new Gauge({ name: 'bridge_db_pool_waiting', help: 'Queries waiting for a Postgres connection', registers, collect() { this.set(db.waiting()); } });
    // Per statement, not per push: a batch's round trip is what each of its pushes waited for.
    const batchSeconds = new Histogram({
      name: 'bridge_db_batch_duration_seconds',
      help: 'Round trips of the push path\'s batched statements, commit (WAL flush) included, by statement: bridge_claim_batch (record and look up), bridge_finish_batch (the outcome)',
      labelNames: ['statement'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    db.onNamed((statement, seconds) => batchSeconds.observe({ statement }, seconds));
    new Counter({
      name: 'bridge_db_statements_total',
      help: 'Statements sent to Postgres, transaction control included: round trips',
      registers,
      collect() {
        this.reset();
        this.inc(db.statements());
      },
    });
  }

  /** Pushes refused before their body was read: REFUSED (access control), UNREADABLE (size, time, encoding), OVERLOADED (in-flight budget). */
  countPush(outcome: OutcomeCode | 'REFUSED' | 'UNREADABLE' | 'OVERLOADED', ack: 'AA' | 'AE', ms: number): void {
    this.pushes.inc({ outcome, ack });
    this.pushSeconds.observe(ms / 1000);
  }
}
