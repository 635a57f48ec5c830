import { expect, it } from 'vitest';
import { inject } from 'vitest';

// Run only by .ci/run (through `npm test -- --config test/canary/vitest.config.ts`), which fails
// CI unless this run exits non-zero: the proof that a failing test turns the test command red.
// It goes through the suite's global setup (embedded Postgres, build), where the exit code was
// once lost.

it('fails on purpose', () => {
  expect(inject('adminDatabaseUrl')).toMatch(/^postgres/);
  expect('this test').toBe('failing');
});
