import { packageTestConfig } from '../vitest.shared.js';

// The bounded soak and fault runs: `pnpm test:soak` (CI runs it after `npm test`).
export default packageTestConfig(import.meta.dirname, {
  include: ['soak/**/*.test.ts'],
  maxWorkers: 1,
  testTimeout: 600_000,
  hookTimeout: 300_000,
  reporters: ['default'],
});
