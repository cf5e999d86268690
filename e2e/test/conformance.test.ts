import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { conformanceCli, node22, requirementsFile } from '@mcp-gw/conformance-runner';
import { freePort, obtainTokens } from '@mcp-gw/testkit';
import { repoRoot, startSystem, type RunningSystem } from '../support/system.js';
import { startTokenProxy } from '../support/token-proxy.js';

/**
 * One run of the suite per spec revision it has a frozen requirement set for. `core` names what must
 * have really passed (ran, every check green but baselined ones, at least one check of its own that
 * succeeded): `scenario`, or `scenario:check-id` for one check that must have succeeded.
 */
const RUNS = [
  {
    requirements: '2025-11-25',
    core: [
      'server-initialize',
      'ping',
      'logging-set-level',
      'tools-list',
      'resources-list',
      'prompts-list',
      'dns-rebinding-protection',
      'server-sse-multiple-streams',
      'server-session-lifecycle',
    ],
  },
  {
    requirements: '2026-07-28',
    core: [
      'server-stateless',
      'server-stateless:sep-2575-server-implements-discover',
      'server-stateless:sep-2575-discover-capabilities-match-handlers',
      'server-stateless:sep-2575-server-unsupported-version-error',
      'server-stateless:sep-2575-http-server-header-mismatch-400',
      'server-stateless:sep-2575-request-meta-invalid-missing-meta',
      'server-stateless:sep-2575-server-sends-subscription-ack',
      'caching',
      'sep-2164-resource-not-found',
      'input-required-result-unsupported-methods',
      'tools-list',
      'resources-list',
      'prompts-list',
      'dns-rebinding-protection',
      'server-sse-multiple-streams',
      'http-header-validation',
    ],
  },
] as const;

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string | null;
}
interface Entry {
  scenario: string;
  checkId?: string;
  text: string;
}

const failing = (c: Check) => c.status === 'FAILURE' || c.status === 'WARNING';

/** The baseline: `server` (scored scenarios, also read by the suite) and `not_scored` (read only here). */
function loadBaseline(file: string): { server: Entry[]; notScored: Entry[] } {
  const doc = (parseYaml(fs.readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  const entries = (key: string): Entry[] =>
    ((doc[key] as string[] | undefined) ?? []).map((text) => {
      const [scenario, checkId] = String(text).split(/:(.*)/s);
      return { scenario: scenario!, checkId: checkId || undefined, text: String(text) };
    });
  return { server: entries('server'), notScored: entries('not_scored') };
}

/** Each scenario's checks, from `<outputDir>/server-<scenario>-<timestamp>/checks.json`. */
function loadResults(outputDir: string): Map<string, Check[]> {
  const results = new Map<string, Check[]>();
  for (const dir of fs.existsSync(outputDir) ? fs.readdirSync(outputDir) : []) {
    const scenario = /^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(dir)?.[1];
    const file = path.join(outputDir, dir, 'checks.json');
    if (scenario && fs.existsSync(file)) results.set(scenario, JSON.parse(fs.readFileSync(file, 'utf8')) as Check[]);
  }
  return results;
}

/**
 * The suite's own baseline rules (a whole-scenario entry must fail somewhere; a per-check entry lets
 * only that check fail and goes stale once it succeeds), applied to every scenario run, scored or not.
 */
function evaluate(scenarios: string[], results: Map<string, Check[]>, entries: Entry[]) {
  const unexpected: string[] = [];
  const stale: string[] = [];
  const expected: string[] = [];
  const passed: string[] = [];
  for (const scenario of scenarios) {
    const checks = results.get(scenario) ?? [{ id: scenario, status: 'FAILURE', errorMessage: 'no checks.json: the scenario did not finish (see summary.txt)' }];
    const mine = entries.filter((e) => e.scenario === scenario);
    if (mine.some((e) => !e.checkId)) {
      (checks.some(failing) ? expected : stale).push(scenario);
      continue;
    }
    const allowed = new Set(mine.map((e) => e.checkId));
    for (const c of checks.filter(failing)) {
      const where = `${scenario}:${c.id}`;
      if (allowed.has(c.id)) expected.push(where);
      else unexpected.push(`${where} [${c.status}] ${c.errorMessage ?? ''}`.trim());
    }
    for (const id of allowed) {
      const same = checks.filter((c) => c.id === id);
      if (!same.some(failing) && same.some((c) => c.status === 'SUCCESS')) stale.push(`${scenario}:${id}`);
    }
    if (!checks.some(failing)) passed.push(scenario);
  }
  return { unexpected: [...new Set(unexpected)], stale, expected: [...new Set(expected)], passed };
}

// MCP's own conformance suite against the MCP server, with a real token obtained through the real
// authorization flow, once per spec revision: the 2025-11-25 run speaks the stateful initialize
// handshake, the 2026-07-28 run the stateless per-request `_meta` protocol, both on the same URL.
// The suite sends no token, so a loopback proxy adds it and changes nothing else.
describe('MCP conformance suite', () => {
  let system: RunningSystem;
  let proxy: Awaited<ReturnType<typeof startTokenProxy>>;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    const proxyPort = await freePort();
    // The proxy is the public face the suite talks to: allow its Host and Origin.
    system = await startSystem({
      ALLOWED_HOSTS: `127.0.0.1:${proxyPort}`,
      ALLOWED_ORIGINS: `http://127.0.0.1:${proxyPort}`,
      RATE_LIMIT_READ_PER_MINUTE: '10000',
      RATE_LIMIT_WRITE_PER_MINUTE: '10000',
    });
    const { tokens } = await obtainTokens({
      issuer: system.issuer,
      email: system.demoEmail,
      password: system.demoPassword,
      resource: system.mcpUrl,
    });
    proxy = await startTokenProxy(system.mcpUrl, tokens.access_token, proxyPort);
    expect(proxy.host).toBe(`127.0.0.1:${proxyPort}`);
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await proxy?.close();
    await system?.stop();
  });

  for (const run of RUNS) {
    it(`passes every ${run.requirements} scenario that applies to this server`, async () => {
      const baselineFile = path.join(repoRoot, 'e2e', `conformance-baseline-${run.requirements}.yaml`);
      const outputDir = path.join(repoRoot, 'test-results', 'conformance', run.requirements);
      fs.rmSync(outputDir, { recursive: true, force: true });
      const started = performance.now();
      // Asynchronously: the proxy lives in this process and must keep serving while the suite runs.
      child = spawn(node22, [conformanceCli, 'server', '--url', proxy.url, '--requirements', run.requirements, '--expected-failures', baselineFile, '--output-dir', outputDir]);
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      const status = await new Promise<number | null>((resolve) => child!.on('close', resolve));
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      fs.mkdirSync(outputDir, { recursive: true });
      fs.writeFileSync(path.join(outputDir, 'summary.txt'), output);
      // Reworded so CI's summary-line reader does not take the suite's own totals for ours.
      const summary = output.slice(output.indexOf('=== SUMMARY ===')).replace(/(\d+) passed, (\d+) failed/g, '$1 ok / $2 not ok');

      // What ran: every scenario the requirement set names (scored) plus those it only reports.
      const scenarios = [...output.matchAll(/^=== Running scenario: (\S+) ===$/gm)].map((m) => m[1]!);
      const announced = Number(/Running requirements \S+ \((\d+) scenarios\)/.exec(output)?.[1]);
      const requirements = parseYaml(fs.readFileSync(requirementsFile(run.requirements), 'utf8')) as {
        server: string[];
        not_scored?: { scenario: string; leg: string }[];
      };
      const scored = new Set(requirements.server);
      const notScored = new Set((requirements.not_scored ?? []).filter((e) => e.leg === 'server').map((e) => e.scenario));

      const baseline = loadBaseline(baselineFile);
      const results = loadResults(outputDir);
      const verdict = evaluate(scenarios, results, [...baseline.server, ...baseline.notScored]);
      // Entries must name a scenario of this run, in the section the suite scores it in.
      const misplaced = [
        ...baseline.server.filter((e) => !scored.has(e.scenario)).map((e) => `server: ${e.text}`),
        ...baseline.notScored.filter((e) => !notScored.has(e.scenario)).map((e) => `not_scored: ${e.text}`),
      ];
      const tally = (names: Set<string>) => {
        const baselined = new Set(verdict.expected.map((e) => e.split(':')[0]).filter((n) => names.has(n!)));
        const unexpected = new Set(verdict.unexpected.map((e) => e.split(':')[0]).filter((n) => names.has(n!)));
        const clean = verdict.passed.filter((n) => names.has(n) && !unexpected.has(n));
        return `${names.size} (${clean.length} clean, ${baselined.size} with baselined fixture checks, ${unexpected.size} with unexpected failures)`;
      };

      // Printed for the record.
      console.log(
        `--requirements ${run.requirements} took ${seconds} s: scored ${tally(scored)}; not scored ${tally(notScored)}; ` +
          `${verdict.stale.length} stale baseline entries\n` +
          summary,
      );

      expect.soft(scenarios.length, 'scenarios run').toBe(announced);
      expect.soft(new Set(scenarios), 'scenarios run').toEqual(new Set([...scored, ...notScored]));
      // Exit 0 means: every scored scenario passed except what the baseline allows, and no entry passed.
      expect.soft(status, summary).toBe(0);
      // The same rules over every scenario run, not-scored ones included, and over the file itself.
      expect.soft(verdict.unexpected, 'unexpected failures (not in the baseline)').toEqual([]);
      expect.soft(verdict.stale, 'baseline entries that now pass: remove them').toEqual([]);
      expect.soft(misplaced, `entries of ${path.basename(baselineFile)} that name no scenario of their section`).toEqual([]);

      for (const core of run.core) {
        const [scenario, checkId] = core.split(':') as [string, string | undefined];
        const checks = results.get(scenario) ?? [];
        if (checkId) {
          expect.soft(checks.filter((c) => c.id === checkId).map((c) => c.status), core).toContain('SUCCESS');
          expect.soft(checks.some((c) => c.id === checkId && failing(c)), core).toBe(false);
        } else {
          expect.soft(baseline.server.concat(baseline.notScored).some((e) => e.scenario === scenario && !e.checkId), `${core} is core: no whole-scenario entry`).toBe(false);
          expect.soft(verdict.unexpected.filter((u) => u.startsWith(`${scenario}:`)), core).toEqual([]);
          expect.soft(checks.some((c) => c.status === 'SUCCESS' && c.id !== 'wire-schema-valid'), `${core} succeeded at something`).toBe(true);
        }
      }
    }, 300_000);
  }
});
