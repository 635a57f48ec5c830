import { html, useRef, useState } from '../../vendor/htm-preact.js';
import { api, errorText, isStatus } from '../api.js';
import { Alert, Dialog, toast } from '../ui.js';

/** The file's bytes go unchanged; the charset is named only when it is certainly UTF-8. */
export function csvContentType(bytes) {
  const u8 = new Uint8Array(bytes);
  if (u8[0] === 0xef && u8[1] === 0xbb && u8[2] === 0xbf) return 'text/csv; charset=utf-8';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(u8);
    return 'text/csv; charset=utf-8';
  } catch {
    return 'text/csv'; // probably GBK from Excel: the server sniffs it
  }
}

const writes = (report) => (report.created || 0) + (report.updated || 0);

/**
 * A dry run first, which writes nothing and reports every line; 确认导入 then sends the same
 * bytes again for real. `onImported` after a commit, so the list behind shows the new rows.
 */
export function ImportDialog({ onClose, onImported }) {
  const [file, setFile] = useState(null);
  const [shown, setShown] = useState(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState('');
  const [canCommit, setCanCommit] = useState(false);
  // The bytes read for the dry run, sent again unchanged by 确认导入.
  const job = useRef(null);

  function pick(ev) {
    setFile(ev.currentTarget.files[0] || null);
    job.current = null;
    setShown(null);
    setError('');
    setCanCommit(false);
  }

  async function run(dryRun) {
    setError('');
    if (!file) {
      setError('请先选择 CSV 文件。');
      return;
    }
    setBusy(dryRun ? 'dry' : 'commit');
    setCanCommit(false);
    try {
      if (!job.current || job.current.file !== file || dryRun) {
        const bytes = await file.arrayBuffer();
        if (bytes.byteLength === 0) throw new Error('文件是空的。');
        job.current = { file, bytes, contentType: csvContentType(bytes), checked: false };
      }
      const report = await api('POST', '/employees/import', { query: { dryRun: String(dryRun) }, body: job.current.bytes, contentType: job.current.contentType });
      setShown({ report, dryRun, fileName: file.name });
      if (dryRun) {
        job.current.checked = true;
        setCanCommit(writes(report) > 0);
      } else {
        job.current = null;
        toast(`导入完成：新增 ${report.created || 0}，更新 ${report.updated || 0}`);
        onImported();
      }
    } catch (err) {
      if (isStatus(err, 401)) return;
      setError(`${dryRun ? '预检' : '导入'}失败：${errorText(err)}`);
      // A failed commit can be tried again with the bytes already checked.
      if (!dryRun && job.current && job.current.checked) setCanCommit(true);
    } finally {
      setBusy('');
    }
  }

  return html`<${Dialog} id="import-dialog" labelledBy="import-title" wide onClose=${onClose}>
    <form id="import-form" method="dialog" novalidate>
      <h3 id="import-title">导入员工绑定（CSV）</h3>
      <p class="muted small">表头：<code>employee_no,openid,name[,active]</code>，支持 UTF-8（可带 BOM）与 GBK 编码。先预检（不写入任何数据），确认无误后再导入；有错误的行会被跳过。</p>
      <div class="field">
        <span>CSV 文件</span>
        <div class="file-pick">
          <input id="import-file" class="visually-hidden" type="file" accept=".csv,text/csv,text/plain" onChange=${pick} />
          <label for="import-file" class="btn" id="import-pick">选择文件…</label>
          <span id="import-file-name" class="file-name muted">${file ? `${file.name}（${Math.max(1, Math.round(file.size / 1024))} KB）` : '未选择文件'}</span>
        </div>
      </div>
      <${Alert} id="import-error" role="alert" message=${error} />
      <div id="import-report" class="import-report" hidden=${!shown} data-dry-run=${shown ? String(shown.dryRun) : null}>
        ${shown && html`<${ImportReport} ...${shown} />`}
      </div>
      <div class="dialog-actions">
        <button type="button" class="btn" id="import-close" onClick=${onClose}>关闭</button>
        <button type="button" class="btn" id="import-dry" disabled=${busy !== ''} onClick=${() => run(true)}>${busy === 'dry' ? '预检中…' : '预检'}</button>
        <button type="button" class="btn btn-primary" id="import-commit" disabled=${!canCommit || busy !== ''} onClick=${() => run(false)}>${busy === 'commit' ? '导入中…' : '确认导入'}</button>
      </div>
    </form>
  <//>`;
}

function ImportReport({ report, dryRun, fileName }) {
  const errors = [...(report.errors || [])].sort((a, b) => (a.line || 0) - (b.line || 0));
  // The server lists only the first errors of a large file; errorCount is how many there are.
  const errorCount = report.errorCount ?? errors.length;
  const stat = (cls, label, n) => html`<div class=${`stat ${cls}`}><b>${String(n || 0)}</b><span>${label}</span></div>`;
  return html`
    <h4>${dryRun ? `预检结果（未写入任何数据）：${fileName}` : `导入完成：${fileName}`}</h4>
    <div class="stats">
      ${stat('created', dryRun ? '将新增' : '新增', report.created)}
      ${stat('updated', dryRun ? '将更新' : '更新', report.updated)}
      ${stat('unchanged', '未变', report.unchanged)}
      ${stat('errors', '错误', errorCount)}
    </div>
    ${errors.length
      ? html`<p class="small muted">${dryRun ? '以下各行有错误，确认导入时将被跳过（行号含表头，表头为第 1 行）：' : '以下各行有错误，已跳过：'}</p>
        <div class="import-errors">
          <table class="table" id="import-errors">
            <thead><tr><th>行号</th><th>错误信息</th></tr></thead>
            <tbody>${errors.map((e, i) => html`<tr key=${i}><td class="nowrap">第 ${e.line} 行</td><td>${e.message || ''}</td></tr>`)}</tbody>
          </table>
        </div>
        ${errorCount > errors.length && html`<p class="small muted" id="import-errors-more">仅列出前 ${errors.length} 条，另有 ${errorCount - errors.length} 条错误未列出。</p>`}`
      : html`<p class="small muted">没有错误。</p>`}
    ${dryRun && writes(report) === 0 && html`<p class="alert alert-info">没有需要写入的行。</p>`}
    ${dryRun && writes(report) > 0 && html`<p class="small">确认无误后点击“确认导入”写入数据库。</p>`}`;
}
