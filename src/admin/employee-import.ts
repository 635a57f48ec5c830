import { parseCsv } from './csv.js';
import type { MappingInput } from './employee-store.js';
import { employeeNoProblem, mappingFrom, nameProblem, openidProblem, parseActive } from './mapping.js';

// Turns an uploaded CSV into the mappings to write and a per-line list of rejections (contract §7:
// `line` counts the header as 1; a rejected line writes nothing). Pure.

export interface ImportError {
  line: number;
  message: string;
}

export interface ImportPlan {
  inputs: MappingInput[];
  errors: ImportError[];
}

const REQUIRED = ['employee_no', 'openid', 'name'] as const;
export const CSV_HEADER = ['employee_no', 'openid', 'name', 'active'];

export function planImport(text: string): ImportPlan {
  const [header, ...records] = parseCsv(text);
  if (!header) return { inputs: [], errors: [{ line: 1, message: `header: the file is empty; expected ${CSV_HEADER.join(',')}` }] };
  const columns = header.fields.map((f) => f.trim().toLowerCase());
  const headerProblem = checkHeader(columns);
  if (headerProblem) return { inputs: [], errors: [{ line: header.line, message: headerProblem }] };
  const at = (fields: string[], name: string): string => fields[columns.indexOf(name)] ?? '';

  const errors: ImportError[] = [];
  const candidates: Array<{ line: number; input: MappingInput }> = [];
  for (const { line, fields } of records) {
    if (fields.length !== columns.length) {
      errors.push({ line, message: `columns: expected ${columns.length} values, found ${fields.length}` });
      continue;
    }
    const employeeNo = at(fields, 'employee_no').trim();
    const openid = at(fields, 'openid').trim();
    const name = at(fields, 'name');
    const active = columns.includes('active') ? parseActive(at(fields, 'active')) : true;
    const problem =
      employeeNoProblem(employeeNo) ?? openidProblem(openid) ?? nameProblem(name.trim()) ?? (active === null ? `active: expected true/false, got "${at(fields, 'active')}"` : null);
    if (problem) errors.push({ line, message: problem });
    else candidates.push({ line, input: mappingFrom(employeeNo, openid, name, active!) });
  }

  // Two lines for one employee: which is right cannot be known, so neither is written.
  const linesByNo = new Map<string, number[]>();
  for (const { line, input } of candidates) linesByNo.set(input.employeeNo, [...(linesByNo.get(input.employeeNo) ?? []), line]);
  const inputs: MappingInput[] = [];
  for (const { line, input } of candidates) {
    const lines = linesByNo.get(input.employeeNo)!;
    if (lines.length > 1) errors.push({ line, message: `employee_no: ${input.employeeNo} appears on lines ${lines.join(', ')}` });
    else inputs.push(input);
  }
  errors.sort((a, b) => a.line - b.line);
  return { inputs, errors };
}

function checkHeader(columns: string[]): string | null {
  const expected = `expected ${REQUIRED.join(',')}[,active]`;
  for (const name of REQUIRED) if (!columns.includes(name)) return `header: column ${name} is missing; ${expected}`;
  const unknown = columns.find((c) => !CSV_HEADER.includes(c));
  if (unknown !== undefined) return `header: unknown column "${unknown}"; ${expected}`;
  if (new Set(columns).size !== columns.length) return `header: a column appears twice; ${expected}`;
  return null;
}
