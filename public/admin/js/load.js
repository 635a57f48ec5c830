// Loading for every view. A request that a newer one replaces (the user paged on, changed a filter,
// left the view) is aborted, so an old answer can never overwrite a newer one.
import { useEffect, useRef, useState } from '../vendor/htm-preact.js';
import { get, isAbort } from './api.js';
import { PAGE_SIZE } from './state.js';

/**
 * Runs `load(signal)` whenever `key` changes or `reload()` is called; a null key loads nothing.
 * The last data stays while the next request runs or fails, so a failed refresh shows its error
 * above the rows it could not replace instead of emptying the page.
 */
export function useLoad(key, load) {
  const [result, setResult] = useState({ data: null, error: null, loading: key !== null });
  const [round, setRound] = useState(0);
  // The latest `load` closure, without making every render a new request.
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    if (key === null) return undefined;
    const controller = new AbortController();
    setResult((r) => ({ ...r, error: null, loading: true }));
    loadRef.current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setResult({ data, error: null, loading: false });
      },
      (error) => {
        if (!controller.signal.aborted && !isAbort(error)) setResult((r) => ({ ...r, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [key, round]);

  return { ...result, reload: () => setRound((n) => n + 1) };
}

/**
 * One page of a list endpoint (`{items, total}`); `filters` carries `offset` (and `limit` where the
 * list lets the user choose its page size), null skips loading.
 */
export function useList(path, filters) {
  const key = filters === null ? null : `${path}?${JSON.stringify(filters)}`;
  return useLoad(key, (signal) => get(path, { query: { limit: PAGE_SIZE, ...filters }, signal }));
}
