// Resending many failed messages at once (issue 11): from the messages the list has selected, from
// everything the list's filter matches, or from one employee's failures after their binding was
// fixed. One dialog walks through it: find the messages, say what will be sent (and what will not,
// and why), ask before resending any of unknown outcome, then send in small chunks with a progress
// bar and each message's result as it comes.
import { html, useEffect, useLayoutEffect, useRef, useState } from '../../vendor/htm-preact.js';
import { api, errorText, get, isAbort, isStatus } from '../api.js';
import { fmtTime } from '../format.js';
import { ackBadge, badge, cell } from '../ui.js';

/** Messages per resend call: small enough for the bar to move, big enough to use the server's concurrency. */
export const CHUNK = 10;
/** The list endpoint's largest page (contract §7). */
const PAGE = 500;

/** Only these can be resent without force: the push failed, or its outcome is unknown. */
export const isResendable = (m) => Boolean(m.guid) && (m.status === 'failed' || m.status === 'unknown');

/** Every message a list filter matches (all pages), oldest first as the ERP sent them. */
export async function listAll(filter, signal, onProgress) {
  const query = Object.fromEntries(Object.entries(filter).filter(([key]) => key !== 'offset'));
  const items = [];
  let total = Infinity;
  for (let offset = 0; offset < total; offset += PAGE) {
    const page = await get('/messages', { query: { ...query, limit: PAGE, offset }, signal });
    total = page.total || 0;
    items.push(...(page.items || []));
    if (onProgress) onProgress(items.length, total);
    if (!page.items || page.items.length === 0) break;
  }
  return oldestFirst(items);
}

export const oldestFirst = (items) => [...items].sort((a, b) => String(a.receivedAt).localeCompare(String(b.receivedAt)) || Number(a.id) - Number(b.id));

// The API's reasons for not resending one message (409/404 texts), in the staff's words.
const ERRORS = [
  [/already delivered/i, '已送达，未重复发送'],
  [/being processed/i, '正在处理中，未重复发送'],
  [/refused/i, '该推送被拒收，没有可发送的审批内容'],
  [/no message/i, '找不到该消息'],
];

export function resendErrorText(error) {
  const known = ERRORS.find(([pattern]) => pattern.test(error));
  return known ? known[1] : error;
}

const describe = (m) => `${m.employeeNo || '—'}${m.applicantName ? ` ${m.applicantName}` : ''}`;

/**
 * `load(signal, onProgress)` finds the candidate messages (list summaries). `intro` says why the
 * dialog opened. `quietIfNothing`: close without a word when there is nothing to resend (the
 * offer after saving a binding). `onFinished` runs after any resend, so the caller reloads.
 */
export function BulkResend({ title, intro, load, quietIfNothing, onClose, onFinished }) {
  const ref = useRef(null);
  const [phase, setPhase] = useState('collecting');
  const [found, setFound] = useState({ n: 0, total: 0 });
  const [candidates, setCandidates] = useState([]);
  const [error, setError] = useState('');
  const [withUnknown, setWithUnknown] = useState(false);
  const [queue, setQueue] = useState([]);
  const [results, setResults] = useState({});
  const stopRef = useRef(false);
  const runningRef = useRef(false);

  useLayoutEffect(() => {
    ref.current.showModal();
  }, []);

  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal, (n, total) => setFound({ n, total })).then(
      (items) => {
        setCandidates(items);
        const any = items.some(isResendable);
        if (!any && quietIfNothing) onClose();
        else setPhase('confirm');
      },
      (err) => {
        if (isAbort(err) || isStatus(err, 401)) return;
        setError(`无法列出要重新发送的消息：${errorText(err)}`);
        setPhase('confirm');
      },
    );
    return () => controller.abort();
  }, []);

  const failed = candidates.filter((m) => isResendable(m) && m.status === 'failed');
  const unknown = candidates.filter((m) => isResendable(m) && m.status === 'unknown');
  const skipped = candidates.length - failed.length - unknown.length;
  const chosen = withUnknown ? oldestFirst([...failed, ...unknown]) : failed;

  async function start() {
    const list = chosen;
    setQueue(list);
    setResults({});
    setPhase('running');
    runningRef.current = true;
    stopRef.current = false;
    for (let i = 0; i < list.length && !stopRef.current; i += CHUNK) {
      const chunk = list.slice(i, i + CHUNK).map((m) => m.guid);
      let answer;
      try {
        answer = await api('POST', '/messages/resend', { json: { guids: chunk, force: false } });
      } catch (err) {
        if (isStatus(err, 401)) return; // signed out: the page is gone
        answer = { items: chunk.map((guid) => ({ guid, error: errorText(err) })) };
      }
      const byGuid = Object.fromEntries((answer.items || []).map((r) => [r.guid, r]));
      setResults((prev) => {
        const next = { ...prev };
        for (const guid of chunk) next[guid] = byGuid[guid] || { guid, error: '服务器没有返回这条消息的结果' };
        return next;
      });
    }
    runningRef.current = false;
    setPhase(stopRef.current ? 'stopped' : 'done');
    if (onFinished) onFinished();
  }

  const doneCount = Object.keys(results).length;
  const ok = Object.values(results).filter((r) => r.ackCode === 'AA').length;
  const bad = doneCount - ok;
  const running = phase === 'running';

  // Escape must not throw away a run half done: while sending, it asks to stop instead.
  const onCancel = (ev) => {
    if (runningRef.current) {
      ev.preventDefault();
      stopRef.current = true;
    }
  };

  return html`<dialog ref=${ref} id="bulk-dialog" class="dialog dialog-wide bulk-dialog" aria-labelledby="bulk-title" onCancel=${onCancel} onClose=${onClose}>
    <div class="dialog-body">
      <h2 id="bulk-title" class="dialog-title">${title || '批量重新发送'}</h2>
      ${intro ? html`<p class="bulk-intro">${intro}</p>` : null}
      ${phase === 'collecting' && html`<p id="bulk-collecting" role="status">正在查找要重新发送的消息…${found.total ? `（${found.n} / ${found.total}）` : ''}</p>`}
      ${error && html`<p class="alert alert-error" role="alert">${error}</p>`}
      ${phase === 'confirm' && !error && confirmPart({ failed, unknown, skipped, withUnknown, setWithUnknown })}
      ${phase !== 'collecting' && phase !== 'confirm' && html`
        <div class="bulk-progress-row">
          <progress id="bulk-progress" max=${queue.length} value=${doneCount} aria-label="重新发送进度">${doneCount} / ${queue.length}</progress>
          <span id="bulk-count" class="bulk-count">${doneCount} / ${queue.length}</span>
        </div>
        <p id="bulk-summary" class="bulk-summary" role="status" data-phase=${phase}>
          ${running ? `正在发送…已完成 ${doneCount} 条（成功 ${ok}，失败 ${bad}）` : `${phase === 'stopped' ? '已停止' : '全部完成'}：成功 ${ok} 条，失败 ${bad} 条${phase === 'stopped' ? `，未发送 ${queue.length - doneCount} 条` : ''}。`}
        </p>
        ${resultsTable(queue, results)}`}
      <div class="dialog-actions">
        ${phase === 'confirm' && html`<button type="button" class="btn" id="bulk-cancel" onClick=${() => ref.current.close()}>取消</button>`}
        ${phase === 'confirm' && chosen.length > 0 && html`<button type="button" class="btn btn-primary" id="bulk-start" onClick=${start}>开始重新发送（${chosen.length} 条）</button>`}
        ${phase === 'confirm' && chosen.length === 0 && !error && html`<span class="muted small">没有要重新发送的消息</span>`}
        ${running && html`<button type="button" class="btn" id="bulk-stop" disabled=${stopRef.current} onClick=${() => { stopRef.current = true; setResults((r) => ({ ...r })); }}>${stopRef.current ? '正在停止…' : '停止'}</button>`}
        ${(phase === 'done' || phase === 'stopped' || phase === 'collecting') && html`<button type="button" class=${phase === 'collecting' ? 'btn' : 'btn btn-primary'} id="bulk-close" onClick=${() => ref.current.close()}>${phase === 'collecting' ? '取消' : '关闭'}</button>`}
      </div>
    </div>
  </dialog>`;
}

function confirmPart({ failed, unknown, skipped, withUnknown, setWithUnknown }) {
  return html`<div id="bulk-confirm" class="bulk-confirm">
    <p id="bulk-plan">${failed.length > 0 ? html`将重新发送 <b>${failed.length}</b> 条失败消息。` : '没有发送失败的消息。'}</p>
    ${unknown.length > 0 && html`<div class="alert alert-warn" id="bulk-unknown">
      <p><b>另有 ${unknown.length} 条消息结果未知。</b>发送时微信没有及时应答，这些消息<b>可能已经送达</b>员工；再次发送可能让员工收到重复的通知。建议先向员工确认是否已收到。</p>
      <label class="check">
        <input type="checkbox" id="bulk-include-unknown" checked=${withUnknown} onChange=${(ev) => setWithUnknown(ev.currentTarget.checked)} />
        <span>我已确认，同时重新发送这 ${unknown.length} 条结果未知的消息</span>
      </label>
    </div>`}
    ${skipped > 0 && html`<p class="muted small" id="bulk-skipped">另有 ${skipped} 条消息不会重新发送（已送达、沙箱、正在处理或被拒收的推送）。</p>`}
  </div>`;
}

function resultsTable(queue, results) {
  return html`<div class="bulk-results-wrap" tabindex="0" role="region" aria-label="每条消息的重新发送结果">
    <table class="table table-cards" id="bulk-results">
      <thead><tr><th>GUID</th><th>申请人</th><th>接收时间</th><th>结果</th></tr></thead>
      <tbody>${queue.map((m) => {
        const r = results[m.guid];
        const state = !r ? 'pending' : r.error ? 'error' : r.ackCode === 'AA' ? 'ok' : 'failed';
        return html`<tr key=${m.guid} data-guid=${m.guid} data-result=${state}>
          ${cell('GUID', html`<span class="guid">${m.guid}</span>`)}
          ${cell('申请人', describe(m), 'nowrap')}
          ${cell('接收时间', fmtTime(m.receivedAt), 'nowrap')}
          ${cell('结果', resultCell(r), 'reason')}
        </tr>`;
      })}</tbody>
    </table>
  </div>`;
}

function resultCell(r) {
  if (!r) return html`<span class="muted">等待发送</span>`;
  if (r.error) return html`${badge('未发送', 'err')} <span>${resendErrorText(r.error)}</span>`;
  return html`${ackBadge(r.ackCode)} <span>${r.reason || ''}</span>`;
}
