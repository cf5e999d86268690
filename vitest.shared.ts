import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.dirname(fileURLToPath(import.meta.url));
import { defineConfig, type ViteUserConfig } from 'vitest/config';

/**
 * The test settings every package uses: real servers and databases per file (so generous timeouts,
 * two files at a time on a 2-core machine) and a JSON report that `npm test` sums into one line.
 */
export function packageTestConfig(packageDir: string, overrides: ViteUserConfig['test'] = {}) {
  const name = path.basename(packageDir);
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      // Hang guards, not timing assertions: generous for a loaded 2-core machine.
      testTimeout: 180_000,
      hookTimeout: 180_000,
      maxWorkers: 2,
      // expect.poll waits for something that happens asynchronously (a session closed after a
      // revocation...): its 1 s default is a timing assertion on a loaded machine. A hang guard instead.
      expect: { poll: { timeout: 15_000, interval: 50 } },
      reporters: ['default', ['json', { outputFile: path.join(repoRoot, 'test-results', `${name}.json`) }]],
      ...overrides,
    },
  });
}
