import { html, useEffect, useState } from '../../vendor/htm-preact.js';
import { api, errorText, isStatus } from '../api.js';
import { BINDINGS, bindingCell, interactionCell } from '../binding.js';
import { fmtTime, today } from '../format.js';
import { useList } from '../load.js';
import { session } from '../session.js';
import { useFilters, useStore } from '../state.js';
import { Alert, Pager, badge, cell, confirmDialog, emptyRow, saveFile, toast, useDraft } from '../ui.js';
import { EmployeeDialog } from './employee-dialog.js';
import { ImportDialog } from './import-dialog.js';
import { BatchInviteDialog, InviteDialog, RosterImportDialog, describeFilters } from './invitations.js';

/** The sortable columns (GET /employees?sort=…&order=…) and the order each starts in when chosen. */
const SORTS = { employeeNo: ['工号', 'asc'], name: ['姓名', 'asc'], updatedAt: ['更新时间', 'desc'] };

const SORT_CHOICES = [
  ['updatedAt:desc', '最近更新在前'],
  ['updatedAt:asc', '最早更新在前'],
  ['employeeNo:asc', '工号从小到大'],
  ['employeeNo:desc', '工号从大到小'],
  ['name:asc', '姓名升序'],
  ['name:desc', '姓名降序'],
];

/** A page this long gets its pager at the top as well, so nobody scrolls down just to page on. */
const LONG_PAGE = 15;

/** How a row's buttons are named for a screen reader: the action and whose row it is. */
const who = (e) => `${e.employeeNo}${e.name ? ` ${e.name}` : ''}`;

/** A column header that sorts the list: a button inside, the current order on the header (aria-sort). */
function SortHeader({ by, filters, onSort, className }) {
  const [label] = SORTS[by];
  const active = filters.sort === by;
  const ariaSort = active ? (filters.order === 'asc' ? 'ascending' : 'descending') : null;
  const arrow = active ? (filters.order === 'asc' ? '↑' : '↓') : '↕';
  const next = active ? (filters.order === 'asc' ? '降序' : '升序') : SORTS[by][1] === 'asc' ? '升序' : '降序';
  return html`<th class=${className} aria-sort=${ariaSort} scope="col">
    <button type="button" class=${active ? 'th-sort active' : 'th-sort'} id=${`emp-sort-${by}`} title=${`按${label}${next}排列`} onClick=${() => onSort(by)}>
      ${label}<span class="sort-arrow" aria-hidden="true">${arrow}</span>
    </button>
  </th>`;
}

export function Employees() {
  const [filters, setFilters] = useFilters('employees');
  const [draft, field, setDraft] = useDraft(filters);
  const list = useList('/employees', filters);
  // undefined: no dialog; null: adding; a record: editing it.
  const [editing, setEditing] = useState(undefined);
  const [importing, setImporting] = useState(false);
  const [exporting, setExporting] = useState(false);
  // The employee a 生成绑定码 dialog is open for; the batch and HR-list dialogs.
  const [inviting, setInviting] = useState(null);
  const [batch, setBatch] = useState(false);
  const [roster, setRoster] = useState(false);
  // Ticked rows by employee number, kept across pages (and refreshed with each page's records).
  const [selected, setSelected] = useState(() => new Map());
  const { delivery } = useStore(session);

  // 查询 with unchanged filters still asks again: the user wants to see what is there now.
  const apply = (next) => {
    setFilters(next);
    list.reload();
  };
  // A new search starts on page 1 but keeps the order and the page size the user chose.
  const view = { sort: filters.sort, order: filters.order, limit: filters.limit };
  const search = (ev) => {
    ev.preventDefault();
    const next = { q: draft.q.trim(), active: draft.active, binding: draft.binding };
    setDraft({ ...draft, ...next });
    apply({ ...view, ...next });
  };
  // The selects apply at once, with whatever is typed in the search box.
  const setSelect = (name) => (ev) => {
    const next = { q: draft.q.trim(), active: draft.active, binding: draft.binding, [name]: ev.currentTarget.value };
    setDraft({ ...draft, ...next });
    apply({ ...view, ...next });
  };
  // Sorting and the page size keep the search as it was applied (not as half-typed) and go to page 1.
  const applied = { q: filters.q, active: filters.active, binding: filters.binding };
  const sortBy = (by) => {
    const order = filters.sort === by ? (filters.order === 'asc' ? 'desc' : 'asc') : SORTS[by][1];
    apply({ ...applied, limit: filters.limit, sort: by, order });
  };
  const setOrder = (ev) => {
    const [by, order] = ev.currentTarget.value.split(':');
    apply({ ...applied, limit: filters.limit, sort: by, order });
  };
  const setLimit = (limit) => apply({ ...applied, sort: filters.sort, order: filters.order, limit });
  const toPage = (offset) => apply({ ...filters, offset });
  // A new binding may sort anywhere: start again from page 1 to find it.
  const refresh = (firstPage) => (firstPage ? apply({ ...filters, offset: 0 }) : list.reload());

  async function toggle(e) {
    if (e.active) {
      const ok = await confirmDialog(`停用工号 ${e.employeeNo}（${e.name || '未填姓名'}）的绑定？\n停用后该员工的审批推送将返回“工号关联账号不存在”。`, { ok: '停用', danger: true });
      if (!ok) return;
    }
    try {
      // No openid: the stored one is kept, even if the employee bound a new WeChat since this page loaded.
      await api('PUT', `/employees/${encodeURIComponent(e.employeeNo)}`, { json: { name: e.name || '', active: !e.active } });
      toast(`${e.employeeNo} 已${e.active ? '停用' : '启用'}`);
      refresh(false);
    } catch (err) {
      if (!isStatus(err, 401)) toast(`操作失败：${errorText(err)}`, 'error');
    }
  }

  async function remove(e) {
    const ok = await confirmDialog(`确定删除工号 ${e.employeeNo}（${e.name || '未填姓名'}）的绑定吗？\n删除后无法恢复（操作会记入操作记录）。`, { ok: '删除', danger: true, title: '删除绑定' });
    if (!ok) return;
    try {
      await api('DELETE', `/employees/${encodeURIComponent(e.employeeNo)}`);
      toast(`已删除：${e.employeeNo}`);
    } catch (err) {
      if (isStatus(err, 401)) return;
      toast(isStatus(err, 404) ? `工号 ${e.employeeNo} 已不存在` : `删除失败：${errorText(err)}`, 'error');
    }
    refresh(false);
  }

  async function exportCsv() {
    setExporting(true);
    try {
      await download(filters);
    } catch (err) {
      if (!isStatus(err, 401)) toast(`导出失败：${errorText(err)}`, 'error');
    } finally {
      setExporting(false);
    }
  }

  const data = list.data;
  const items = (data && data.items) || [];
  const total = data ? data.total || 0 : null;

  const isSelected = (e) => selected.has(e.employeeNo);
  const pageSelected = items.filter(isSelected).length;
  function select(records, on) {
    setSelected((prev) => {
      const next = new Map(prev);
      for (const e of records) {
        if (on) next.set(e.employeeNo, e);
        else next.delete(e.employeeNo);
      }
      return next;
    });
  }
  // The records of ticked rows as last loaded (binding, name) for the batch dialog.
  const selectedRecords = () => [...selected.values()].map((e) => items.find((i) => i.employeeNo === e.employeeNo) || e);

  // Past the end (the last rows of the last page were deleted, or a bookmark-old offset): the last page.
  useEffect(() => {
    if (data && items.length === 0 && total > 0 && filters.offset > 0) toPage(Math.floor((total - 1) / filters.limit) * filters.limit);
  }, [data]);

  const filtered = Boolean(filters.q || filters.active || filters.binding);
  const exportLabel = exporting ? '导出中…' : total === null ? '导出 CSV' : `导出 CSV（${total} 条）`;
  const pager = (id, className) => html`<${Pager} id=${id} className=${className} total=${total} offset=${filters.offset} limit=${filters.limit}
    onPage=${toPage} onLimit=${setLimit} jump />`;

  return html`<section id="view-employees" class="view">
    <div class="page-head">
      <h1 tabindex="-1">员工绑定</h1>
      <div class="actions">
        <button type="button" class="btn btn-primary" id="emp-add" onClick=${() => setEditing(null)}>新增员工</button>
        <button type="button" class="btn btn-primary" id="emp-roster" onClick=${() => setRoster(true)}>导入人员名单</button>
        <button type="button" class="btn" id="emp-import" onClick=${() => setImporting(true)}>导入（CSV / Excel）</button>
        <button type="button" class="btn" id="emp-export" disabled=${exporting || total === 0}
          title=${filtered ? `导出当前筛选结果（${describeFilters(filters)}）` : '导出全部员工'} onClick=${exportCsv}>${exportLabel}</button>
      </div>
    </div>
    <form id="emp-search" class="filters" role="search" aria-label="查找员工" onSubmit=${search}>
      <label class="field grow">
        <span>搜索</span>
        <input ...${field('q')} id="emp-q" type="search" placeholder="工号、姓名或 openid 片段" />
      </label>
      <label class="field">
        <span>状态</span>
        <select id="emp-active" name="active" value=${draft.active} onChange=${setSelect('active')}>
          <option value="">全部</option>
          <option value="true">启用</option>
          <option value="false">停用</option>
        </select>
      </label>
      <label class="field">
        <span>绑定状态</span>
        <select id="emp-binding" name="binding" value=${draft.binding} onChange=${setSelect('binding')}>
          <option value="">全部</option>
          ${BINDINGS.map(([key, label]) => html`<option value=${key}>${label}</option>`)}
        </select>
      </label>
      <label class="field">
        <span>排序</span>
        <select id="emp-sort" name="sort" value=${`${filters.sort}:${filters.order}`} onChange=${setOrder}>
          ${SORT_CHOICES.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
        </select>
      </label>
      <div class="field field-buttons">
        <button type="submit" class="btn btn-primary">查询</button>
      </div>
    </form>
    <${Alert} id="emp-error" message=${list.error ? `无法加载员工列表：${errorText(list.error)}` : ''} />
    <div class="panel">
      <div class="panel-head bulk-bar" id="emp-bulk">
        <div class="bulk-left">
          <label class="check select-all">
            <input type="checkbox" id="emp-select-all" checked=${items.length > 0 && pageSelected === items.length}
              indeterminate=${pageSelected > 0 && pageSelected < items.length} disabled=${items.length === 0}
              onChange=${(ev) => select(items, ev.currentTarget.checked)} />
            <span>全选本页</span>
          </label>
          <span id="emp-selected-count" class="muted">已选 <b>${selected.size}</b> 人</span>
          ${selected.size > 0 && html`<button type="button" class="btn btn-sm" id="emp-clear-selection" onClick=${() => setSelected(new Map())}>清除选择</button>`}
        </div>
        <button type="button" class="btn btn-primary btn-sm" id="emp-batch-invite" disabled=${total === null}
          title=${selected.size > 0 ? `为已选的 ${selected.size} 人生成` : '为当前筛选结果生成'} onClick=${() => setBatch(true)}>批量生成绑定码</button>
      </div>
      ${items.length > LONG_PAGE && pager('emp-pager-top', 'pager-top')}
      <div class="table-wrap">
        <table class="table table-cards" id="emp-table" aria-label="员工列表">
          <thead><tr>
            <${SortHeader} by="employeeNo" filters=${filters} onSort=${sortBy} />
            <${SortHeader} by="name" filters=${filters} onSort=${sortBy} />
            <th scope="col">openid</th><th scope="col">绑定状态</th><th scope="col">最近互动</th><th scope="col">状态</th>
            <${SortHeader} by="updatedAt" filters=${filters} onSort=${sortBy} />
            <th scope="col" class="col-actions">操作</th>
          </tr></thead>
          <tbody>
            ${data && items.length === 0 ? emptyRow(8, filtered ? '没有符合条件的员工' : '还没有员工，点击“新增员工”“导入人员名单”或“导入（CSV / Excel）”') : null}
            ${items.map((e) => html`<tr key=${e.employeeNo} data-employee-no=${e.employeeNo} class=${isSelected(e) ? 'selected' : null}>
              ${cell('工号', html`<label class="row-select">
                <input type="checkbox" class="row-check" checked=${isSelected(e)} aria-label=${`选择 ${who(e)}`} onChange=${(ev) => select([e], ev.currentTarget.checked)} />
                <span>${e.employeeNo}</span>
              </label>`, 'nowrap emp-no')}
              ${cell('姓名', e.name || '—')}
              ${cell('openid', e.openid ? e.openid : html`<span class="muted">—</span>`, 'mono')}
              ${cell('绑定状态', bindingCell(e), 'binding-col')}
              ${cell('最近互动', interactionCell(e, delivery), 'interaction-col')}
              ${cell('状态', e.active ? badge('启用', 'ok') : badge('停用'))}
              ${cell('更新时间', fmtTime(e.updatedAt), 'nowrap')}
              ${cell('操作', html`<div class="row-actions">
                <button type="button" class="btn-link btn invite" aria-label=${`生成绑定码 ${who(e)}`} onClick=${() => setInviting(e)}>生成绑定码</button>
                <button type="button" class="btn-link btn" aria-label=${`编辑 ${who(e)}`} onClick=${() => setEditing(e)}>编辑</button>
                <button type="button" class="btn-link btn" aria-label=${`${e.active ? '停用' : '启用'} ${who(e)}`} onClick=${() => toggle(e)}>${e.active ? '停用' : '启用'}</button>
                <button type="button" class="btn-link btn danger" aria-label=${`删除 ${who(e)}`} onClick=${() => remove(e)}>删除</button>
              </div>`, 'col-actions')}
            </tr>`)}
          </tbody>
        </table>
      </div>
      ${pager('emp-pager')}
    </div>
    ${editing !== undefined && html`<${EmployeeDialog} record=${editing} onClose=${() => setEditing(undefined)}
      onSaved=${(added) => { setEditing(undefined); refresh(added); }} />`}
    ${importing && html`<${ImportDialog} onClose=${() => setImporting(false)} onImported=${() => refresh(true)} />`}
    ${inviting && html`<${InviteDialog} employee=${inviting} onClose=${() => setInviting(null)} onCreated=${() => refresh(false)} />`}
    ${batch && html`<${BatchInviteDialog} selected=${selectedRecords()} filters=${filters} total=${total} onClose=${() => setBatch(false)}
      onDone=${() => { setSelected(new Map()); refresh(false); }} />`}
    ${roster && html`<${RosterImportDialog} onClose=${() => setRoster(false)} onDone=${() => refresh(true)} />`}
  </section>`;
}

/**
 * The rows the list's search matches (all of them without one), fetched with the bearer header (a
 * plain link could not send it), then saved from a blob; the toast says how many rows it holds.
 */
async function download(filters) {
  const res = await api('GET', '/employees/export', { raw: true, query: { q: filters.q, active: filters.active, binding: filters.binding } });
  const blob = await res.blob();
  const count = res.headers.get('x-total-count');
  const disposition = res.headers.get('content-disposition') || '';
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const name = match ? decodeURIComponent(match[1]) : `employees-${today()}.csv`;
  saveFile(new Blob([blob], { type: 'text/csv;charset=utf-8' }), name);
  const rows = count !== null && /^\d+$/.test(count) ? `${count} 名员工` : '员工';
  toast(`已导出 ${rows}（${describeFilters(filters)}）：${name}`);
}
