// Self-service binding (contract §9): invitations for one employee, for many, or for an HR list,
// and the printable slips. The QR image is the bridge's own SVG, shown through an <img> data: URL
// (allowed by img-src 'self' data:), never inserted as markup.
import { html, useRef, useState } from '../../vendor/htm-preact.js';
import { api, errorText, isStatus } from '../api.js';
import { bindingBadge, bindingLabel, bindingOf, expiryText } from '../binding.js';
import { fmtMinute } from '../format.js';
import { session } from '../session.js';
import { useStore } from '../state.js';
import { Alert, Dialog, confirmDialog, toast, useSubmit } from '../ui.js';
import { csvContentType } from './import-dialog.js';

/** The server's limit on one batch (POST /admin/api/invitations). */
export const BATCH_LIMIT = 500;

const EXPIRY_CHOICES = [
  [24, '1 天（24 小时）'],
  [72, '3 天（72 小时，默认）'],
  [168, '7 天'],
  [336, '14 天'],
  [720, '30 天（最长）'],
];

function ExpirySelect({ id, value, onChange }) {
  return html`<label class="field">
    <span>有效期</span>
    <select id=${id} value=${String(value)} onChange=${(ev) => onChange(Number(ev.currentTarget.value))}>
      ${EXPIRY_CHOICES.map(([hours, label]) => html`<option value=${String(hours)}>${label}</option>`)}
    </select>
  </label>`;
}

export const qrSrc = (svg) => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;

export const instruction = (code) => `微信扫码，或向公众号发送：绑定 ${code}`;

const absolute = (url) => new URL(url, window.location.href).href;

// A print link is signed for 5 minutes; one older than this is asked for again before opening.
const PRINT_LINK_FRESH_MS = 4 * 60 * 1000;

/**
 * 打印: opens the server-rendered slips in a new window. The link the invitation call answered is
 * used while fresh; later (or when there is none) a new one is asked for with
 * POST /invitations/print-link. The window is opened during the click itself, so that no popup
 * blocker stops it, and pointed at the new link when it arrives.
 */
export function PrintLink({ id, url, employeeNos, label, primary }) {
  const [link, setLink] = useState(() => ({ url, at: Date.now() }));
  const [busy, setBusy] = useState(false);

  async function refresh(ev) {
    if (link.url && Date.now() - link.at < PRINT_LINK_FRESH_MS) return; // the <a> opens it
    ev.preventDefault();
    if (busy) return;
    const win = window.open('', '_blank');
    setBusy(true);
    try {
      const answer = await api('POST', '/invitations/print-link', { json: { employeeNos } });
      setLink({ url: answer.url, at: Date.now() });
      if (win) {
        win.opener = null;
        win.location.replace(absolute(answer.url));
      } else {
        window.open(absolute(answer.url), '_blank', 'noopener');
      }
    } catch (err) {
      if (win) win.close();
      if (!isStatus(err, 401)) toast(`无法打开打印页：${errorText(err)}`, 'error');
    } finally {
      setBusy(false);
    }
  }

  return html`<a id=${id} class=${primary ? 'btn btn-primary' : 'btn'} href=${link.url ? absolute(link.url) : '#'} target="_blank" rel="noopener"
    aria-disabled=${busy ? 'true' : null} onClick=${refresh}>${busy ? '正在打开…' : label}</a>`;
}

/** A notice that invitations cannot be used yet: the callback is off, so scans and codes go nowhere. */
function CallbackWarning() {
  const s = useStore(session);
  if (s.callback !== false) return null;
  return html`<p class="alert alert-error callback-off">未启用微信回调（未设置 WECHAT_CALLBACK_TOKEN）：员工扫码或发送绑定码不会被处理，请先在公众号“服务器配置”中接入 /wechat/callback。</p>`;
}

/** One employee: choose the lifetime, then the QR, the code and the one-line instruction. */
export function InviteDialog({ employee, onClose, onCreated }) {
  const s = useStore(session);
  const [hours, setHours] = useState(72);
  const { busy, error, run } = useSubmit('生成失败');
  const [result, setResult] = useState(null);
  const binding = bindingOf(employee);
  const who = `${employee.employeeNo}${employee.name ? ` ${employee.name}` : ''}`;

  async function create(ev) {
    ev.preventDefault();
    await run(async () => {
      setResult(await api('POST', `/employees/${encodeURIComponent(employee.employeeNo)}/invitations`, { json: { expiresInHours: hours } }));
      onCreated();
    });
  }

  if (result) {
    const name = result.name || employee.name || '';
    return html`<${Dialog} id="invite-dialog" labelledBy="invite-title" onClose=${onClose}>
      <form method="dialog" id="invite-result" class="invite-result">
        <h3 id="invite-title">绑定码：${result.employeeNo}${name ? ` ${name}` : ''}</h3>
        <div class="invite-card">
          ${result.qr && result.qr.svg
            ? html`<img id="invite-qr" class="qr" src=${qrSrc(result.qr.svg)} alt=${`${result.employeeNo} 的绑定二维码`} width="220" height="220" />`
            : html`<p id="invite-no-qr" class="qr-none">${s.sandbox === false ? '未能生成二维码，请让员工向公众号发送绑定码' : '沙箱模式无二维码'}</p>`}
          <div class="invite-code-label">绑定码</div>
          <div id="invite-code" class="invite-code mono">${result.code}</div>
          <p id="invite-expiry" class="invite-expiry">有效期至 ${expiryText(result.expiresAt)}</p>
          <p id="invite-instruction" class="invite-instruction">${instruction(result.code)}</p>
        </div>
        <${CallbackWarning} />
        <p class="muted small">绑定码仅能使用一次；为该员工再次生成后，此码作废。</p>
        <div class="dialog-actions">
          <button type="button" class="btn" id="invite-close" onClick=${onClose}>关闭</button>
          <${PrintLink} id="invite-print" url=${result.printUrl} employeeNos=${[result.employeeNo]} label="打印" primary />
        </div>
      </form>
    <//>`;
  }

  const inv = employee.invitation;
  return html`<${Dialog} id="invite-dialog" labelledBy="invite-title" onClose=${onClose}>
    <form method="dialog" id="invite-form" novalidate onSubmit=${create}>
      <h3 id="invite-title">生成绑定码：${who}</h3>
      <p>当前状态：${bindingBadge(binding)}</p>
      <p class="muted small">员工用微信扫描二维码（或向公众号发送绑定码）即可自助绑定，无需填写 openid。</p>
      ${binding === 'invited' && inv && html`<p class="alert alert-info">该员工已有未使用的绑定码 <b class="mono">${inv.code}</b>（${fmtMinute(inv.expiresAt)} 到期），生成新码后旧码将作废。</p>`}
      ${binding === 'bound' && html`<p class="alert alert-info">该员工已绑定微信。新绑定码被使用后，将替换现有绑定（例如员工更换了微信号）。</p>`}
      ${binding === 'unfollowed' && html`<p class="alert alert-info">该员工已取消关注公众号。扫码关注并绑定后即可重新收到审批通知。</p>`}
      ${!employee.active && html`<p class="alert alert-error">该员工已停用：绑定后推送仍会返回“工号关联账号不存在”，请同时启用。</p>`}
      ${s.sandbox && html`<p class="alert alert-info">沙箱模式：不会创建微信二维码，只生成绑定码。</p>`}
      <${CallbackWarning} />
      <${ExpirySelect} id="invite-expires" value=${hours} onChange=${setHours} />
      <${Alert} id="invite-error" role="alert" message=${error} />
      <div class="dialog-actions">
        <button type="button" class="btn" onClick=${onClose}>取消</button>
        <button type="submit" class="btn btn-primary" id="invite-create" disabled=${busy} autofocus>${busy ? '生成中…' : '生成绑定码'}</button>
      </div>
    </form>
  <//>`;
}

/** The list filters in words, for the confirmation of a batch over them. */
export function describeFilters(filters) {
  const parts = [];
  if (filters.q) parts.push(`搜索“${filters.q}”`);
  if (filters.binding) parts.push(`绑定状态：${bindingLabel(filters.binding)}`);
  if (filters.active === 'true') parts.push('仅启用');
  if (filters.active === 'false') parts.push('仅停用');
  return parts.length ? parts.join('，') : '全部员工';
}

function filterBody(filters) {
  const filter = {};
  if (filters.q) filter.q = filters.q;
  if (filters.binding) filter.binding = filters.binding;
  if (filters.active === 'true' || filters.active === 'false') filter.active = filters.active === 'true';
  return filter;
}

/**
 * Many employees at once: the rows ticked in the list, or everything the list's filters match
 * (confirmed with its count). The answer lists each code and each refusal; 打印全部 prints them.
 */
export function BatchInviteDialog({ selected, filters, total, onClose, onDone }) {
  const [mode, setMode] = useState(selected.length > 0 ? 'selected' : 'filter');
  const [hours, setHours] = useState(72);
  const { busy, error, setError, run } = useSubmit('生成失败');
  const [result, setResult] = useState(null);

  const count = mode === 'selected' ? selected.length : total || 0;
  const tooMany = count > BATCH_LIMIT;
  const alreadyBound = selected.filter((e) => bindingOf(e) === 'bound').length;

  async function create(ev) {
    ev.preventDefault();
    setError('');
    if (count === 0) {
      setError(mode === 'selected' ? '请先在列表中勾选员工。' : '当前筛选结果中没有员工。');
      return;
    }
    if (mode === 'filter') {
      const ok = await confirmDialog(
        `将为当前筛选结果（${describeFilters(filters)}）中的 ${count} 名员工生成绑定码。\n已有未使用绑定码的员工，旧码将作废；已绑定的员工使用新码后将替换原绑定。`,
        { title: '确认批量生成绑定码', ok: `为 ${count} 人生成`, danger: false },
      );
      if (!ok) return;
    }
    const json = mode === 'selected' ? { employeeNos: selected.map((e) => e.employeeNo), expiresInHours: hours } : { filter: filterBody(filters), expiresInHours: hours };
    await run(async () => {
      setResult(await api('POST', '/invitations', { json }));
      onDone();
    });
  }

  if (result) {
    return html`<${Dialog} id="batch-dialog" labelledBy="batch-title" wide onClose=${onClose}>
      <form method="dialog" id="batch-result" class="invite-report">
        <h3 id="batch-title">批量生成绑定码：完成</h3>
        <${InvitationReport} items=${result.items || []} errors=${result.errors || []} idPrefix="batch" />
        <${CallbackWarning} />
        <div class="dialog-actions">
          <button type="button" class="btn" id="batch-close" onClick=${onClose}>关闭</button>
          ${(result.items || []).length > 0 && html`<${PrintLink} id="batch-print" url=${result.printUrl} employeeNos=${result.items.map((i) => i.employeeNo)} label="打印全部" primary />`}
        </div>
      </form>
    <//>`;
  }

  return html`<${Dialog} id="batch-dialog" labelledBy="batch-title" wide onClose=${onClose}>
    <form method="dialog" id="batch-form" novalidate onSubmit=${create}>
      <h3 id="batch-title">批量生成绑定码</h3>
      <fieldset class="choices">
        <legend class="visually-hidden">为哪些员工生成</legend>
        <label class="check">
          <input type="radio" name="batch-mode" id="batch-mode-selected" value="selected" checked=${mode === 'selected'} disabled=${selected.length === 0}
            onChange=${() => setMode('selected')} />
          <span>已勾选的 <b>${selected.length}</b> 名员工${selected.length === 0 ? '（请先在列表中勾选）' : ''}</span>
        </label>
        <label class="check">
          <input type="radio" name="batch-mode" id="batch-mode-filter" value="filter" checked=${mode === 'filter'} onChange=${() => setMode('filter')} />
          <span>当前筛选结果的全部 <b id="batch-filter-count">${total ?? '—'}</b> 名员工（${describeFilters(filters)}）</span>
        </label>
      </fieldset>
      ${mode === 'selected' && alreadyBound > 0 && html`<p class="alert alert-info">其中 ${alreadyBound} 人已绑定微信：使用新绑定码后将替换原绑定。</p>`}
      ${tooMany && html`<p class="alert alert-error">一次最多为 ${BATCH_LIMIT} 名员工生成，请缩小筛选范围。</p>`}
      <${CallbackWarning} />
      <${ExpirySelect} id="batch-expires" value=${hours} onChange=${setHours} />
      <${Alert} id="batch-error" role="alert" message=${error} />
      <div class="dialog-actions">
        <button type="button" class="btn" onClick=${onClose}>取消</button>
        <button type="submit" class="btn btn-primary" id="batch-create" disabled=${busy || tooMany || count === 0}>${busy ? '生成中…' : `为 ${count} 人生成绑定码`}</button>
      </div>
    </form>
  <//>`;
}

/** Codes made and refusals, as the batch and the HR import both answer them. */
function InvitationReport({ items, errors, created, idPrefix }) {
  const stat = (cls, label, n) => html`<div class=${`stat ${cls}`}><b>${String(n || 0)}</b><span>${label}</span></div>`;
  const sandbox = items.length > 0 && items.every((i) => !i.qr);
  const sorted = [...errors].sort((a, b) => (a.line || 0) - (b.line || 0));
  return html`
    <div class=${created === undefined ? 'stats stats-2' : 'stats stats-3'} id=${`${idPrefix}-stats`}>
      ${created !== undefined && stat('created', '新建员工', created)}
      ${stat('invited', '已生成绑定码', items.length)}
      ${stat('errors', '错误', errors.length)}
    </div>
    ${sorted.length > 0 && html`<div class="import-errors">
      <table class="table" id=${`${idPrefix}-errors`}>
        <thead><tr><th>${sorted[0].line !== undefined ? '行号' : '工号'}</th><th>错误信息</th></tr></thead>
        <tbody>${sorted.map((e, i) => html`<tr key=${i}>
          <td class="nowrap">${e.line !== undefined ? `第 ${e.line} 行` : e.employeeNo || '—'}</td>
          <td>${e.message || e.error || ''}</td>
        </tr>`)}</tbody>
      </table>
    </div>`}
    ${sorted.length > 0 && sorted[0].line !== undefined && html`<p class="small muted">行号含表头（表头为第 1 行）；有错误的行未生成绑定码。</p>`}
    ${items.length > 0 && html`<div class="invite-items">
      <table class="table" id=${`${idPrefix}-items`}>
        <thead><tr><th>工号</th><th>姓名</th><th>绑定码</th><th>有效期至</th></tr></thead>
        <tbody>${items.map((it) => html`<tr key=${it.employeeNo} data-employee-no=${it.employeeNo}>
          <td class="nowrap">${it.employeeNo}</td>
          <td>${it.name || '—'}</td>
          <td class="mono nowrap">${it.code}</td>
          <td class="nowrap">${fmtMinute(it.expiresAt)}</td>
        </tr>`)}</tbody>
      </table>
    </div>`}
    ${sandbox && html`<p class="small muted">沙箱模式无二维码：打印的通知单上只有绑定码，员工向公众号发送“绑定 绑定码”即可。</p>`}
    ${items.length > 0 && html`<p class="small">点击“打印全部”打开通知单（A4，每页多张），裁开后发给员工。</p>`}`;
}

/**
 * The HR list (工号,姓名): employees not yet known are created without an openid, and everyone on
 * it gets a code in the same step. There is no dry run: nothing here can overwrite a binding.
 */
export function RosterImportDialog({ onClose, onDone }) {
  const [file, setFile] = useState(null);
  const [hours, setHours] = useState(72);
  const { busy, error, setError, run } = useSubmit('导入失败');
  const [result, setResult] = useState(null);
  const input = useRef(null);

  function pick(ev) {
    setFile(ev.currentTarget.files[0] || null);
    setError('');
    setResult(null);
  }

  async function submit(ev) {
    ev.preventDefault();
    setError('');
    if (!file) {
      setError('请先选择人员名单（CSV 文件）。');
      return;
    }
    await run(async () => {
      const bytes = await file.arrayBuffer();
      if (bytes.byteLength === 0) throw new Error('文件是空的。');
      const answer = await api('POST', '/invitations/import', { query: { expiresInHours: hours }, body: bytes, contentType: csvContentType(bytes) });
      setResult({ ...answer, fileName: file.name });
      setFile(null);
      if (input.current) input.current.value = '';
      toast(`导入完成：新建员工 ${answer.created || 0}，生成绑定码 ${(answer.items || []).length}`);
      onDone();
    });
  }

  const items = (result && result.items) || [];
  return html`<${Dialog} id="roster-dialog" labelledBy="roster-title" wide onClose=${onClose}>
    <form id="roster-form" method="dialog" novalidate onSubmit=${submit}>
      <h3 id="roster-title">导入人员名单并生成绑定码</h3>
      <p class="muted small">人事提供的名单，表头 <code>工号,姓名</code> 或 <code>employee_no,name</code>，UTF-8（可带 BOM）或 GBK 编码。
        名单中尚不存在的员工将被新建（未绑定），并为名单中的每位员工生成绑定码，随后打印通知单分发给员工扫码绑定。</p>
      <div class="field">
        <span>名单文件</span>
        <div class="file-pick">
          <input ref=${input} id="roster-file" class="visually-hidden" type="file" accept=".csv,.txt,.xlsx,text/csv,text/plain,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" onChange=${pick} />
          <label for="roster-file" class="btn" id="roster-pick">选择文件…</label>
          <span id="roster-file-name" class="file-name muted">${file ? `${file.name}（${Math.max(1, Math.round(file.size / 1024))} KB）` : result ? `已导入：${result.fileName}` : '未选择文件'}</span>
        </div>
      </div>
      <${ExpirySelect} id="roster-expires" value=${hours} onChange=${setHours} />
      <${CallbackWarning} />
      <${Alert} id="roster-error" role="alert" message=${error} />
      <div id="roster-report" class="import-report" hidden=${!result}>
        ${result && html`<h4>导入完成：${result.fileName}</h4>
          <${InvitationReport} items=${items} errors=${result.errors || []} created=${result.created || 0} idPrefix="roster" />`}
      </div>
      <div class="dialog-actions">
        <button type="button" class="btn" id="roster-close" onClick=${onClose}>关闭</button>
        ${items.length > 0 && html`<${PrintLink} key=${result.printUrl} id="roster-print" url=${result.printUrl} employeeNos=${items.map((i) => i.employeeNo)} label="打印全部" primary=${!file} />`}
        <button type="submit" class=${items.length > 0 && !file ? 'btn' : 'btn btn-primary'} id="roster-submit" disabled=${busy || !file}>${busy ? '导入中…' : '导入并生成绑定码'}</button>
      </div>
    </form>
  <//>`;
}

