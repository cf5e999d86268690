import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { authorize, createTestDatabase, pkcePair, startDocumentServer, tokenRequest, type DocumentServer, type TestDatabase } from '@mcp-gw/testkit';
import { startTestAuthServer, type TestAuthServer } from '../src/testing.js';

// Client ID Metadata Documents: the client_id is an https URL; the document at it describes the client.
describe('Client ID Metadata Documents', () => {
  let database: TestDatabase;
  let as: TestAuthServer;
  let strict: TestAuthServer;
  let docs: DocumentServer;

  beforeAll(async () => {
    database = await createTestDatabase();
    docs = await startDocumentServer();
    // Documents live on a loopback server with a self-signed certificate: only the unsafe test setting allows that.
    as = await startTestAuthServer(database.db, { UNSAFE_CIMD_ALLOW_LOOPBACK: 'true' });
    // The production behaviour: the same documents are refused (special-use address).
    strict = await startTestAuthServer(database.db, {});
  });
  afterAll(async () => {
    await as?.close();
    await strict?.close();
    await docs?.close();
    await database?.dispose();
  });

  const authUrl = (server: TestAuthServer, clientId: string, redirectUri: string) => {
    const { challenge } = pkcePair();
    return `${server.issuer}/auth?${new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'xyz',
      scope: 'tickets:read',
    })}`;
  };

  async function refused(server: TestAuthServer, clientId: string, redirectUri = 'http://127.0.0.1:5555/callback') {
    const clientsBefore = await database.db.prisma.oidcArtifact.count({ where: { model: 'Client' } });
    const response = await fetch(authUrl(server, clientId, redirectUri), { redirect: 'manual' });
    const body = await response.text();
    // Never a redirect to a URI from an unverified document: an error page for the person.
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(body).toMatch(/invalid_client/);
    expect(await database.db.prisma.oidcArtifact.count({ where: { model: 'Client' } })).toBe(clientsBefore);
    expect(await database.db.prisma.clientRegistration.count({ where: { clientId } })).toBe(0);
  }

  it('advertises client_id_metadata_document_supported with the none auth method', async () => {
    const metadata = await (await fetch(`${as.issuer}/.well-known/oauth-authorization-server`)).json();
    expect(metadata.client_id_metadata_document_supported).toBe(true);
    expect(metadata.token_endpoint_auth_methods_supported).toContain('none');
  });

  it('Claude Code: a document with portless loopback redirects, a port at run time, no resource', async () => {
    const clientId = docs.set('/oauth/claude-code-client-metadata', () => ({
      body: {
        client_id: clientId,
        client_name: 'Claude Code',
        client_uri: 'https://claude.com/claude-code',
        redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
    }));
    const redirectUri = 'http://localhost:51234/callback';
    const { challenge } = pkcePair();
    // The consent page names the document's host as the client's identity.
    const first = await authorize({ issuer: as.issuer, clientId, redirectUri, email: as.user.email, password: as.user.password, scope: 'tickets:read tickets:write' });
    expect(first.code).toBeTruthy();
    expect(first.location.searchParams.get('iss')).toBe(as.issuer);
    void challenge;
    const exchange = await tokenRequest(as.issuer, {
      grant_type: 'authorization_code',
      code: first.code!,
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: first.verifier,
    });
    expect(exchange.status).toBe(200);
    const claims = decodeJwt(exchange.body.access_token as string);
    expect(claims.client_id).toBe(clientId);
    expect(claims.aud).toBe(as.config.MCP_RESOURCE_URL); // missing resource → our MCP URL
    expect(exchange.body.refresh_token).toBeTruthy();
    const refreshed = await tokenRequest(as.issuer, { grant_type: 'refresh_token', refresh_token: exchange.body.refresh_token as string, client_id: clientId });
    expect(refreshed.status).toBe(200);
    // Nothing is registered in oidc-provider's store; administrators still see the client.
    const row = await database.db.prisma.clientRegistration.findUnique({ where: { clientId } });
    expect(row?.registeredVia).toBe('cimd');
    const clients = await as.running.admin.listClients();
    expect(clients.find((c) => c.clientId === clientId)?.users).toContain(as.user.email);
  });

  it('shows the document host on the consent page', async () => {
    const clientId = docs.set('/consent-host', () => ({
      body: { client_id: clientId, client_name: 'Some Tool', redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' },
    }));
    const jar = await import('@mcp-gw/testkit').then((m) => new m.CookieJar());
    let url = authUrl(as, clientId, 'http://127.0.0.1:40000/cb');
    let response = await fetch(url, { redirect: 'manual' });
    jar.store(response);
    url = new URL(response.headers.get('location')!, as.issuer).toString();
    response = await fetch(url, { headers: { cookie: jar.header() } });
    jar.store(response);
    const login = await response.text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(login)![1]!;
    response = await fetch(`${url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, email: as.user.email, password: as.user.password }),
    });
    jar.store(response);
    let next = new URL(response.headers.get('location')!, as.issuer).toString();
    for (let i = 0; i < 3 && !next.includes('/interaction/'); i++) {
      response = await fetch(next, { redirect: 'manual', headers: { cookie: jar.header() } });
      jar.store(response);
      next = new URL(response.headers.get('location')!, as.issuer).toString();
    }
    const consent = await (await fetch(next, { headers: { cookie: jar.header() } })).text();
    expect(consent).toContain(`Published by</dt><dd><strong>${new URL(docs.origin).host}</strong>`);
    expect(consent).toContain('Some Tool');
  });

  it('VS Code: its document with https and loopback redirects', async () => {
    const clientId = docs.set('/oauth/client-metadata.json', () => ({
      body: {
        client_id: clientId,
        client_name: 'Visual Studio Code',
        redirect_uris: ['https://insiders.vscode.dev/redirect', 'https://vscode.dev/redirect', 'http://127.0.0.1/', 'http://127.0.0.1:33418/'],
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        application_type: 'native',
      },
    }));
    const result = await authorize({ issuer: as.issuer, clientId, redirectUri: 'http://127.0.0.1:33418/', email: as.user.email, password: as.user.password, scope: 'tickets:read', resource: as.config.MCP_RESOURCE_URL });
    expect(result.code).toBeTruthy();
  });

  it('caches a document within its cache lifetime and never caches an error', async () => {
    let broken = true;
    const clientId = docs.set('/flaky', () =>
      broken ? { status: 500, body: { error: 'oops' } } : { body: { client_id: clientId, client_name: 'Flaky', redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' } },
    );
    await refused(as, clientId, 'http://127.0.0.1:5000/cb');
    broken = false;
    const hitsBefore = docs.hits('/flaky');
    const ok = await fetch(authUrl(as, clientId, 'http://127.0.0.1:5000/cb'), { redirect: 'manual' });
    expect(ok.status).toBe(303);
    expect(docs.hits('/flaky')).toBe(hitsBefore + 1);
    const again = await fetch(authUrl(as, clientId, 'http://127.0.0.1:5001/cb'), { redirect: 'manual' });
    expect(again.status).toBe(303);
    expect(docs.hits('/flaky')).toBe(hitsBefore + 1);
  });

  it('refuses a document whose client_id does not match its URL', async () => {
    const clientId = docs.set('/mismatch', { body: { client_id: 'https://elsewhere.example/doc', redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' } });
    await refused(as, clientId);
  });

  it('refuses a redirect instead of following it', async () => {
    const target = docs.set('/target', () => ({ body: { client_id: target, redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' } }));
    const clientId = docs.set('/moved', { status: 302, headers: { location: target }, body: '' });
    await refused(as, clientId);
    expect(docs.hits('/target')).toBe(0);
  });

  it('refuses an oversized document', async () => {
    const clientId = docs.set('/big', () => ({
      body: { client_id: clientId, client_name: 'x'.repeat(6000), redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' },
    }));
    await refused(as, clientId);
  });

  it('gives up on a slow server', async () => {
    const clientId = docs.set('/slow', () => ({
      delayMs: 4000,
      body: { client_id: clientId, redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' },
    }));
    await refused(as, clientId);
  });

  it('refuses a document on a private or loopback address in production settings', async () => {
    const clientId = docs.set('/private', () => ({ body: { client_id: clientId, redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' } }));
    await refused(strict, clientId);
    expect(docs.hits('/private')).toBe(0);
  });

  it('refuses a document carrying a secret or a shared-secret auth method', async () => {
    const secret = docs.set('/secret', () => ({ body: { client_id: secret, client_secret: 'hunter2', redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' } }));
    await refused(as, secret);
    const method = docs.set('/secret-method', () => ({ body: { client_id: method, redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'client_secret_post' } }));
    await refused(as, method);
  });

  it('refuses a document that is not JSON', async () => {
    const clientId = docs.set('/html', { headers: { 'content-type': 'text/html' }, body: '<html>not json</html>' });
    await refused(as, clientId);
  });

  it('refuses a document whose redirect URIs break the registration policy', async () => {
    const clientId = docs.set('/evil-redirect', () => ({ body: { client_id: clientId, redirect_uris: ['http://evil.example/cb'], token_endpoint_auth_method: 'none' } }));
    await refused(as, clientId, 'http://evil.example/cb');
  });

  it('reaches the Agent of Node\'s fetch in a process where nothing has used fetch yet', async () => {
    // Node loads its undici (and registers the dispatcher the loopback setting builds on) lazily: a
    // server starting with the unsafe setting, before any fetch, crashed on start.
    const built = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/registration/client-id-metadata.js')).href;
    const script = `const { metadataFetch } = await import(${JSON.stringify(built)}); console.log(typeof metadataFetch(true));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    expect(stdout.trim()).toBe('function');
  });
});
