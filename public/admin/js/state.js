// Page state that outlives a view: the filters of each list (so going to a message and back keeps
// the log filtered as it was) and the last resend answer. Views are remounted on every route
// change, so anything kept in a component's own state would be lost.
import { useEffect, useState } from '../vendor/htm-preact.js';

/** A value with listeners: enough for the few things shared between views, no library needed. */
export function createStore(initial) {
  let value = initial;
  const listeners = new Set();
  return {
    get: () => value,
    set(next) {
      value = typeof next === 'function' ? next(value) : next;
      for (const listener of listeners) listener(value);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function useStore(store) {
  const [value, setValue] = useState(store.get);
  useEffect(() => {
    // The store may have changed between the first render and this subscription.
    setValue(store.get());
    return store.subscribe(setValue);
  }, [store]);
  return value;
}

export const PAGE_SIZE = 20;

/** The page sizes a list offers (the API's maximum is 500). */
export const PAGE_SIZES = Object.freeze([20, 50, 100, 200]);

// The only place the empty filters are spelled out: reset, query-string parsing and first load
// all start from these.
export const FILTER_DEFAULTS = Object.freeze({
  employees: Object.freeze({ q: '', active: '', binding: '', sort: 'updatedAt', order: 'desc', limit: PAGE_SIZE, offset: 0 }),
  messages: Object.freeze({ outcome: '', employeeNo: '', guid: '', from: '', to: '', q: '', offset: 0 }),
  audit: Object.freeze({ employeeNo: '', offset: 0 }),
});

const filterStores = Object.fromEntries(Object.entries(FILTER_DEFAULTS).map(([name, defaults]) => [name, createStore(defaults)]));

/**
 * The filters of one list and a setter. Anything the setter is not given falls back to the
 * default, so a new search always starts again on page 1; paging passes the filters along.
 */
export function useFilters(name) {
  const store = filterStores[name];
  const value = useStore(store);
  return [value, (next) => store.set({ ...FILTER_DEFAULTS[name], ...next })];
}

/** Filters from a link such as #/messages?outcome=AE: known keys only, everything else default. */
export function setFiltersFromQuery(name, query) {
  const next = { ...FILTER_DEFAULTS[name] };
  for (const key of Object.keys(next)) if (key !== 'offset' && query.has(key)) next[key] = query.get(key);
  // The page, when the address carries one (a bookmarked #/messages?…&offset=40).
  if ('offset' in next && /^\d{1,7}$/.test(query.get('offset') || '')) next.offset = Number(query.get('offset'));
  filterStores[name].set(next);
}

/** `{guid, ackCode, reason}` or `{guid, error}`: shown again when that message is reopened. */
export const lastResend = createStore(null);
