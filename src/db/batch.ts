// Group commit for the hot statements of the push path (claims, outcomes). Items that arrive while
// the event loop is busy with other pushes go to Postgres together: one statement, one round trip,
// one commit and WAL flush for the lot. Nothing waits for company: an item starts a batch at the
// next turn of the event loop if a slot is free, so a lone push pays no delay; batches grow only
// when pushes arrive faster than Postgres answers (graphile-worker's batched completion works the
// same way).
//
// A batch that fails fails its own items only. When Postgres refused the data rather than the
// connection (a value one item carries), its items are tried one by one so the others still pass.

export interface BatchOptions<I> {
  /** Batches in flight at once: more overlap Postgres' work with ours, fewer make them larger. */
  concurrency: number;
  /** At most this many items in one statement. */
  maxItems: number;
  /** At most this much of `weight` in one statement (payload bytes), except an item alone. */
  maxWeight: number;
  weight(item: I): number;
  /** Items that must not share a statement (ON CONFLICT cannot touch one row twice): same key, later batch. */
  key(item: I): string;
}

interface Pending<I, O> {
  item: I;
  resolve(out: O): void;
  reject(err: unknown): void;
}

/** `run` answers item i of the batch at index i. */
export type RunBatch<I, O> = (items: I[]) => Promise<O[]>;

export class Batcher<I, O> {
  private queue: Array<Pending<I, O>> = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly run: RunBatch<I, O>,
    private readonly options: BatchOptions<I>,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.concurrency || this.queue.length === 0) return;
    this.scheduled = true;
    // setImmediate: after the I/O callbacks of this turn, so every push read in it joins.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.options.concurrency && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight++;
      void this.execute(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  /** The next batch, in arrival order; an item whose key is already in it waits for a later one. */
  private take(): Array<Pending<I, O>> {
    const { maxItems, maxWeight, weight, key } = this.options;
    const batch: Array<Pending<I, O>> = [];
    const left: Array<Pending<I, O>> = [];
    const keys = new Set<string>();
    let total = 0;
    let i = 0;
    for (; i < this.queue.length && batch.length < maxItems; i++) {
      const pending = this.queue[i]!;
      const k = key(pending.item);
      const w = weight(pending.item);
      if (keys.has(k) || (batch.length > 0 && total + w > maxWeight)) {
        left.push(pending);
        continue;
      }
      keys.add(k);
      total += w;
      batch.push(pending);
    }
    this.queue = left.length === 0 && i === this.queue.length ? [] : left.concat(this.queue.slice(i));
    return batch;
  }

  private async execute(batch: Array<Pending<I, O>>): Promise<void> {
    try {
      settle(batch, await this.run(batch.map((p) => p.item)));
    } catch (err) {
      if (batch.length > 1 && isDataError(err)) await Promise.all(batch.map((p) => this.alone(p)));
      else for (const p of batch) p.reject(err);
    }
  }

  private async alone(pending: Pending<I, O>): Promise<void> {
    try {
      settle([pending], await this.run([pending.item]));
    } catch (err) {
      pending.reject(err);
    }
  }
}

function settle<I, O>(batch: Array<Pending<I, O>>, results: O[]): void {
  if (results.length !== batch.length) {
    const err = new Error(`batch answered ${results.length} results for ${batch.length} items`);
    for (const p of batch) p.reject(err);
    return;
  }
  batch.forEach((p, i) => p.resolve(results[i]!));
}

/**
 * SQLSTATE classes 22 (data exception), 23 (integrity) and 54 (program limit): what one item's
 * values can cause; 40 (deadlock, serialization): what the company of other items caused. A
 * connection error or a timeout would fail each item alone just the same, so it is not retried.
 */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|40|54)/.test(code);
}
