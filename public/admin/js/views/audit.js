import { html } from '../../vendor/htm-preact.js';
import { errorText } from '../api.js';
import { bindingLabel } from '../binding.js';
import { fmtTime } from '../format.js';
import { useList } from '../load.js';
import { useFilters } from '../state.js';
import { Alert, Pager, badge, cell, emptyRow, useDraft } from '../ui.js';

const ACTIONS = {
  create: ['新增', 'ok'],
  update: ['修改', 'info'],
  delete: ['删除', 'err'],
  invite: ['生成绑定码', 'info'],
  bind: ['自助绑定', 'ok'],
  unbind: ['解绑', 'warn'],
  unfollow: ['取消关注', 'warn'],
  refollow: ['重新关注', 'ok'],
};
const LABELS = { openid: 'openid', name: '姓名', active: '状态', code: '绑定码', binding: '绑定状态' };

const show = (v, key) => {
  if (key === 'active') return v ? '启用' : '停用';
  if (key === 'binding') return bindingLabel(v);
  return v === '' || v === undefined || v === null ? '（空）' : String(v);
};

/** What a change did, in one line: the new record, the deleted one, or each field before → after. */
function summarize(entry) {
  const before = entry.before || {};
  const after = entry.after || {};
  const list = (record) => Object.keys(LABELS).filter((k) => k in record).map((k) => `${LABELS[k]}：${show(record[k], k)}`).join('；');
  // An invitation records no mapping change (the code itself is not written to the log).
  if (!entry.before && !entry.after) return entry.action === 'invite' ? '生成绑定码，待员工扫码或发送绑定码完成绑定' : '—';
  if (!entry.before && entry.after) return list(after);
  if (entry.before && !entry.after) return list(before);
  const changes = Object.keys(LABELS)
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => `${LABELS[k]}：${show(before[k], k)} → ${show(after[k], k)}`);
  return changes.join('；') || '无变化';
}

export function Audit() {
  const [filters, setFilters] = useFilters('audit');
  const [draft, field, setDraft] = useDraft(filters);
  const list = useList('/audit', filters);

  const submit = (ev) => {
    ev.preventDefault();
    const next = { employeeNo: draft.employeeNo.trim() };
    setDraft(next);
    setFilters(next);
    list.reload();
  };

  const data = list.data;
  const items = (data && data.items) || [];
  return html`<section id="view-audit" class="view">
    <div class="page-head">
      <h1 tabindex="-1">操作记录</h1>
    </div>
    <form id="audit-filter" class="filters" role="search" aria-label="查找操作记录" onSubmit=${submit}>
      <label class="field">
        <span>工号</span>
        <input ...${field('employeeNo')} id="audit-employee" type="text" autocomplete="off" />
      </label>
      <div class="field field-buttons">
        <button type="submit" class="btn btn-primary">查询</button>
      </div>
    </form>
    <${Alert} id="audit-error" message=${list.error ? `无法加载操作记录：${errorText(list.error)}` : ''} />
    <div class="panel">
      <div class="table-wrap">
        <table class="table table-cards" id="audit-table" aria-label="操作记录">
          <thead><tr><th>时间</th><th>操作人</th><th>工号</th><th>操作</th><th>变更内容</th></tr></thead>
          <tbody>
            ${data && items.length === 0 ? emptyRow(5, '没有操作记录') : null}
            ${items.map((a, i) => {
              const [label, kind] = ACTIONS[a.action] || [a.action, ''];
              return html`<tr key=${`${a.at}/${i}`}>
                ${cell('时间', fmtTime(a.at), 'nowrap')}
                ${cell('操作人', a.actor || '')}
                ${cell('工号', a.employeeNo || '', 'nowrap')}
                ${cell('操作', badge(label, kind))}
                ${cell('变更内容', summarize(a), 'reason')}
              </tr>`;
            })}
          </tbody>
        </table>
      </div>
      <${Pager} id="audit-pager" total=${data ? data.total || 0 : null} offset=${filters.offset} jump onPage=${(offset) => { setFilters({ ...filters, offset }); list.reload(); }} />
    </div>
  </section>`;
}
