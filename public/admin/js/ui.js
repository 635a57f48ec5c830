// The pieces every view is built from. All of it renders through htm + preact, which put server
// values into the page as text: reasons, names and payloads are hostile input, and nothing here
// (or anywhere in the page) uses dangerouslySetInnerHTML.
import { html, useLayoutEffect, useRef, useState } from '../vendor/htm-preact.js';
import { errorText, isStatus } from './api.js';
import { createStore, PAGE_SIZE, useStore } from './state.js';

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

export function Pager({ id, total, offset, onPage }) {
  if (total === null) return html`<div class="pager" id=${id}></div>`;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const page = Math.floor(offset / PAGE_SIZE) + 1;
  const range = total > 0 ? `，第 ${offset + 1}–${Math.min(total, offset + PAGE_SIZE)} 条` : '';
  return html`<div class="pager" id=${id}>
    <span class="pager-total">共 ${total} 条${range}</span>
    <span class="pager-buttons">
      <button type="button" class="btn btn-sm" disabled=${page <= 1} onClick=${() => onPage(Math.max(0, offset - PAGE_SIZE))}>上一页</button>
      <span>${page} / ${pages}</span>
      <button type="button" class="btn btn-sm" disabled=${page >= pages} onClick=${() => onPage(offset + PAGE_SIZE)}>下一页</button>
    </span>
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
