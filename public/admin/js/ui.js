// The pieces every view is built from. All of it renders through htm + preact, which put server
// values into the page as text: reasons, names and payloads are hostile input, and nothing here
// (or anywhere in the page) uses dangerouslySetInnerHTML.
import { html, useLayoutEffect, useRef, useState } from '../vendor/htm-preact.js';
import { errorText, isStatus } from './api.js';
import { createStore, PAGE_SIZE, PAGE_SIZES, useStore } from './state.js';

const STATUS_LABELS = {
  processing: ['处理中', 'info'],
  delivered: ['已送达', 'ok'],
  sandbox: ['沙箱（未发送）', 'warn'],
  failed: ['失败', 'err'],
  unknown: ['结果未知', 'warn'],
  rejected: ['已拒收', 'err'],
};

export const badge = (text, kind) => html`<span class=${`badge ${kind || ''}`.trim()}>${text}</span>`;

export function statusBadge(status) {
  const [label, kind] = STATUS_LABELS[status] || [status || '—', ''];
  return badge(label, kind);
}

export const ackBadge = (code) => (code ? badge(code, code === 'AA' ? 'ok' : 'err') : badge('—'));

/** A cell that carries its column name: on phones each row becomes a card labelled from it. */
export const cell = (label, content, cls) => html`<td class=${cls} data-label=${label}>${content}</td>`;

export const emptyRow = (colspan, text) => html`<tr><td class="empty" colspan=${colspan}>${text}</td></tr>`;

/**
 * Form values held while the user types, apart from the filters or record they started from:
 * `field(name)` gives an input its name, value and handler (spread it: `...${field('q')}`).
 */
export function useDraft(initial) {
  const [draft, setDraft] = useState(initial);
  const field = (name) => ({
    name,
    value: draft[name],
    onInput: (ev) => {
      const { value } = ev.currentTarget;
      setDraft((d) => ({ ...d, [name]: value }));
    },
  });
  return [draft, field, setDraft];
}

/**
 * A form's submission: `busy` while it runs, `error` with `failed` and the API's reason when it
 * fails (a 401 has already sent the user to sign in). `run(work)` answers whether it succeeded.
 */
export function useSubmit(failed) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  async function run(work) {
    setBusy(true);
    setError('');
    try {
      await work();
      return true;
    } catch (err) {
      if (!isStatus(err, 401)) setError(`${failed}：${errorText(err)}`);
      return false;
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, setError, run };
}

/** Always in the page, hidden when empty, so that a screen reader's live region is stable. */
export function Alert({ id, message, role }) {
  return html`<p id=${id} class="alert alert-error" role=${role} hidden=${!message}>${message || ''}</p>`;
}

/**
 * Brings the top of the list a pager belongs to (its `.panel`) back into view, below the sticky top
 * bar, when it has scrolled away: after paging from the bottom, the next page starts at its top.
 */
export function scrollToListTop(from) {
  const list = from && from.closest ? from.closest('.panel') || from.closest('.view') : null;
  if (!list) return;
  const bar = document.querySelector('.topbar');
  const barHeight = bar ? bar.getBoundingClientRect().height : 0;
  const top = list.getBoundingClientRect().top;
  if (top < barHeight) window.scrollTo({ top: Math.max(0, window.scrollY + top - barHeight - 8), behavior: 'instant' });
}

/**
 * Paging for a list of `total` rows, `limit` a page. `onLimit` adds a page-size choice and `jump`
 * a "go to page" box; a list shows it at its top as well as at its foot when its page is long
 * (the two are alike, so neither carries ids inside).
 */
export function Pager({ id, total, offset, onPage, limit = PAGE_SIZE, onLimit, sizes = PAGE_SIZES, jump, className }) {
  const cls = className ? `pager ${className}` : 'pager';
  if (total === null) return html`<div class=${cls} id=${id}></div>`;
  const pages = Math.max(1, Math.ceil(total / limit));
  const page = Math.floor(offset / limit) + 1;
  const range = total > 0 ? `，第 ${offset + 1}–${Math.min(total, offset + limit)} 条` : '';
  const go = (ev, target) => {
    const el = ev.currentTarget;
    onPage((Math.min(Math.max(target, 1), pages) - 1) * limit);
    scrollToListTop(el);
  };
  const jumpTo = (ev) => {
    ev.preventDefault();
    const input = ev.currentTarget.elements.namedItem('page');
    const wanted = Number.parseInt(input.value, 10);
    if (!Number.isFinite(wanted)) {
      input.focus();
      return;
    }
    input.value = '';
    go(ev, wanted);
  };
  return html`<div class=${cls} id=${id}>
    <span class="pager-total">共 ${total} 条${range}</span>
    ${onLimit && html`<label class="pager-size">
      <span>每页</span>
      <select name="limit" value=${String(limit)} onChange=${(ev) => { const el = ev.currentTarget; onLimit(Number(el.value)); scrollToListTop(el); }}>
        ${sizes.map((n) => html`<option key=${n} value=${String(n)}>${n} 条</option>`)}
      </select>
    </label>`}
    <span class="pager-buttons">
      <button type="button" class="btn btn-sm pager-prev" disabled=${page <= 1} onClick=${(ev) => go(ev, page - 1)}>上一页</button>
      <span class="pager-page">${page} / ${pages}</span>
      <button type="button" class="btn btn-sm pager-next" disabled=${page >= pages} onClick=${(ev) => go(ev, page + 1)}>下一页</button>
    </span>
    ${jump && pages > 1 && html`<form class="pager-jump" onSubmit=${jumpTo}>
      <label><span>跳至</span><input name="page" type="number" inputmode="numeric" min="1" max=${pages} placeholder=${String(page)} aria-label=${`跳至第几页（1–${pages}）`} /><span>页</span></label>
      <button type="submit" class="btn btn-sm">跳转</button>
    </form>`}
  </div>`;
}

/**
 * A modal <dialog>, open for as long as it is rendered: the owner mounts it to ask and unmounts it
 * in `onClose` (Escape, a method="dialog" button, or done). Focus goes to an `autofocus` child.
 */
export function Dialog({ id, labelledBy, wide, onClose, children }) {
  const ref = useRef(null);
  useLayoutEffect(() => {
    ref.current.showModal();
  }, []);
  return html`<dialog ref=${ref} id=${id} class=${wide ? 'dialog dialog-wide' : 'dialog'} aria-labelledby=${labelledBy} onClose=${onClose}>${children}</dialog>`;
}

const toastStore = createStore(null);
let toastTimer = null;

export function toast(message, kind) {
  toastStore.set({ message, kind });
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => toastStore.set(null), kind === 'error' ? 8000 : 4000);
}

export function Toast() {
  const t = useStore(toastStore);
  return html`<div id="toast" class=${t && t.kind ? `toast ${t.kind}` : 'toast'} role="status" aria-live="polite" hidden=${!t}>${t ? t.message : ''}</div>`;
}

const confirmStore = createStore(null);
let confirmCount = 0;

/** Resolves true for the confirming button; false for cancel, Escape, or signing out meanwhile. */
export function confirmDialog(text, options = {}) {
  const pending = confirmStore.get();
  if (pending) pending.resolve(false);
  return new Promise((resolve) => confirmStore.set({ ...options, text, resolve, id: ++confirmCount }));
}

export function ConfirmHost() {
  const ask = useStore(confirmStore);
  useLayoutEffect(() => () => {
    // Unmounted with a question open (the session ended): nobody may act on a stale answer.
    const pending = confirmStore.get();
    confirmStore.set(null);
    if (pending) pending.resolve(false);
  }, []);
  if (!ask) return null;
  const close = (ev) => {
    confirmStore.set(null);
    ask.resolve(ev.currentTarget.returnValue === 'ok');
  };
  return html`<${Dialog} key=${ask.id} id="confirm-dialog" labelledBy="confirm-title" onClose=${close}>
    <form method="dialog">
      <h3 id="confirm-title">${ask.title || '请确认'}</h3>
      <p id="confirm-text">${ask.text}</p>
      <div class="dialog-actions">
        <button type="submit" class="btn" value="cancel" id="confirm-cancel" autofocus>取消</button>
        <button type="submit" class=${ask.danger === false ? 'btn btn-primary' : 'btn btn-danger'} value="ok" id="confirm-ok">${ask.ok || '确定'}</button>
      </div>
    </form>
  <//>`;
}

/** Hands a file made in the page (or fetched with the token) to the browser as a download. */
export function saveFile(blob, name) {
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // Revoked later, not now: the browser may still be reading it for the download.
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}
