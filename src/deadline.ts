// Waiting for work with a limit. The timer is cleared as soon as the work settles: a sleep left to
// run out keeps a timer and its promise alive for the whole limit after every call (~15 s a push).

/** `work`'s result, or `late` after `ms` if it has not settled by then; the timer never holds the process open. */
export async function withinMs<T, L>(work: Promise<T>, ms: number, late: L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<L>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms), late);
    timer.unref();
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
