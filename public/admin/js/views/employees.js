import { html, useState } from '../../vendor/htm-preact.js';
import { api, errorText, isStatus } from '../api.js';
import { BINDINGS, bindingCell, interactionCell } from '../binding.js';
import { fmtTime, today } from '../format.js';
import { useList } from '../load.js';
import { session } from '../session.js';
import { useFilters, useStore } from '../state.js';
import { Alert, Pager, badge, cell, confirmDialog, emptyRow, toast, useDraft } from '../ui.js';
import { EmployeeDialog } from './employee-dialog.js';
import { ImportDialog } from './import-dialog.js';
import { BatchInviteDialog, InviteDialog, RosterImportDialog } from './invitations.js';

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
  const search = (ev) => {
    ev.preventDefault();
    const next = { q: draft.q.trim(), active: draft.active, binding: draft.binding };
    setDraft(next);
    apply(next);
  };
  // The selects apply at once, with whatever is typed in the search box.
  const setSelect = (name) => (ev) => {
    const next = { q: draft.q.trim(), active: draft.active, binding: draft.binding, [name]: ev.currentTarget.value };
    setDraft(next);
    apply(next);
  };
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
      await download();
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

  return html`<section id="view-employees" class="view">
    <div class="page-head">
      <h2>员工绑定</h2>
      <div class="actions">
        <button type="button" class="btn btn-primary" id="emp-add" onClick=${() => setEditing(null)}>新增员工</button>
        <button type="button" class="btn btn-primary" id="emp-roster" onClick=${() => setRoster(true)}>导入人员名单</button>
        <button type="button" class="btn" id="emp-import" onClick=${() => setImporting(true)}>导入 CSV</button>
        <button type="button" class="btn" id="emp-export" disabled=${exporting} onClick=${exportCsv}>${exporting ? '导出中…' : '导出 CSV'}</button>
      </div>
    </div>
    <form id="emp-search" class="filters" role="search" onSubmit=${search}>
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
      <div class="table-wrap">
        <table class="table table-cards" id="emp-table">
          <thead><tr><th>工号</th><th>姓名</th><th>openid</th><th>绑定状态</th><th>最近互动</th><th>状态</th><th>更新时间</th><th class="col-actions">操作</th></tr></thead>
          <tbody>
            ${data && items.length === 0 ? emptyRow(8, filters.q || filters.active || filters.binding ? '没有符合条件的员工' : '还没有员工，点击“新增员工”“导入人员名单”或“导入 CSV”') : null}
            ${items.map((e) => html`<tr key=${e.employeeNo} data-employee-no=${e.employeeNo} class=${isSelected(e) ? 'selected' : null}>
              ${cell('工号', html`<label class="row-select">
                <input type="checkbox" class="row-check" checked=${isSelected(e)} aria-label=${`选择 ${e.employeeNo}`} onChange=${(ev) => select([e], ev.currentTarget.checked)} />
                <span>${e.employeeNo}</span>
              </label>`, 'nowrap emp-no')}
              ${cell('姓名', e.name || '—')}
              ${cell('openid', e.openid ? e.openid : html`<span class="muted">—</span>`, 'mono')}
              ${cell('绑定状态', bindingCell(e), 'binding-col')}
              ${cell('最近互动', interactionCell(e, delivery), 'interaction-col')}
              ${cell('状态', e.active ? badge('启用', 'ok') : badge('停用'))}
              ${cell('更新时间', fmtTime(e.updatedAt), 'nowrap')}
              ${cell('操作', html`<div class="row-actions">
                <button type="button" class="btn-link btn invite" onClick=${() => setInviting(e)}>生成绑定码</button>
                <button type="button" class="btn-link btn" onClick=${() => setEditing(e)}>编辑</button>
                <button type="button" class="btn-link btn" onClick=${() => toggle(e)}>${e.active ? '停用' : '启用'}</button>
                <button type="button" class="btn-link btn danger" onClick=${() => remove(e)}>删除</button>
              </div>`, 'col-actions')}
            </tr>`)}
          </tbody>
        </table>
      </div>
      <${Pager} id="emp-pager" total=${data ? data.total || 0 : null} offset=${filters.offset} onPage=${(offset) => apply({ ...filters, offset })} />
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

/** Fetched with the bearer header (a plain link could not send it), then saved from a blob. */
async function download() {
  const res = await api('GET', '/employees/export', { raw: true });
  const blob = await res.blob();
  const disposition = res.headers.get('content-disposition') || '';
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const name = match ? decodeURIComponent(match[1]) : `employees-${today()}.csv`;
  const href = URL.createObjectURL(new Blob([blob], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // Revoked later, not now: the browser may still be reading it for the download.
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
  toast(`已导出 ${name}`);
}
