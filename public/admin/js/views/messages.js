import { html, useEffect, useState } from '../../vendor/htm-preact.js';
import { errorText } from '../api.js';
import { fmtTime } from '../format.js';
import { hrefOf, openMessage } from '../links.js';
import { useList } from '../load.js';
import { FILTER_DEFAULTS, useFilters } from '../state.js';
import { Alert, Pager, ackBadge, cell, emptyRow, statusBadge, useDraft } from '../ui.js';
import { BulkResend, isResendable, listAll, oldestFirst } from './bulk-resend.js';

/** The filters as typed: text trimmed, offset back to the first page. */
const typed = (d) => ({ outcome: d.outcome, employeeNo: d.employeeNo.trim(), guid: d.guid.trim(), from: d.from, to: d.to, q: d.q.trim() });

const FILTER_KEYS = Object.keys(FILTER_DEFAULTS.messages);

/**
 * The list's address with its filters (#/messages?outcome=AE&q=王): bookmarkable, and what a reload
 * comes back to (app.js reads it into the filters). Empty filters leave plain #/messages.
 */
export function messagesAddress(filters) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filters[key];
    if (key === 'offset' ? value > 0 : value) params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `#/messages?${qs}` : '#/messages';
}

// replaceState changes the address without a hashchange, so the view is not remounted (and the
// selection is kept) while the filters are written into it.
function writeAddress(filters) {
  const address = messagesAddress(filters);
  if (window.location.hash !== address) window.history.replaceState(null, '', address);
}

const who = (m) => [m.employeeNo, m.applicantName].filter(Boolean).join(' ');

export function Messages() {
  const [filters, setFilters] = useFilters('messages');
  const [draft, field, setDraft] = useDraft(filters);
  const badDates = Boolean(filters.from && filters.to && filters.from > filters.to);
  const list = useList('/messages', badDates ? null : filters);
  // guid → the message's list summary; kept across pages, cleared when the filter changes.
  const [selected, setSelected] = useState(() => new Map());
  const [bulk, setBulk] = useState(null);

  useEffect(() => writeAddress(filters), [filters]);

  const apply = (next) => {
    setDraft({ ...next, offset: 0 });
    setFilters(next);
    setSelected(new Map());
    list.reload();
  };
  const submit = (ev) => {
    ev.preventDefault();
    apply(typed(draft));
  };
  // (The pager brings the list's top back into view itself.)
  const page = (offset) => {
    setFilters({ ...filters, offset });
    list.reload();
  };

  const data = list.data;
  const items = (data && data.items) || [];
  const total = data ? data.total || 0 : 0;
  const resendable = items.filter(isResendable);
  const select = (ms, on) =>
    setSelected((prev) => {
      const next = new Map(prev);
      for (const m of ms) {
        if (on) next.set(m.guid, m);
        else next.delete(m.guid);
      }
      return next;
    });
  const allOnPage = resendable.length > 0 && resendable.every((m) => selected.has(m.guid));
  const someOnPage = resendable.some((m) => selected.has(m.guid));

  const resendSelected = () => {
    const chosen = oldestFirst([...selected.values()]);
    setBulk({
      title: '重新发送所选消息',
      intro: `已选 ${chosen.length} 条消息。`,
      load: async () => chosen,
    });
  };
  const resendAll = () => {
    const filter = { ...filters };
    setBulk({
      title: '重新发送全部符合筛选条件的消息',
      intro: `当前筛选条件（${describeFilter(filter)}）共匹配 ${total} 条消息。`,
      load: (signal, onProgress) => listAll(filter, signal, onProgress),
    });
  };

  const error = badDates ? '起始日期不能晚于截止日期。' : list.error ? `无法加载消息记录：${errorText(list.error)}` : '';
  return html`<section id="view-messages" class="view">
    <div class="page-head">
      <h1 tabindex="-1">消息记录</h1>
    </div>
    <form id="msg-filter" class="filters" role="search" aria-label="查找消息" onSubmit=${submit}>
      <label class="field">
        <span>结果</span>
        <select id="msg-outcome" name="outcome" value=${draft.outcome} onChange=${(ev) => apply(typed({ ...draft, outcome: ev.currentTarget.value }))}>
          <option value="">全部</option>
          <option value="AA">AA 成功</option>
          <option value="AE">AE 失败</option>
          <option value="unknown">结果未知</option>
          <option value="sandbox">沙箱</option>
        </select>
      </label>
      <label class="field">
        <span>工号</span>
        <input ...${field('employeeNo')} id="msg-employee" type="text" autocomplete="off" />
      </label>
      <label class="field">
        <span>GUID 开头</span>
        <input ...${field('guid')} id="msg-guid" type="text" autocomplete="off" spellcheck=${false} placeholder="前几位，不分大小写" />
      </label>
      <label class="field">
        <span>起始日期</span>
        <input ...${field('from')} id="msg-from" type="date" />
      </label>
      <label class="field">
        <span>截止日期</span>
        <input ...${field('to')} id="msg-to" type="date" />
      </label>
      <label class="field grow">
        <span>关键字</span>
        <input ...${field('q')} id="msg-q" type="search" placeholder="单据编号、姓名、工号、GUID 或原因" />
      </label>
      <div class="field field-buttons">
        <button type="submit" class="btn btn-primary">查询</button>
        <button type="button" class="btn" id="msg-reset" onClick=${() => apply(FILTER_DEFAULTS.messages)}>重置</button>
      </div>
    </form>
    <${Alert} id="msg-error" message=${error} />
    ${hintSummary(items)}
    <div class="panel">
      <div class="bulk-bar msg-bulk" id="msg-bulk">
        <span id="msg-selected-count" class="msg-selected-count" aria-live="polite">已选 ${selected.size} 条</span>
        <button type="button" class="btn btn-sm btn-primary" id="msg-resend-selected" disabled=${selected.size === 0} onClick=${resendSelected}>重新发送所选（${selected.size}）</button>
        ${selected.size > 0 && html`<button type="button" class="btn btn-sm" id="msg-clear-selection" onClick=${() => setSelected(new Map())}>清除选择</button>`}
        ${data && total > 0 && html`<button type="button" class="btn btn-sm" id="msg-resend-all" onClick=${resendAll}>重新发送全部符合筛选条件的消息（共 ${total} 条）</button>`}
      </div>
      <div class="table-wrap">
        <table class="table table-cards" id="msg-table">
          <thead><tr>
            <th class="col-select"><input type="checkbox" id="msg-select-page" aria-label="全选本页可重新发送的消息"
              checked=${allOnPage} indeterminate=${someOnPage && !allOnPage} disabled=${resendable.length === 0}
              onChange=${(ev) => select(resendable, ev.currentTarget.checked)} /></th>
            <th>接收时间</th><th>申请人</th><th>单据编号</th><th>结果</th><th>原因与处理建议</th><th>推送次数</th><th>GUID</th><th class="col-actions">操作</th>
          </tr></thead>
          <tbody>
            ${data && items.length === 0 ? emptyRow(9, '没有符合条件的消息') : null}
            ${items.map((m) => row(m, selected.has(m.guid), (on) => select([m], on)))}
          </tbody>
        </table>
      </div>
      <${Pager} id="msg-pager" total=${data ? total : null} offset=${filters.offset} onPage=${page} />
    </div>
    ${bulk && html`<${BulkResend} ...${bulk} onClose=${() => setBulk(null)} onFinished=${() => { setSelected(new Map()); list.reload(); }} />`}
  </section>`;
}

function row(m, checked, onSelect) {
  const label = `消息 ${m.guid || m.id}${who(m) ? `（${who(m)}）` : ''}`;
  const stop = (ev) => ev.stopPropagation();
  return html`<tr key=${m.id} class=${checked ? 'clickable selected' : 'clickable'} data-guid=${m.guid || ''} data-status=${m.status} onClick=${() => openMessage(m)}>
    ${cell('选择', isResendable(m)
      ? html`<input type="checkbox" class="row-check" checked=${checked} aria-label=${`选择${label}`} onClick=${stop} onChange=${(ev) => onSelect(ev.currentTarget.checked)} />`
      : '', 'col-select')}
    ${cell('接收时间', fmtTime(m.receivedAt), 'nowrap')}
    ${cell('申请人', m.employeeNo ? html`<span class="applicant"><span class="mono">${m.employeeNo}</span>${m.applicantName ? html` <span>${m.applicantName}</span>` : null}</span>` : '—', 'nowrap')}
    ${cell('单据编号', m.billNum ? html`<span class="bill-num">${m.billNum}</span>` : '—')}
    ${cell('结果', html`<span class="outcome-cell">${ackBadge(m.ackCode)}${statusBadge(m.status)}</span>`)}
    ${cell('原因', html`<div>${m.reason || ''}</div>${m.hint ? html`<div class="msg-hint">${m.hint}</div>` : null}`, 'reason')}
    ${cell('推送次数', String(m.pushCount || 1))}
    ${cell('GUID', m.guid ? html`<span class="guid">${m.guid}</span>` : html`<span class="muted">（无 GUID）</span>`)}
    ${cell('操作', html`<a href=${hrefOf(m)} aria-label=${`查看${label}的详情`} onClick=${stop}>详情</a>`, 'col-actions')}
  </tr>`;
}

/**
 * What to do about the failures on this page: each distinct hint once, with how many messages it
 * concerns (the rows repeat it in short).
 */
function hintSummary(items) {
  const groups = new Map();
  for (const m of items) {
    if (!m.hint || !(m.status === 'failed' || m.status === 'unknown')) continue;
    const g = groups.get(m.hint) || { hint: m.hint, count: 0, employees: new Set() };
    g.count += 1;
    if (m.employeeNo) g.employees.add(m.employeeNo);
    groups.set(m.hint, g);
  }
  if (groups.size === 0) return null;
  const list = [...groups.values()].sort((a, b) => b.count - a.count);
  return html`<div class="panel hint-summary" id="msg-hints">
    <div class="panel-head"><h2 class="panel-title">本页失败消息的处理建议</h2></div>
    <ul class="hint-list">
      ${list.map((g) => html`<li key=${g.hint}><span class="hint-count">${g.count} 条 · ${g.employees.size} 人</span><span>${g.hint}</span></li>`)}
    </ul>
  </div>`;
}

const OUTCOME_NAMES = { AA: 'AA 成功', AE: 'AE 失败', unknown: '结果未知', sandbox: '沙箱' };

/** The filter in words, for the confirmation of "all matching". */
function describeFilter(f) {
  const parts = [];
  if (f.outcome) parts.push(`结果：${OUTCOME_NAMES[f.outcome] || f.outcome}`);
  if (f.employeeNo) parts.push(`工号：${f.employeeNo}`);
  if (f.guid) parts.push(`GUID 开头：${f.guid}`);
  if (f.from) parts.push(`自 ${f.from}`);
  if (f.to) parts.push(`至 ${f.to}`);
  if (f.q) parts.push(`关键字：${f.q}`);
  return parts.length ? parts.join('，') : '无筛选';
}
