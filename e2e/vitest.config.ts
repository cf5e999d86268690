import { packageTestConfig } from '../vitest.shared.js';

// End-to-end files start whole systems and browsers: one at a time.
export default packageTestConfig(import.meta.dirname, { maxWorkers: 1, testTimeout: 180_000, hookTimeout: 180_000, globalSetup: ['./support/global-setup.ts'] });
