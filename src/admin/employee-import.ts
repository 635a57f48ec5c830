import { csvLine, readCsv, runToEnd, safeCell, unprefixCell, type CsvRecord } from './csv.js';
import type { EmployeeRecord, MappingInput } from '../types.js';
import { ACTIVE_SPELLINGS, employeeNoFault, mappingFrom, nameFault, openidFault, parseActive } from './mapping.js';
import { FIELD_LABELS, HEADER_ALIASES, layoutOf, type ColumnChoice, type ColumnLayout, type ImportField } from './spreadsheet.js';

// Turns the rows of an uploaded file into the mappings to write and a per-line list of rejections
// (contract §7, §11: `line` counts the header as 1; a rejected line writes nothing; messages in
// Chinese naming the column as the file calls it, the value and the employee number), and mappings
// into the CSV the export sends. Pure, and linear in the file: a 5 MB upload may hold 100,000
// lines, so nothing here may look at every line once per line.

export interface ImportError {
  line: number;
  message: string;
  /** The column at fault, as the file calls it. */
  column?: string;
  /** The value at fault, as in the file (cut at MAX_VALUE characters). */
  value?: string;
  employeeNo?: string;
}

export interface ImportPlan {
  inputs: MappingInput[];
  /** The first MAX_REPORTED_ERRORS rejections by line: a report people read, not a dump. */
  errors: ImportError[];
  /** All rejections, including those left out of `errors`. */
  errorCount: number;
  /** Which of the file's headers was read as each field; null when the file has none. */
  columns: Record<ImportField, string | null>;
  /** The file's header cells. */
  headers: string[];
  /** Set when the header cannot be used: the fields for the administrator to pick a column for. */
  missing?: ImportField[];
}

export const MAX_REPORTED_ERRORS = 1000;
/** Lines a duplicate message names before it says how many there are in all. */
const LINES_NAMED = 5;
/** Records validated between two pauses of the sliced planner. */
const RECORDS_PER_SLICE = 1000;
/** Characters of a bad value shown in a message (and sent back in `value`). */
const MAX_VALUE = 60;

export const CSV_HEADER = ['employee_no', 'openid', 'name', 'active'];
/** The template (GET /admin/api/employees/import-template): the Chinese header and one example row. */
export const TEMPLATE_HEADER = [FIELD_LABELS.employee_no, FIELD_LABELS.name, FIELD_LABELS.openid, FIELD_LABELS.active];
export const TEMPLATE_EXAMPLE = ['10086', '张伟', 'oE2XCw0000000000000000010086', '是'];

const NO_COLUMNS: Record<ImportField, string | null> = { employee_no: null, openid: null, name: null, active: null };

/** The CSV the export sends (without its BOM): the import's format, every cell safe to open in Excel. */
export function exportCsv(employees: Array<Pick<EmployeeRecord, 'employeeNo' | 'openid' | 'name' | 'active'>>): string {
  const rows = employees.map((e) => csvLine([e.employeeNo, e.openid ?? '', e.name, String(e.active)].map(safeCell)));
  return `${[csvLine(CSV_HEADER), ...rows].join('\r\n')}\r\n`;
}

/** The template's CSV (without its BOM). */
export function templateCsv(): string {
  return `${csvLine(TEMPLATE_HEADER)}\r\n${csvLine(TEMPLATE_EXAMPLE)}\r\n`;
}

export function planImport(text: string, map: Map<string, ColumnChoice> | null = null): ImportPlan {
  return runToEnd(planImportSteps(text, map));
}

/** `planImport` in slices: yields every few thousand records so the caller can let other work run. */
export function* planImportSteps(text: string, map: Map<string, ColumnChoice> | null = null): Generator<void, ImportPlan> {
  return yield* planRecords(yield* readCsv(text), map);
}

/** The plan for rows already read (CSV, tab-separated text or .xlsx), in slices. */
export function* planRecords(records: CsvRecord[], map: Map<string, ColumnChoice> | null = null): Generator<void, ImportPlan> {
  let first = 0;
  while (first < records.length && isBlank(records[first]!)) first++;
  const header = records[first];
  if (!header) return onlyError({ line: 1, message: `表头：文件是空的；第一行应为表头，例如 ${TEMPLATE_HEADER.join(',')}` }, NO_COLUMNS, []);
  if (header.problem !== undefined) return onlyError({ line: header.line, message: `表头：${header.problem}` }, NO_COLUMNS, []);
  const layout = layoutOf(header.fields, map);
  const headerProblem = checkHeader(layout, header.line);
  if (headerProblem) return headerProblem;
  const read = yield* readLines(records, first + 1, recordReader(layout, header.fields.length));
  return { ...(yield* withoutDuplicates(read)), columns: layout.columns, headers: layout.headers };
}

function checkHeader({ at, columns, headers, conflict }: ColumnLayout, line: number): ImportPlan | null {
  const fileColumns = `文件的列为：${headers.map((h) => h || '（空）').join('、') || '（无）'}`;
  if (conflict) {
    const [a, b] = conflict.headers;
    const message = `表头：「${a}」和「${b}」两列都是${FIELD_LABELS[conflict.field]}列；请删去其中一列，或在页面上指定各列`;
    return onlyError({ line, message, column: b }, columns, headers, [conflict.field]);
  }
  if (at.employee_no >= 0) return null;
  const message = `表头：未找到工号列（可用列名：${HEADER_ALIASES.employee_no.slice(0, 3).join('、')}）；${fileColumns}。请在页面上指定哪一列是工号`;
  const missing = (['employee_no', 'openid', 'name'] as const).filter((f) => at[f] < 0);
  return onlyError({ line, message }, columns, headers, missing);
}

interface Candidate {
  line: number;
  input: MappingInput;
}

interface Repeat {
  /** Lines of the employee number among the candidates, in order. */
  lines: number[];
  first: MappingInput;
  /** What differs between its lines: some of openid, 姓名, 是否启用. */
  differs: Set<string>;
}

interface ReadLines {
  candidates: Candidate[];
  byNo: Map<string, Repeat>;
  lineErrors: ImportError[];
  /** Lines rejected for another reason, by the employee number they carry. */
  rejectedByNo: Map<string, number[]>;
  /** The openid column's header, for duplicate reports. */
  openidColumn: string | null;
}

function* readLines(records: CsvRecord[], from: number, reader: LineReader): Generator<void, ReadLines> {
  const read: ReadLines = { candidates: [], byNo: new Map(), lineErrors: [], rejectedByNo: new Map(), openidColumn: reader.openidColumn };
  for (let i = from; i < records.length; i++) {
    if ((i - from) % RECORDS_PER_SLICE === RECORDS_PER_SLICE - 1) yield;
    const record = records[i]!;
    if (isBlank(record)) continue; // `,,,` after the data, or an empty row in a sheet
    const result = reader.read(record);
    if ('message' in result) {
      read.lineErrors.push(result);
      if (result.employeeNo !== undefined) {
        const lines = read.rejectedByNo.get(result.employeeNo);
        if (lines) lines.push(result.line);
        else read.rejectedByNo.set(result.employeeNo, [result.line]);
      }
      continue;
    }
    read.candidates.push(result);
    const repeat = read.byNo.get(result.input.employeeNo);
    if (!repeat) {
      read.byNo.set(result.input.employeeNo, { lines: [result.line], first: result.input, differs: new Set() });
      continue;
    }
    repeat.lines.push(result.line);
    const [a, b] = [repeat.first, result.input];
    if (a.openid !== b.openid) repeat.differs.add('openid');
    if (a.name !== b.name) repeat.differs.add('姓名');
    if (a.active !== b.active) repeat.differs.add('是否启用');
  }
  return read;
}

function isBlank(record: CsvRecord): boolean {
  return record.problem === undefined && record.fields.every((f) => f.trim() === '');
}

interface LineReader {
  read: (record: CsvRecord) => Candidate | ImportError;
  openidColumn: string | null;
}

function recordReader({ at, columns }: ColumnLayout, width: number): LineReader {
  const label = (field: ImportField): string => columns[field] || FIELD_LABELS[field];
  const read = ({ line, fields, problem }: CsvRecord): Candidate | ImportError => {
    if (problem !== undefined) return { line, message: problem };
    const cell = (i: number): string => (i < 0 || i >= fields.length ? '' : unprefixCell(fields[i]!));
    const rawNo = cell(at.employee_no);
    const employeeNo = rawNo.trim();
    const breaks = lineBreaksIn(fields);
    const knownNo = employeeNo !== '' && employeeNoFault(employeeNo) === null ? employeeNo : undefined;
    const withNo = (error: ImportError): ImportError => (knownNo === undefined ? error : { ...error, employeeNo: knownNo });
    if (breaks > 0) return withNo({ line, message: spansLines(line, breaks) });
    if (fields.length < width || fields.slice(width).some((f) => f.trim() !== '')) {
      return withNo({ line, message: `列数：表头有 ${width} 列，此行有 ${fields.length} 列${knownNo === undefined ? '' : `；工号 ${knownNo}`}` });
    }
    const noFault = employeeNoFault(employeeNo);
    if (noFault !== null) {
      const name = cell(at.name).trim();
      const message = employeeNo === '' ? `${label('employee_no')}列：为空${name ? `；姓名 ${shown(name)}` : ''}` : `${label('employee_no')}列：「${shown(rawNo)}」${noFault}`;
      return { line, message, column: label('employee_no'), value: shown(rawNo) };
    }
    // An empty openid cell keeps what is stored: the export writes one for an employee not yet bound.
    const openidCell = cell(at.openid);
    const openid = openidCell.trim() === '' ? undefined : openidCell.trim();
    const name = at.name < 0 ? null : cell(at.name);
    const activeCell = cell(at.active);
    const active = at.active < 0 ? true : parseActive(activeCell);
    const fault = (field: ImportField, value: string, what: string): ImportError => ({
      line,
      message: `${label(field)}列：「${shown(value)}」${what}；工号 ${employeeNo}`,
      column: label(field),
      value: shown(value),
      employeeNo,
    });
    const wrongOpenid = openidFault(openid);
    if (wrongOpenid !== null) return fault('openid', openidCell, wrongOpenid);
    const wrongName = name === null ? null : nameFault(name.trim());
    if (wrongName !== null) return fault('name', name!, wrongName);
    if (active === null) return fault('active', activeCell, `无法识别（可填：${ACTIVE_SPELLINGS}）`);
    return { line, input: mappingFrom(employeeNo, openid, name, active) };
  };
  return { read, openidColumn: columns.openid };
}

/** A value as a message shows it: at most MAX_VALUE characters. */
function shown(value: string): string {
  const chars = [...value.slice(0, MAX_VALUE * 2)];
  return chars.length > MAX_VALUE ? `${chars.slice(0, MAX_VALUE).join('')}…` : value;
}

/**
 * No column may hold a line break, so a record that spans lines is nearly always a quote left open
 * by mistake that swallowed the lines after it: say so, rather than report a strange name.
 */
function spansLines(line: number, breaks: number): string {
  return `引号：第 ${line} 行开始的带引号字段一直延续到第 ${line + breaks} 行；任何列都不能含有换行，可能少了一个闭合的双引号（"）`;
}

function lineBreaksIn(fields: string[]): number {
  let breaks = 0;
  for (const field of fields) if (/[\r\n]/.test(field)) breaks += field.match(/\r\n|\r|\n/g)!.length;
  return breaks;
}

/**
 * An employee number on several lines: when every line says the same, it is one row (the first);
 * otherwise which is right cannot be known, so none is written and each is reported; likewise when
 * another line of the number was rejected. Both error lists come out in line order (records are
 * read in order), so they are merged rather than sorted, only the reported ones are ever built,
 * and each duplicate message is built once per employee.
 */
function* withoutDuplicates({ candidates, byNo, lineErrors, rejectedByNo, openidColumn }: ReadLines): Generator<void, Omit<ImportPlan, 'columns' | 'headers'>> {
  const inputs: MappingInput[] = [];
  const duplicated: Candidate[] = [];
  for (let i = 0; i < candidates.length; i++) {
    if (i > 0 && i % RECORDS_PER_SLICE === 0) yield;
    const candidate = candidates[i]!;
    const repeat = byNo.get(candidate.input.employeeNo)!;
    const agreed = repeat.differs.size === 0 && !rejectedByNo.has(candidate.input.employeeNo);
    if (!agreed) duplicated.push(candidate);
    else if (repeat.lines[0] === candidate.line) inputs.push(candidate.input);
  }
  const messages = new Map<string, string>();
  const duplicateError = ({ line, input }: Candidate): ImportError => {
    const repeat = byNo.get(input.employeeNo)!;
    let message = messages.get(input.employeeNo);
    if (message === undefined) {
      const rejected = rejectedByNo.get(input.employeeNo);
      message = rejected ? rejectedMessage(input.employeeNo, repeat.lines, rejected) : duplicateMessage(input.employeeNo, repeat.lines, [...repeat.differs].join('、'));
      messages.set(input.employeeNo, message);
    }
    const openid = repeat.differs.has('openid') && openidColumn !== null ? { column: openidColumn, value: input.openid ?? '' } : {};
    return { line, message, employeeNo: input.employeeNo, ...openid };
  };
  return { inputs, errors: firstByLine(lineErrors, duplicated, duplicateError), errorCount: lineErrors.length + duplicated.length };
}

/** 第3、7行, or for many: 第2、3、4、5、6行等共25000行. */
function linesText(lines: number[]): string {
  if (lines.length <= LINES_NAMED) return `第${lines.join('、')}行`;
  return `第${lines.slice(0, LINES_NAMED).join('、')}行等共${lines.length}行`;
}

function noneWritten(count: number): string {
  return count === 2 ? '两行均未导入' : `${count}行均未导入`;
}

/** `工号 10086 在第3、7行出现，openid不同，两行均未导入`. */
export function duplicateMessage(employeeNo: string, lines: number[], differing: string): string {
  return `工号 ${employeeNo} 在${linesText(lines)}出现，${ordered(differing)}不同，${noneWritten(lines.length)}`;
}

function ordered(differing: string): string {
  const found = new Set(differing.split('、'));
  return ['openid', '姓名', '是否启用'].filter((f) => found.has(f)).join('、');
}

function rejectedMessage(employeeNo: string, lines: number[], rejected: number[]): string {
  const all = [...lines, ...rejected].sort((a, b) => a - b);
  return `工号 ${employeeNo} 在${linesText(all)}出现，其中${linesText(rejected)}有错误，${noneWritten(all.length)}`;
}

function firstByLine(lineErrors: ImportError[], duplicated: Candidate[], toError: (c: Candidate) => ImportError): ImportError[] {
  const errors: ImportError[] = [];
  let i = 0;
  let j = 0;
  while (errors.length < MAX_REPORTED_ERRORS && (i < lineErrors.length || j < duplicated.length)) {
    const takeLineError = j >= duplicated.length || (i < lineErrors.length && lineErrors[i]!.line < duplicated[j]!.line);
    errors.push(takeLineError ? lineErrors[i++]! : toError(duplicated[j++]!));
  }
  return errors;
}

/** `missing` when the administrator can fix the header by picking columns. */
function onlyError(error: ImportError, columns: Record<ImportField, string | null>, headers: string[], missing?: ImportField[]): ImportPlan {
  return { inputs: [], errors: [error], errorCount: 1, columns, headers, ...(missing ? { missing } : {}) };
}
