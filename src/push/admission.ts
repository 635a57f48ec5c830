// How many push body bytes may be in flight at once (PUSH_MAX_INFLIGHT_BYTES). A 1 MB push costs
// many times its size while it is decoded, unescaped and parsed; 400 of them at once took 1.9 GB
// and answers came after 25 s. Past the budget a push waits its turn for a short while, then is
// refused with an ack before its body is read, so memory stays bounded and every answer is prompt.

export type Release = () => void;

interface Waiter {
  bytes: number;
  grant: (release: Release) => void;
}

export class ByteBudget {
  private used = 0;
  private readonly queue: Waiter[] = [];

  constructor(readonly capacity: number) {}

  /** A release function once `bytes` fit, or null after `waitMs` without room. */
  acquire(bytes: number, waitMs: number): Promise<Release | null> {
    const want = Math.min(bytes, this.capacity); // a push larger than the budget runs alone
    if (this.queue.length === 0 && this.used + want <= this.capacity) return Promise.resolve(this.take(want));
    return new Promise((resolve) => {
      const waiter: Waiter = { bytes: want, grant: resolve };
      const timer = setTimeout(() => {
        const at = this.queue.indexOf(waiter);
        if (at !== -1) this.queue.splice(at, 1);
        resolve(null);
      }, waitMs);
      waiter.grant = (release) => {
        clearTimeout(timer);
        resolve(release);
      };
      this.queue.push(waiter);
    });
  }

  get inUse(): number {
    return this.used;
  }

  private take(bytes: number): Release {
    this.used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
      this.admitWaiting();
    };
  }

  /** In arrival order: a large push at the head is not overtaken forever by small ones. */
  private admitWaiting(): void {
    while (this.queue.length > 0 && this.used + this.queue[0]!.bytes <= this.capacity) {
      const next = this.queue.shift()!;
      next.grant(this.take(next.bytes));
    }
  }
}

/**
 * Heap a push body may cost per byte at its peak, while it is decoded, unescaped and read. 1 MB
 * pushes filling the default 16 MB budget raised the heap in use by 90 MB (5.6×; the bodies'
 * Buffers, outside the heap, another 69 MB): rounded up for margin.
 */
export const HEAP_BYTES_PER_INFLIGHT_BYTE = 8;

/**
 * The heap PUSH_MAX_INFLIGHT_BYTES may take at its peak, when that is more than half of the heap's
 * limit (the other half is the bridge's own working set and V8's room to collect); null when it fits.
 */
export function inflightHeapOverrun(inflightBytes: number, heapLimitBytes: number): number | null {
  const needed = inflightBytes * HEAP_BYTES_PER_INFLIGHT_BYTE;
  return needed > heapLimitBytes / 2 ? needed : null;
}
