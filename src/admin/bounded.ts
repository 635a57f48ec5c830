// Bulk admin work (invitations, resends) a few at a time: each item may hold a WeChat call for
// seconds, and pushes must keep their share of connections and CPU meanwhile.

/** `work` on every item, at most `limit` at once; the results in the items' order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
