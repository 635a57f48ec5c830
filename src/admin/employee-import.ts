import { csvLine, readCsv, runToEnd, safeCell, unprefixCell, type CsvRecord } from './csv.js';
import type { EmployeeRecord, MappingInput } from '../types.js';
import { employeeNoProblem, mappingFrom, nameProblem, openidProblem, parseActive } from './mapping.js';

// Turns an uploaded CSV into the mappings to write and a per-line list of rejections (contract §7:
// `line` counts the header as 1; a rejected line writes nothing), and mappings into the CSV the
// export sends. Pure, and linear in the file: a 5 MB upload may hold 100,000 lines, so nothing
// here may look at every line once per line.

export interface ImportError {
  line: number;
  message: string;
}

export interface ImportPlan {
  inputs: MappingInput[];
  /** The first MAX_REPORTED_ERRORS rejections by line: a report people read, not a dump. */
  errors: ImportError[];
  /** All rejections, including those left out of `errors`. */
  errorCount: number;
}

export const MAX_REPORTED_ERRORS = 1000;
/** Lines a duplicate message names before it says "and N more". */
const LINES_NAMED = 5;
/** Records validated between two pauses of the sliced planner. */
const RECORDS_PER_SLICE = 1000;

const REQUIRED = ['employee_no', 'openid', 'name'] as const;
export const CSV_HEADER = ['employee_no', 'openid', 'name', 'active'];

/** The CSV the export sends (without its BOM): the import's format, every cell safe to open in Excel. */
export function exportCsv(employees: Array<Pick<EmployeeRecord, 'employeeNo' | 'openid' | 'name' | 'active'>>): string {
  const rows = employees.map((e) => csvLine([e.employeeNo, e.openid ?? '', e.name, String(e.active)].map(safeCell)));
  return `${[csvLine(CSV_HEADER), ...rows].join('\r\n')}\r\n`;
}

export function planImport(text: string): ImportPlan {
  return runToEnd(planImportSteps(text));
}

/** `planImport` in slices: yields every few thousand records so the caller can let other work run. */
export function* planImportSteps(text: string): Generator<void, ImportPlan> {
  const records = yield* readCsv(text);
  const header = records[0];
  if (!header) return onlyError({ line: 1, message: `header: the file is empty; expected ${CSV_HEADER.join(',')}` });
  if (header.problem !== undefined) return onlyError({ line: header.line, message: header.problem });
  const columns = header.fields.map((f) => unprefixCell(f).trim().toLowerCase());
  const headerProblem = checkHeader(columns);
  if (headerProblem) return onlyError({ line: header.line, message: headerProblem });

  return yield* withoutDuplicates(yield* readLines(records, recordReader(columns)));
}

interface Candidate {
  line: number;
  input: MappingInput;
}

interface ReadLines {
  candidates: Candidate[];
  /** Lines of each employee number among the candidates, in order. */
  linesByNo: Map<string, number[]>;
  lineErrors: ImportError[];
}

function* readLines(records: CsvRecord[], reader: (record: CsvRecord) => Candidate | ImportError): Generator<void, ReadLines> {
  const read: ReadLines = { candidates: [], linesByNo: new Map(), lineErrors: [] };
  for (let i = 1; i < records.length; i++) {
    if (i % RECORDS_PER_SLICE === 0) yield;
    const result = reader(records[i]!);
    if ('message' in result) {
      read.lineErrors.push(result);
      continue;
    }
    read.candidates.push(result);
    const lines = read.linesByNo.get(result.input.employeeNo);
    if (lines) lines.push(result.line);
    else read.linesByNo.set(result.input.employeeNo, [result.line]);
  }
  return read;
}

function recordReader(columns: string[]): (record: CsvRecord) => Candidate | ImportError {
  const index = (name: string): number => columns.indexOf(name);
  const [noAt, openidAt, nameAt, activeAt] = [index('employee_no'), index('openid'), index('name'), index('active')];
  return ({ line, fields, problem }) => {
    if (problem !== undefined) return { line, message: problem };
    const breaks = lineBreaksIn(fields);
    if (breaks > 0) return { line, message: spansLines(line, breaks) };
    if (fields.length !== columns.length) return { line, message: `columns: expected ${columns.length} values, found ${fields.length}` };
    const cell = (at: number): string => (at < 0 ? '' : unprefixCell(fields[at]!));
    const employeeNo = cell(noAt).trim();
    // An empty openid cell keeps what is stored: the export writes one for an employee not yet bound.
    const openidCell = cell(openidAt).trim();
    const openid = openidCell === '' ? undefined : openidCell;
    const name = cell(nameAt);
    const active = activeAt < 0 ? true : parseActive(cell(activeAt));
    const wrong =
      employeeNoProblem(employeeNo) ?? openidProblem(openid) ?? nameProblem(name.trim()) ?? (active === null ? `active: expected true/false, got "${cell(activeAt)}"` : null);
    return wrong ? { line, message: wrong } : { line, input: mappingFrom(employeeNo, openid, name, active!) };
  };
}

/**
 * No column may hold a line break, so a record that spans lines is nearly always a quote left open
 * by mistake that swallowed the lines after it: say so, rather than report a strange name.
 */
function spansLines(line: number, breaks: number): string {
  return `quote: a quoted field runs from line ${line} to line ${line + breaks}; no column may contain a line break, so a closing quote is probably missing`;
}

function lineBreaksIn(fields: string[]): number {
  let breaks = 0;
  for (const field of fields) if (/[\r\n]/.test(field)) breaks += field.match(/\r\n|\r|\n/g)!.length;
  return breaks;
}

/**
 * Two lines for one employee: which is right cannot be known, so neither is written. Both error
 * lists come out in line order (records are read in order), so they are merged rather than sorted,
 * and only the reported ones are ever built; each duplicate message is built once per employee.
 */
function* withoutDuplicates({ candidates, linesByNo, lineErrors }: ReadLines): Generator<void, ImportPlan> {
  const inputs: MappingInput[] = [];
  const duplicated: Candidate[] = [];
  for (let i = 0; i < candidates.length; i++) {
    if (i > 0 && i % RECORDS_PER_SLICE === 0) yield;
    const candidate = candidates[i]!;
    if (linesByNo.get(candidate.input.employeeNo)!.length > 1) duplicated.push(candidate);
    else inputs.push(candidate.input);
  }
  const messages = new Map<string, string>();
  const duplicateError = ({ line, input }: Candidate): ImportError => {
    let message = messages.get(input.employeeNo);
    if (message === undefined) {
      message = duplicateMessage(input.employeeNo, linesByNo.get(input.employeeNo)!);
      messages.set(input.employeeNo, message);
    }
    return { line, message };
  };
  return { inputs, errors: firstByLine(lineErrors, duplicated, duplicateError), errorCount: lineErrors.length + duplicated.length };
}

/** `appears on lines 4, 5`, or for many: `appears on 25000 lines (2, 3, 4, 5, 6 and 24995 more)`. */
export function duplicateMessage(employeeNo: string, lines: number[]): string {
  if (lines.length <= LINES_NAMED) return `employee_no: ${employeeNo} appears on lines ${lines.join(', ')}`;
  const named = lines.slice(0, LINES_NAMED).join(', ');
  return `employee_no: ${employeeNo} appears on ${lines.length} lines (${named} and ${lines.length - LINES_NAMED} more)`;
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

function onlyError(error: ImportError): ImportPlan {
  return { inputs: [], errors: [error], errorCount: 1 };
}

function checkHeader(columns: string[]): string | null {
  const expected = `expected ${REQUIRED.join(',')}[,active]`;
  for (const name of REQUIRED) if (!columns.includes(name)) return `header: column ${name} is missing; ${expected}`;
  const unknown = columns.find((c) => !CSV_HEADER.includes(c));
  if (unknown !== undefined) return `header: unknown column "${unknown}"; ${expected}`;
  if (new Set(columns).size !== columns.length) return `header: a column appears twice; ${expected}`;
  return null;
}
