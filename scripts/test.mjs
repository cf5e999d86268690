#!/usr/bin/env node
// `npm test`: installs, builds and runs every package's tests. With TEST_DATABASE_URL set
// (postgresql://…) the same tests run against PostgreSQL instead of the embedded database.
import fs from 'node:fs';
import path from 'node:path';
import { build, checkNode, ensureInstalled, pnpm, root } from './lib.mjs';

checkNode();
ensureInstalled();
build();
const resultsDir = path.join(root, 'test-results');
fs.rmSync(resultsDir, { recursive: true, force: true });
const code = pnpm(['exec', 'turbo', 'run', 'test', '--concurrency=1', '--continue', '--output-logs=full']);

// One closing line over every package's vitest JSON report.
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
if (fs.existsSync(resultsDir)) {
  for (const file of fs.readdirSync(resultsDir).filter((f) => f.endsWith('.json'))) {
    const report = JSON.parse(fs.readFileSync(path.join(resultsDir, file), 'utf8'));
    passed += report.numPassedTests ?? 0;
    failed += report.numFailedTests ?? 0;
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
    for (const suite of report.testResults ?? []) {
      const file = path.relative(root, suite.name ?? '');
      for (const test of suite.assertionResults ?? []) {
        if (test.status !== 'failed') continue;
        const reason = String(test.failureMessages?.[0] ?? '').split('\n')[0].slice(0, 300);
        failures.push(`  ${file} > ${test.fullName}\n      ${reason}`);
      }
      // A file that failed to load (or hit a hook timeout) reports no assertions but a message.
      if (suite.status === 'failed' && !(suite.assertionResults ?? []).some((t) => t.status === 'failed')) {
        failures.push(`  ${file}\n      ${String(suite.message ?? 'failed').split('\n')[0].slice(0, 300)}`);
      }
    }
  }
}
const where = process.env.TEST_DATABASE_URL ? 'postgresql' : 'embedded';
// Failures are repeated at the end so the last lines of a long CI log name them.
if (failures.length > 0) console.log(`\nFailed (${where}):\n${failures.join('\n')}`);
console.log(`\n${where}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code !== 0 ? code : failed > 0 ? 1 : 0);
