import { describe, expect, it } from 'vitest';
import { Batcher, type BatchOptions } from '../../src/db/batch.js';

// The group-commit batcher on its own: what goes together into one statement, what waits, and
// which items a failure reaches. `run` is a recording function standing in for the statement.

interface Item {
  key: string;
  weight?: number;
}

const OPTIONS: BatchOptions<Item> = { concurrency: 1, maxItems: 100, maxWeight: 1000, key: (i) => i.key, weight: (i) => i.weight ?? 1 };

function recorder(answer: (items: Item[]) => Promise<string[]> = async (items) => items.map((i) => `ok:${i.key}`)) {
  const batches: string[][] = [];
  const run = async (items: Item[]) => {
    batches.push(items.map((i) => i.key));
    return answer(items);
  };
  return { batches, run };
}

const sqlError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

describe('Batcher', () => {
  it('sends everything submitted in one turn of the event loop as one batch, and answers each item its own result', async () => {
    const { batches, run } = recorder();
    const batcher = new Batcher(run, OPTIONS);
    const results = await Promise.all(['a', 'b', 'c'].map((key) => batcher.submit({ key })));
    expect(batches).toEqual([['a', 'b', 'c']]);
    expect(results).toEqual(['ok:a', 'ok:b', 'ok:c']);
  });

  it('sends a lone item without waiting for company', async () => {
    const { batches, run } = recorder();
    const batcher = new Batcher(run, OPTIONS);
    expect(await batcher.submit({ key: 'alone' })).toBe('ok:alone');
    expect(batches).toEqual([['alone']]);
  });

  it('collects what arrives while a batch is in flight into the next one', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { batches, run } = recorder(async (items) => {
      if (items[0]!.key === 'first') await gate;
      return items.map((i) => i.key);
    });
    const batcher = new Batcher(run, OPTIONS);
    const first = batcher.submit({ key: 'first' });
    await new Promise((r) => setImmediate(r));
    const later = ['x', 'y', 'z'].map((key) => batcher.submit({ key }));
    await new Promise((r) => setTimeout(r, 5));
    expect(batches).toEqual([['first']]);
    release();
    await Promise.all([first, ...later]);
    expect(batches).toEqual([['first'], ['x', 'y', 'z']]);
  });

  it('never puts two items with one key into one batch: the second goes into a later one', async () => {
    const { batches, run } = recorder();
    const batcher = new Batcher(run, OPTIONS);
    await Promise.all(['g1', 'g2', 'g1', 'g3', 'g1'].map((key) => batcher.submit({ key })));
    expect(batches).toEqual([['g1', 'g2', 'g3'], ['g1'], ['g1']]);
  });

  it('keeps to the item and weight limits, but an item heavier than the limit still goes, alone', async () => {
    const { batches, run } = recorder();
    const batcher = new Batcher(run, { ...OPTIONS, maxItems: 2, maxWeight: 10 });
    await Promise.all([
      batcher.submit({ key: 'a', weight: 4 }),
      batcher.submit({ key: 'b', weight: 4 }),
      batcher.submit({ key: 'c', weight: 4 }),
      batcher.submit({ key: 'huge', weight: 50 }),
      batcher.submit({ key: 'd', weight: 7 }),
    ]);
    expect(batches).toEqual([['a', 'b'], ['c'], ['huge'], ['d']]);
  });

  it('runs up to `concurrency` batches at once', async () => {
    let inFlight = 0;
    let most = 0;
    const { run } = recorder(async (items) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 10));
      inFlight--;
      return items.map((i) => i.key);
    });
    const batcher = new Batcher(run, { ...OPTIONS, concurrency: 3, maxItems: 1 });
    await Promise.all(Array.from({ length: 9 }, (_, i) => batcher.submit({ key: String(i) })));
    expect(most).toBe(3);
  });

  it('fails only the items of a failed batch; batches beside it and after it succeed', async () => {
    const { batches, run } = recorder(async (items) => {
      if (items.some((i) => i.key === 'down')) throw sqlError('08006');
      return items.map((i) => i.key);
    });
    const batcher = new Batcher(run, { ...OPTIONS, concurrency: 2, maxItems: 2 });
    const settled = await Promise.allSettled(['a', 'down', 'b', 'c'].map((key) => batcher.submit({ key })));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
    // A connection failure is not retried item by item: it would only fail again, slower.
    expect(batches).toEqual([['a', 'down'], ['b', 'c']]);
  });

  it('tries the items of a batch one by one when Postgres refused a value, so only the item carrying it fails', async () => {
    const { batches, run } = recorder(async (items) => {
      if (items.some((i) => i.key === 'bad')) throw sqlError('22P05');
      return items.map((i) => i.key);
    });
    const batcher = new Batcher(run, OPTIONS);
    const settled = await Promise.allSettled(['a', 'bad', 'b'].map((key) => batcher.submit({ key })));
    expect(settled).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'rejected', reason: expect.objectContaining({ code: '22P05' }) },
      { status: 'fulfilled', value: 'b' },
    ]);
    expect(batches).toEqual([['a', 'bad', 'b'], ['a'], ['bad'], ['b']]);
  });

  it('rejects every item when the statement answers the wrong number of results', async () => {
    const batcher = new Batcher<Item, string>(async () => ['only one'], OPTIONS);
    const settled = await Promise.allSettled(['a', 'b'].map((key) => batcher.submit({ key })));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
  });
});
