import { createRequire } from 'node:module';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import iconv from 'iconv-lite';
import { FormatError } from '../errors.js';
import { charsetOfContentType, decodeBytes } from '../push/charset.js';
import { readCsv, unprefixCell, type CsvRecord, type Delimiter } from './csv.js';
import { badRequest } from './errors.js';

// Uploaded spreadsheets (contract §11) as rows of text cells, whatever Excel saved: CSV in UTF-8
// (BOM or not) or GBK, "Unicode 文本" (UTF-16 LE, tab-separated), or the .xlsx itself; and the
// header aliases by which the employee import and the HR list find their columns.

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export type UploadFormat = 'csv' | 'tsv' | 'xlsx';

export interface Upload {
  format: UploadFormat;
  /** Rows with their line (CSV) or row (xlsx) numbers, the first line being 1. */
  records: CsvRecord[];
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const OLE_MAGIC = [0xd0, 0xcf, 0x11, 0xe0];
const UTF8_BOM = [0xef, 0xbb, 0xbf];
const UTF16LE_BOM = [0xff, 0xfe];
const UTF16BE_BOM = [0xfe, 0xff];

const startsWith = (body: Buffer, magic: number[]): boolean => magic.every((b, i) => body[i] === b);

/**
 * The upload's rows. An .xlsx is known by its MIME type or its ZIP signature, a text's encoding
 * by its BOM (whatever the Content-Type says), else by the charset the Content-Type names, else
 * UTF-8 when the bytes are UTF-8 and GB18030 (GBK's superset) when not. Text is tab-separated when
 * its first line holds more tabs than commas. Unreadable uploads answer 400 naming `charset` or `file`.
 */
export async function readUpload(body: Buffer, contentType: string | undefined): Promise<Upload> {
  if (startsWith(body, OLE_MAGIC)) throw badRequest('file: 这是旧版 Excel（.xls）文件，无法读取；请在 Excel 中另存为 .xlsx 或 CSV 后再导入');
  if (startsWith(body, ZIP_MAGIC) || mimeOf(contentType) === XLSX_TYPE) return { format: 'xlsx', records: await readXlsx(body) };
  const text = decodeText(body, contentType);
  const delimiter = delimiterOf(text, contentType);
  return { format: delimiter === '\t' ? 'tsv' : 'csv', records: await inTurns(readCsv(text, undefined, delimiter)) };
}

/** An uploaded text file as a string: see readUpload for how its encoding is found. */
export function decodeText(body: Buffer, contentType: string | undefined): string {
  if (startsWith(body, UTF16LE_BOM)) return stripBom(iconv.decode(body, 'utf-16le'));
  if (startsWith(body, UTF16BE_BOM)) return stripBom(iconv.decode(body, 'utf-16be'));
  const declared = charsetOfContentType(contentType);
  const charset = startsWith(body, UTF8_BOM) ? 'utf-8' : declared;
  const utf16 = charset === null ? (looksLikeUtf16le(body) ? 'utf-16le' : null) : utf16Name(charset);
  if (utf16 !== null) return stripBom(iconv.decode(body, utf16));
  try {
    return decodeBytes(body, charset);
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    throw badRequest(
      `charset: 无法按${charset === null ? '声明的字符集' : `「${charset}」`}读取文件（${err.message}）；请用 UTF-8（可带 BOM）、GBK 或 UTF-16 LE 编码的文本，或直接上传 .xlsx`,
    );
  }
}

function mimeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

function utf16Name(charset: string): string | null {
  const c = charset.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (c === 'utf16le' || c === 'utf16' || c === 'ucs2' || c === 'unicode') return 'utf-16le';
  if (c === 'utf16be') return 'utf-16be';
  return null;
}

/**
 * UTF-16 LE without a BOM: a zero in many odd bytes (ASCII, digits, punctuation) and fewer in the
 * even ones. UTF-8 and GBK text holds no zero bytes at all.
 */
function looksLikeUtf16le(body: Buffer): boolean {
  const n = Math.min(body.length, 512) & ~1;
  if (n < 4) return false;
  let odd = 0;
  let even = 0;
  for (let i = 0; i < n; i += 2) {
    if (body[i] === 0) even++;
    if (body[i + 1] === 0) odd++;
  }
  return odd >= n / 8 && odd > even;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function delimiterOf(text: string, contentType: string | undefined): Delimiter {
  if (mimeOf(contentType) === 'text/tab-separated-values') return '\t';
  const end = text.search(/[\r\n]/);
  const first = end < 0 ? text.slice(0, 4096) : text.slice(0, Math.min(end, 4096));
  const count = (c: string): number => first.split(c).length - 1;
  return count('\t') > count(',') ? '\t' : ',';
}

/** Runs a sliced computation, giving the event loop a turn between slices (pushes keep flowing). */
export async function inTurns<T>(steps: Generator<void, T>): Promise<T> {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    await nextTurn();
  }
}

/** A number cell as written in the file ("10086", "1.5E-3"), told apart from text that looks like one. */
interface XlsxNumber {
  written: string;
}

/** Cells of an .xlsx sheet as the library reads them: text, a number, TRUE/FALSE, a date, or empty. */
type XlsxCell = string | XlsxNumber | boolean | Date | null;

/** Rows sent back by the worker per message: each message is deserialised in one go on this thread. */
const ROWS_PER_MESSAGE = 2000;
/** A sheet that takes longer than this to read is refused (the worker is stopped). */
const XLSX_TIMEOUT_MS = 60_000;
/** Heap for the worker: a small .xlsx may unpack to a huge sheet (a "ZIP bomb"); the worker dies, not the bridge. */
const XLSX_WORKER_HEAP_MB = 512;

const XLSX_LIBRARY = createRequire(import.meta.url).resolve('read-excel-file/node');

/**
 * Reads the first sheet in a worker thread: read-excel-file parses synchronously (seconds for a
 * sheet of 100,000 rows), which on this thread would stall every push meanwhile. Plain JavaScript
 * (the worker runs it as it is); the rows come back in batches, as the library gives them.
 */
const XLSX_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { readSheet } = require(workerData.library);
readSheet(Buffer.from(workerData.body.buffer, workerData.body.byteOffset, workerData.body.byteLength), { parseNumber: (s) => ({ written: s }), trim: false }).then(
  (rows) => {
    for (let i = 0; i < rows.length; i += workerData.batch) parentPort.postMessage({ rows: rows.slice(i, i + workerData.batch) });
    parentPort.postMessage({ done: true });
  },
  (err) => parentPort.postMessage({ error: { name: String((err && err.name) || 'Error'), message: String((err && err.message) || err) } }),
);
`;

async function readXlsx(body: Buffer): Promise<CsvRecord[]> {
  const rows = await readSheetInWorker(body);
  return inTurns(xlsxRecords(rows));
}

function readSheetInWorker(body: Buffer): Promise<XlsxCell[][]> {
  return new Promise((resolve, reject) => {
    const rows: XlsxCell[][] = [];
    const worker = new Worker(XLSX_WORKER, {
      eval: true,
      workerData: { library: XLSX_LIBRARY, body, batch: ROWS_PER_MESSAGE },
      resourceLimits: { maxOldGenerationSizeMb: XLSX_WORKER_HEAP_MB },
    });
    let settled = false;
    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      if (error) reject(error);
      else resolve(rows);
    };
    const timer = setTimeout(() => finish(badRequest(`file: 读取 .xlsx 超过 ${XLSX_TIMEOUT_MS / 1000} 秒，已放弃；请另存为 CSV 后再导入`)), XLSX_TIMEOUT_MS);
    worker.on('message', (message: { rows?: XlsxCell[][]; done?: true; error?: { name: string; message: string } }) => {
      if (message.rows) for (const row of message.rows) rows.push(row);
      else if (message.done) finish(null);
      else if (message.error) finish(xlsxError(message.error));
    });
    worker.on('error', (err: Error & { code?: string }) => {
      finish(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? badRequest('file: 这个 .xlsx 展开后太大，无法读取；请只保留需要的列和行，或另存为 CSV 后再导入') : err);
    });
    worker.on('exit', () => finish(new Error('the .xlsx reader stopped before it answered')));
  });
}

function xlsxError({ name, message }: { name: string; message: string }): Error {
  if (name === 'InvalidInputError' || name === 'InvalidSpreadsheetError' || name === 'SheetNotFoundError') {
    return badRequest(`file: 无法作为 .xlsx 读取（${message || name}）；请确认文件是 Excel 工作簿，或另存为 CSV 后再导入`);
  }
  return new Error(`reading the .xlsx: ${name}: ${message}`);
}

function* xlsxRecords(rows: XlsxCell[][]): Generator<void, CsvRecord[]> {
  const records: CsvRecord[] = [];
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && i % 2000 === 0) yield;
    records.push({ line: i + 1, fields: rows[i]!.map(cellText) });
  }
  return records;
}

/**
 * A cell as Excel shows it in General format: a number 10086 (not 10086.0 or 1.0086E4), text
 * exactly as typed (so 00123 keeps its zeros), TRUE/FALSE, a date as 2024-05-01.
 */
function cellText(cell: XlsxCell): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'object' && !(cell instanceof Date)) {
    const n = Number(cell.written);
    return Number.isFinite(n) ? String(n) : cell.written;
  }
  if (typeof cell === 'boolean') return cell ? 'TRUE' : 'FALSE';
  if (cell instanceof Date) {
    const iso = cell.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 19).replace('T', ' ');
  }
  return String(cell);
}

// ---- Header aliases --------------------------------------------------------------------------

export type ImportField = 'employee_no' | 'openid' | 'name' | 'active';
export const IMPORT_FIELDS: readonly ImportField[] = ['employee_no', 'openid', 'name', 'active'];

/** What each field is called in the report (and in the template's header). */
export const FIELD_LABELS: Record<ImportField, string> = { employee_no: '工号', openid: '微信openid', name: '姓名', active: '是否启用' };

/** Header spellings, compared after `headerKey`. The first few are the ones messages suggest. */
export const HEADER_ALIASES: Record<ImportField, readonly string[]> = {
  employee_no: ['工号', '员工编号', 'employee_no', '职工号', '员工号', '员工工号', '职工编号', '人员编号', '工号编码', 'employeeno', 'employeenumber', 'empno', 'staffno', 'jobnumber'],
  openid: ['openid', '微信openid', '微信号openid', 'wechatopenid', 'wxopenid', '微信openid号'],
  name: ['姓名', 'name', '员工姓名', '职工姓名', '人员姓名', '名字'],
  active: ['是否启用', '状态', 'active', '启用', '是否在职', '在职状态', '启用状态', 'enabled'],
};

/**
 * A header cell compared loosely: BOM, spaces, `_`/`-`, letter case and a trailing note in
 * brackets (`工号（必填）`) do not matter; a `'` the export put before a formula-like cell is undone.
 */
export function headerKey(cell: string): string {
  return unprefixCell(cell.replace(/^\uFEFF/, ''))
    .trim()
    .replace(/[（(][^）)]*[）)]\s*$/, '')
    .replace(/[\s_\-\u3000]+/g, '')
    .toLowerCase();
}

const ALIAS_FIELD = new Map<string, ImportField>(IMPORT_FIELDS.flatMap((field) => HEADER_ALIASES[field].map((alias) => [headerKey(alias), field] as const)));

/** The field a header cell names, if it is one of the aliases. */
export function fieldOfHeader(cell: string): ImportField | null {
  return ALIAS_FIELD.get(headerKey(cell)) ?? null;
}

/** A header as shown and sent back in `map`: trimmed, without BOM. */
export function headerLabel(cell: string): string {
  return cell.replace(/^\uFEFF/, '').trim();
}

export type ColumnChoice = ImportField | 'ignore';

/**
 * `?map=`: a JSON object from header (as in the file) to `employee_no|openid|name|active|ignore`,
 * chosen on the page for headers it did not recognise. 400 `map: …` when it cannot be used.
 */
export function parseColumnMap(raw: unknown): Map<string, ColumnChoice> | null {
  if (raw === undefined || raw === '') return null;
  if (typeof raw !== 'string') throw badRequest('map: 只能给一次，内容为 JSON 对象 {"表头": "employee_no|openid|name|active|ignore"}');
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw badRequest('map: 不是有效的 JSON；应为 {"表头": "employee_no|openid|name|active|ignore"}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('map: 应为 JSON 对象 {"表头": "employee_no|openid|name|active|ignore"}');
  const map = new Map<string, ColumnChoice>();
  for (const [header, choice] of Object.entries(value as Record<string, unknown>)) {
    if (choice !== 'ignore' && !IMPORT_FIELDS.includes(choice as ImportField)) {
      throw badRequest(`map: 列「${header}」的取值 ${JSON.stringify(choice)} 无效；可选 employee_no、openid、name、active、ignore`);
    }
    map.set(headerLabel(header), choice as ColumnChoice);
  }
  return map;
}

export interface ColumnLayout {
  /** Index of each field's column, -1 when the file has none. */
  at: Record<ImportField, number>;
  /** Each field's header as the file calls it, null when absent. */
  columns: Record<ImportField, string | null>;
  /** The file's header cells (trimmed, without BOM). */
  headers: string[];
  /** A field that two columns claim, with their headers. */
  conflict: { field: ImportField; headers: [string, string] } | null;
}

/**
 * Which column holds which field: the administrator's `map` first, then the aliases; anything
 * else is ignored. A `map` naming a header the file does not have answers 400 `map: …`.
 */
export function layoutOf(headerCells: string[], map: Map<string, ColumnChoice> | null): ColumnLayout {
  const headers = headerCells.map(headerLabel);
  if (map) {
    const unknown = [...map.keys()].find((h) => !headers.includes(h));
    if (unknown !== undefined) throw badRequest(`map: 文件中没有列「${unknown}」（文件的列：${headers.join('、')}）`);
  }
  const at = { employee_no: -1, openid: -1, name: -1, active: -1 } as Record<ImportField, number>;
  let conflict: ColumnLayout['conflict'] = null;
  headers.forEach((header, i) => {
    const choice = map?.get(header) ?? fieldOfHeader(header);
    if (choice === null || choice === 'ignore') return;
    if (at[choice] >= 0) conflict ??= { field: choice, headers: [headers[at[choice]]!, header] };
    else at[choice] = i;
  });
  const columns = Object.fromEntries(IMPORT_FIELDS.map((f) => [f, at[f] < 0 ? null : headers[at[f]]!])) as Record<ImportField, string | null>;
  return { at, columns, headers, conflict };
}
