// The authorization server as two REAL processes over one PostgreSQL database, behind a round-robin
// balancer: every step of the OAuth flow (registration, authorization, sign-in, consent, code exchange,
// refresh) lands on the other replica than the step before, and the flow works, because all its state
// is in the database. Then a key rotation made by the CLI is published by both replicas.
// The balancer here is test scaffolding that records which replica served each request; deployments
// use nginx or an Ingress (docker-compose.yaml, k8s/).
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize, freePort, registerClient, tokenRequest } from '@mcp-gw/testkit';
import type { PostgresDatabase } from '@mcp-gw/testkit';
import { createDatabase, postgresUnavailable, startProcess, type ManagedProcess } from '../support/cluster.js';
import { repoRoot } from '../support/system.js';

const pgSkip = await postgresUnavailable();
if (pgSkip && process.env.CI) throw new Error(`${pgSkip}: the authorization server replica tests need it in CI`);
if (pgSkip) console.warn(`SKIPPED auth-replicas: ${pgSkip}`);

const REDIRECT = 'http://127.0.0.1:8765/callback';

/** Round-robin over `upstreams`, one request at a time; records the upstream of every request. */
async function startBalancer(upstreams: number[]) {
  const served: { path: string; upstream: number }[] = [];
  let next = 0;
  const server = http.createServer((req, res) => {
    const upstream = upstreams[next++ % upstreams.length]!;
    served.push({ path: `${req.method} ${req.url!.split('?')[0]}`, upstream });
    const forward = http.request({ host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.writeHead(502).end());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, served, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe.skipIf(!!pgSkip)('two authorization server replicas behind a round-robin balancer (real processes, PostgreSQL)', { timeout: 180_000 }, () => {
  let database: PostgresDatabase;
  let balancer: Awaited<ReturnType<typeof startBalancer>>;
  const processes: ManagedProcess[] = [];
  let issuer: string;
  let ports: number[];
  const email = 'replica-admin@example.com';
  const password = 'Replica-Secret-123';
  const env = (port: number) => ({
    DATABASE_URL: database.url,
    REDIS_URL: '',
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: issuer,
    MCP_RESOURCE_URL: 'http://127.0.0.1:3999/mcp',
    DEMO_EMAIL: email,
    DEMO_PASSWORD: password,
    KEY_ENCRYPTION_KEY: keyEncryptionKey,
    REGISTRATION_RATE_LIMIT: '100000',
  });
  const keyEncryptionKey = crypto.randomBytes(32).toString('base64');

  beforeAll(async () => {
    database = await createDatabase();
    ports = [await freePort(), await freePort()];
    balancer = await startBalancer(ports);
    issuer = `http://127.0.0.1:${balancer.port}`;
    // One after the other: the first creates the signing key and cookie keys, the second reads them.
    for (const [i, port] of ports.entries()) {
      processes.push(
        await startProcess(`auth-server-${'AB'[i]}`, 'apps/auth-server/dist/main.js', env(port), async () => (await fetch(`http://127.0.0.1:${port}/ready`)).ok),
      );
    }
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await balancer?.close();
    await database?.drop();
  });

  it('runs the whole flow with every step on the other replica than the one before', async () => {
    balancer.served.length = 0;
    const client = await registerClient(issuer, {
      client_name: 'Replica test client',
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
    });
    const result = await authorize({ issuer, clientId: client.client_id, redirectUri: REDIRECT, email, password, scope: 'tickets:read tickets:write' });
    expect(result.code).toBeTruthy();
    expect(result.location.searchParams.get('iss')).toBe(issuer);
    const exchanged = await tokenRequest(issuer, { grant_type: 'authorization_code', code: result.code!, redirect_uri: REDIRECT, client_id: client.client_id, code_verifier: result.verifier });
    expect(exchanged.status).toBe(200);
    const refreshed = await tokenRequest(issuer, { grant_type: 'refresh_token', refresh_token: String(exchanged.body.refresh_token), client_id: client.client_id });
    expect(refreshed.status).toBe(200);

    // Registration, the authorization steps (sign-in and consent included) and both token requests:
    // consecutive requests alternated between the replicas.
    const served = balancer.served;
    expect(served.length).toBeGreaterThanOrEqual(9);
    expect(served.some((s) => s.path.endsWith('/login'))).toBe(true);
    expect(served.some((s) => s.path.endsWith('/confirm'))).toBe(true);
    for (let i = 1; i < served.length; i++) expect(served[i]!.upstream).not.toBe(served[i - 1]!.upstream);
  });

  it('a key rotated by the CLI is published by both replicas', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(repoRoot, 'apps/auth-server/dist/cli/admin.js'), 'keys', 'rotate'], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: database.url, KEY_ENCRYPTION_KEY: keyEncryptionKey, LOG_LEVEL: 'warn', REDIS_URL: '' },
      timeout: 60_000,
    });
    const newKid = /new signing key ([\w-]+)/.exec(stdout)?.[1];
    expect(newKid).toBeTruthy();
    // A JWKS request reloads keys older than 5 s: poll each replica directly (a hang guard, not a timing check).
    for (const port of ports) {
      await expect
        .poll(async () => ((await (await fetch(`http://127.0.0.1:${port}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid), { timeout: 60_000, interval: 1000 })
        .toContain(newKid);
    }
  });
});
