import { html, useRef, useState } from '../../vendor/htm-preact.js';
import { api, errorText, isStatus } from '../api.js';
import { Alert, Dialog, saveFile, toast } from '../ui.js';

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/**
 * The Content-Type for a file's bytes, which go unchanged: an .xlsx (a ZIP), UTF-16 text as Excel
 * saves "Unicode 文本" (BOM FF FE), UTF-8 when it certainly is; anything else is sent as plain
 * `text/csv` and the server tells GBK from it.
 */
export function csvContentType(bytes) {
  const u8 = new Uint8Array(bytes);
  if (u8[0] === 0x50 && u8[1] === 0x4b && u8[2] === 0x03 && u8[3] === 0x04) return XLSX_TYPE;
  if (u8[0] === 0xff && u8[1] === 0xfe) return 'text/plain; charset=utf-16le';
  if (u8[0] === 0xef && u8[1] === 0xbb && u8[2] === 0xbf) return 'text/csv; charset=utf-8';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(u8);
    return 'text/csv; charset=utf-8';
  } catch {
    return 'text/csv'; // probably GBK from Excel: the server sniffs it
  }
}

const writes = (report) => (report.created || 0) + (report.updated || 0);

const FIELDS = [
  ['employee_no', '工号'],
  ['name', '姓名'],
  ['openid', 'openid'],
  ['active', '是否启用'],
  ['ignore', '忽略'],
];
const FIELD_LABEL = Object.fromEntries(FIELDS);

/** Column choices are remembered per header row, so the next file from the same system needs none. */
const MAP_KEY = (headers) => `gcp-bridge:import-map:${JSON.stringify(headers)}`;

function rememberedMap(headers) {
  try {
    const saved = JSON.parse(localStorage.getItem(MAP_KEY(headers)) || 'null');
    if (!saved || typeof saved !== 'object' || Array.isArray(saved)) return null;
    return Object.keys(saved).every((h) => headers.includes(h)) ? saved : null;
  } catch {
    return null;
  }
}

function rememberMap(headers, map) {
  try {
    localStorage.setItem(MAP_KEY(headers), JSON.stringify(map));
  } catch {
    // Storage full or refused: the choice just is not remembered.
  }
}

/** What the file's columns were read as, for the mapping step's first choices. */
function mapFromReport(report) {
  const headers = report.headers || [];
  const map = Object.fromEntries(headers.map((h) => [h, 'ignore']));
  for (const [field, header] of Object.entries(report.columns || {})) if (header !== null && header in map) map[header] = field;
  return map;
}

function mapProblem(map) {
  const chosen = Object.values(map).filter((f) => f !== 'ignore');
  if (!chosen.includes('employee_no')) return '请指定哪一列是工号。';
  const twice = chosen.find((f, i) => chosen.indexOf(f) !== i);
  return twice ? `「${FIELD_LABEL[twice]}」只能对应一列。` : '';
}

/**
 * A dry run first, which writes nothing and reports every line; 确认导入 then sends the same
 * bytes (and column choices) again for real. When the server does not recognise the columns, the
 * administrator says which is which; `onImported` after a commit, so the list behind shows the new rows.
 */
export function ImportDialog({ onClose, onImported }) {
  const [file, setFile] = useState(null);
  const [shown, setShown] = useState(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState('');
  const [canCommit, setCanCommit] = useState(false);
  // The column choices being edited ({header: field}), with the file's headers; null when not asked.
  const [mapping, setMapping] = useState(null);
  // The bytes read for the dry run, sent again unchanged by 确认导入, with the map they were checked with.
  const job = useRef(null);

  function pick(ev) {
    setFile(ev.currentTarget.files[0] || null);
    job.current = null;
    setShown(null);
    setError('');
    setCanCommit(false);
    setMapping(null);
  }

  async function send(dryRun, map) {
    const query = { dryRun: String(dryRun), map: map ? JSON.stringify(map) : '' };
    return api('POST', '/employees/import', { query, body: job.current.bytes, contentType: job.current.contentType });
  }

  /** `map`: undefined keeps the current job's choice; null sends none. */
  async function run(dryRun, map) {
    setError('');
    if (!file) {
      setError('请先选择文件（CSV、Unicode 文本或 Excel .xlsx）。');
      return;
    }
    setBusy(dryRun ? 'dry' : 'commit');
    setCanCommit(false);
    try {
      if (!job.current || job.current.file !== file) {
        const bytes = await file.arrayBuffer();
        if (bytes.byteLength === 0) throw new Error('文件是空的。');
        job.current = { file, bytes, contentType: csvContentType(bytes), map: null, checked: false };
      }
      if (map !== undefined) job.current.map = map;
      let report = await send(dryRun, job.current.map);
      // Columns chosen for this header row before: use them without asking again.
      if (dryRun && !job.current.map && report.headers) {
        const saved = rememberedMap(report.headers);
        if (saved) {
          job.current.map = saved;
          report = await send(true, saved);
        }
      }
      setShown({ report, dryRun, fileName: file.name, mapped: Boolean(job.current.map) });
      if (report.missing) setMapping({ headers: report.headers || [], map: job.current.map || mapFromReport(report) });
      else if (mapping && dryRun) setMapping(null);
      if (dryRun) {
        job.current.checked = true;
        setCanCommit(!report.missing && writes(report) > 0);
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

  function applyMapping() {
    rememberMap(mapping.headers, mapping.map);
    run(true, { ...mapping.map });
  }

  function editMapping() {
    setCanCommit(false);
    setMapping({ headers: shown.report.headers || [], map: job.current && job.current.map ? { ...job.current.map } : mapFromReport(shown.report) });
  }

  return html`<${Dialog} id="import-dialog" labelledBy="import-title" wide onClose=${onClose}>
    <form id="import-form" method="dialog" novalidate>
      <h3 id="import-title">导入员工绑定</h3>
      <p class="muted small">
        支持 Excel 工作簿（.xlsx，读取第一个工作表）、CSV（UTF-8 或 GBK）与 Excel 另存的“Unicode 文本”（.txt）。表头可用中文或英文、顺序不限，多余的列会被忽略：
        <code>工号</code>（必需）、<code>姓名</code>、<code>微信openid</code>、<code>是否启用</code>（是/否、启用/停用、在职/离职，留空为启用）。
        没有 openid 列也可以导入：新员工为未绑定，已有员工的 openid 保持不变。先预检（不写入任何数据），确认无误后再导入；有错误的行会被跳过。
      </p>
      <p class="small"><button type="button" class="btn btn-link" id="import-template" onClick=${downloadTemplate}>下载模板（CSV）</button></p>
      <div class="field">
        <span>导入文件</span>
        <div class="file-pick">
          <input id="import-file" class="visually-hidden" type="file" accept=${`.csv,.txt,.xlsx,text/csv,text/plain,${XLSX_TYPE}`} onChange=${pick} />
          <label for="import-file" class="btn" id="import-pick">选择文件…</label>
          <span id="import-file-name" class="file-name muted">${file ? `${file.name}（${Math.max(1, Math.round(file.size / 1024))} KB）` : '未选择文件'}</span>
        </div>
      </div>
      <${Alert} id="import-error" role="alert" message=${error} />
      ${mapping && html`<${ColumnMapping} mapping=${mapping} busy=${busy !== ''} onChange=${setMapping} onApply=${applyMapping} />`}
      <div id="import-report" class="import-report" hidden=${!shown} data-dry-run=${shown ? String(shown.dryRun) : null}>
        ${shown && html`<${ImportReport} ...${shown} onEditMapping=${shown.dryRun && !mapping ? editMapping : null} />`}
      </div>
      <div class="dialog-actions">
        <button type="button" class="btn" id="import-close" onClick=${onClose}>关闭</button>
        <button type="button" class="btn" id="import-dry" disabled=${busy !== ''} onClick=${() => run(true)}>${busy === 'dry' ? '预检中…' : '预检'}</button>
        <button type="button" class="btn btn-primary" id="import-commit" disabled=${!canCommit || busy !== ''} onClick=${() => run(false)}>${busy === 'commit' ? '导入中…' : '确认导入'}</button>
      </div>
    </form>
  <//>`;
}

/** One select per column of the file: which field it holds, or 忽略. */
function ColumnMapping({ mapping, busy, onChange, onApply }) {
  const problem = mapProblem(mapping.map);
  const choose = (header, value) => onChange({ ...mapping, map: { ...mapping.map, [header]: value } });
  return html`<section id="import-mapping" class="import-report" aria-labelledby="import-mapping-title">
    <h4 id="import-mapping-title">指定各列的含义</h4>
    <p class="small muted">请为文件中的每一列选择对应的内容，不需要的列选“忽略”。选择会保存在本浏览器中，下次导入同样表头的文件时自动使用。</p>
    <div class="import-errors" tabindex="0" role="region" aria-label="文件各列">
      <table class="table" id="import-map-table">
        <thead><tr><th scope="col">文件中的列</th><th scope="col">对应为</th></tr></thead>
        <tbody>
          ${mapping.headers.map(
            (header, i) => html`<tr key=${i}>
              <td>${header || html`<span class="muted">（第 ${i + 1} 列，无表头）</span>`}</td>
              <td>
                <select class="import-map-select" data-header=${header} aria-label=${`「${header || `第 ${i + 1} 列`}」对应为`}
                  value=${mapping.map[header] || 'ignore'} onChange=${(ev) => choose(header, ev.currentTarget.value)}>
                  ${FIELDS.map(([value, label]) => html`<option key=${value} value=${value}>${label}</option>`)}
                </select>
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${problem && html`<p class="small" id="import-map-problem">${problem}</p>`}
    <p><button type="button" class="btn btn-primary" id="import-map-apply" disabled=${Boolean(problem) || busy} onClick=${onApply}>按此对应预检</button></p>
  </section>`;
}

function ImportReport({ report, dryRun, fileName, mapped, onEditMapping }) {
  const errors = [...(report.errors || [])].sort((a, b) => (a.line || 0) - (b.line || 0));
  // The server lists only the first errors of a large file; errorCount is how many there are.
  const errorCount = report.errorCount ?? errors.length;
  const columns = report.columns || {};
  const stat = (cls, label, n) => html`<div class=${`stat ${cls}`}><b>${String(n || 0)}</b><span>${label}</span></div>`;
  return html`
    <h4>${dryRun ? `预检结果（未写入任何数据）：${fileName}` : `导入完成：${fileName}`}</h4>
    <div class="stats">
      ${stat('created', dryRun ? '将新增' : '新增', report.created)}
      ${stat('updated', dryRun ? '将更新' : '更新', report.updated)}
      ${stat('unchanged', '未变', report.unchanged)}
      ${stat('errors', '错误', errorCount)}
    </div>
    ${!report.missing && report.headers && html`<p class="small muted" id="import-columns">
      ${mapped ? '按指定的列读取：' : '识别到的列：'}${['employee_no', 'name', 'openid', 'active']
        .map((f) => `${FIELD_LABEL[f]} ← ${columns[f] ? `「${columns[f]}」` : '（无）'}`)
        .join('，')}
      ${onEditMapping && html` <button type="button" class="btn btn-link" id="import-edit-mapping" onClick=${onEditMapping}>指定各列…</button>`}
    </p>`}
    ${!report.missing && report.headers && !columns.openid && html`<p class="alert alert-info" id="import-no-openid">文件中没有 openid 列：新员工将以“未绑定”导入（之后可生成绑定码让本人绑定），已有员工的 openid 保持不变。</p>`}
    ${errors.length
      ? html`<p class="small muted">${dryRun ? '以下各行有错误，确认导入时将被跳过（行号含表头，表头为第 1 行）：' : '以下各行有错误，已跳过：'}</p>
        <div class="import-errors" tabindex="0" role="region" aria-label="错误列表">
          <table class="table" id="import-errors">
            <thead><tr><th scope="col">行号</th><th scope="col">列</th><th scope="col">值</th><th scope="col">工号</th><th scope="col">错误信息</th></tr></thead>
            <tbody>${errors.map(
              (e, i) => html`<tr key=${i}>
                <td class="nowrap">第 ${e.line} 行</td>
                <td class="nowrap">${e.column || '—'}</td>
                <td>${e.value === undefined ? '—' : e.value === '' ? html`<span class="muted">（空）</span>` : e.value}</td>
                <td class="nowrap">${e.employeeNo || '—'}</td>
                <td>${e.message || ''}</td>
              </tr>`,
            )}</tbody>
          </table>
        </div>
        ${errorCount > errors.length && html`<p class="small muted" id="import-errors-more">仅列出前 ${errors.length} 条，另有 ${errorCount - errors.length} 条错误未列出。</p>`}
        <p><button type="button" class="btn" id="import-error-report" onClick=${() => downloadErrorReport(errors, errorCount, fileName)}>下载错误报告</button></p>`
      : html`<p class="small muted">没有错误。</p>`}
    ${dryRun && !report.missing && writes(report) === 0 && html`<p class="alert alert-info">没有需要写入的行。</p>`}
    ${dryRun && !report.missing && writes(report) > 0 && html`<p class="small">确认无误后点击“确认导入”写入数据库。</p>`}`;
}

/** A cell a spreadsheet will not run as a formula (the export's rule). */
const safeCell = (value) => (/^[=+\-@\t\r']/.test(value) ? `'${value}` : value);
const csvField = (value) => (/[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
const csvLine = (values) => values.map((v) => csvField(safeCell(String(v ?? '')))).join(',');

/** The report as CSV, made here (UTF-8 with a BOM, for Excel). */
export function errorReportCsv(errors, errorCount) {
  const lines = [csvLine(['行号', '列', '值', '工号', '错误信息']), ...errors.map((e) => csvLine([e.line, e.column || '', e.value ?? '', e.employeeNo || '', e.message || '']))];
  if (errorCount > errors.length) lines.push(csvLine(['', '', '', '', `仅列出前 ${errors.length} 条，另有 ${errorCount - errors.length} 条错误未列出`]));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

function downloadErrorReport(errors, errorCount, fileName) {
  const base = String(fileName || '导入').replace(/\.[^.]*$/, '');
  saveFile(new Blob([errorReportCsv(errors, errorCount)], { type: 'text/csv;charset=utf-8' }), `${base}-错误报告.csv`);
}

/** Fetched with the bearer header (a plain link could not send it), then saved from a blob. */
async function downloadTemplate() {
  try {
    const res = await api('GET', '/employees/import-template', { raw: true });
    saveFile(new Blob([await res.blob()], { type: 'text/csv;charset=utf-8' }), '员工绑定导入模板.csv');
  } catch (err) {
    if (!isStatus(err, 401)) toast(`下载模板失败：${errorText(err)}`, 'error');
  }
}
