import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

// The suite's own configuration, pointed at the canary only (see failing.canary.ts).
export default defineConfig({ ...base, test: { ...base.test, include: ['test/canary/*.canary.ts'] } });
