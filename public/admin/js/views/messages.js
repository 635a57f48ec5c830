import { html } from '../../vendor/htm-preact.js';
import { errorText } from '../api.js';
import { fmtTime } from '../format.js';
import { hrefOf, openMessage } from '../links.js';
import { useList } from '../load.js';
import { FILTER_DEFAULTS, useFilters } from '../state.js';
import { Alert, Pager, ackBadge, cell, emptyRow, statusBadge, useDraft } from '../ui.js';

/** The filters as typed: text trimmed, offset back to the first page. */
const typed = (d) => ({ outcome: d.outcome, employeeNo: d.employeeNo.trim(), guid: d.guid.trim(), from: d.from, to: d.to, q: d.q.trim() });

// A filter arriving in the address (#/messages?outcome=AE) has been applied by now; once the user
// filters by hand the address goes back to plain #/messages, so that returning from a message
// to the list keeps the user's filters rather than the link's.
function plainAddress() {
  if (window.location.hash !== '#/messages') window.history.replaceState(null, '', '#/messages');
}

export function Messages() {
  const [filters, setFilters] = useFilters('messages');
  const [draft, field, setDraft] = useDraft(filters);
  const badDates = Boolean(filters.from && filters.to && filters.from > filters.to);
  const list = useList('/messages', badDates ? null : filters);

  const apply = (next) => {
    setDraft({ ...next, offset: 0 });
    setFilters(next);
    plainAddress();
    list.reload();
  };
  const submit = (ev) => {
    ev.preventDefault();
    apply(typed(draft));
  };

  const data = list.data;
  const items = (data && data.items) || [];
  const error = badDates ? '起始日期不能晚于截止日期。' : list.error ? `无法加载消息记录：${errorText(list.error)}` : '';
  return html`<section id="view-messages" class="view">
    <div class="page-head">
      <h2>消息记录</h2>
    </div>
    <form id="msg-filter" class="filters" role="search" onSubmit=${submit}>
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
        <span>GUID</span>
        <input ...${field('guid')} id="msg-guid" type="text" autocomplete="off" spellcheck=${false} />
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
        <input ...${field('q')} id="msg-q" type="search" placeholder="原因、GUID 或工号片段" />
      </label>
      <div class="field field-buttons">
        <button type="submit" class="btn btn-primary">查询</button>
        <button type="button" class="btn" id="msg-reset" onClick=${() => apply(FILTER_DEFAULTS.messages)}>重置</button>
      </div>
    </form>
    <${Alert} id="msg-error" message=${error} />
    <div class="panel">
      <div class="table-wrap">
        <table class="table table-cards" id="msg-table">
          <thead><tr><th>接收时间</th><th>工号</th><th>结果</th><th>状态</th><th>原因</th><th>推送次数</th><th>GUID</th><th class="col-actions">操作</th></tr></thead>
          <tbody>
            ${data && items.length === 0 ? emptyRow(8, '没有符合条件的消息') : null}
            ${items.map((m) => html`<tr key=${m.id} class="clickable" data-guid=${m.guid || ''} onClick=${() => openMessage(m)}>
              ${cell('接收时间', fmtTime(m.receivedAt), 'nowrap')}
              ${cell('工号', m.employeeNo || '—', 'nowrap')}
              ${cell('结果', ackBadge(m.ackCode))}
              ${cell('状态', statusBadge(m.status))}
              ${cell('原因', m.reason || '', 'reason')}
              ${cell('推送次数', String(m.pushCount || 1))}
              ${cell('GUID', m.guid ? html`<span class="guid">${m.guid}</span>` : html`<span class="muted">（无 GUID）</span>`)}
              ${cell('操作', html`<a href=${hrefOf(m)} onClick=${(ev) => ev.stopPropagation()}>详情</a>`, 'col-actions')}
            </tr>`)}
          </tbody>
        </table>
      </div>
      <${Pager} id="msg-pager" total=${data ? data.total || 0 : null} offset=${filters.offset} onPage=${(offset) => { setFilters({ ...filters, offset }); list.reload(); }} />
    </div>
  </section>`;
}
