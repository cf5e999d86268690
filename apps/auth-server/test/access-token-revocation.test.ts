// RFC 7009 for the JWT access tokens (oidc-provider refuses structured tokens): a client ends one of
// its own access tokens; nobody ends anyone else's; the grant stands.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RevocationEvent } from '@mcp-gw/shared';
import { obtainTokens } from '@mcp-gw/testkit';
import { startSuite, type Suite } from './helpers.js';

describe('access token revocation (RFC 7009)', () => {
  let suite: Suite;
  const heard: RevocationEvent[] = [];

  beforeAll(async () => {
    suite = await startSuite();
    suite.as.running.admin.publisher.onLocal((event) => void heard.push(event));
  });
  afterAll(async () => {
    await suite?.close();
  });

  const tokensOf = (name: string) =>
    obtainTokens({ issuer: suite.as.issuer, email: suite.as.user.email, password: suite.as.user.password, resource: suite.as.config.MCP_RESOURCE_URL, clientMetadata: { client_name: name } });
  const post = (path: string, params: Record<string, string>) =>
    fetch(`${suite.as.issuer}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });
  const active = async (token: string, clientId: string) => ((await (await post('/token/introspection', { token, client_id: clientId })).json()) as { active: boolean }).active;

  it("ends the client's own access token (200), says so to the resource servers, and leaves the grant standing", async () => {
    const { client, tokens } = await tokensOf('logs out');
    expect(await active(tokens.access_token, client.client_id)).toBe(true);
    const revoked = await post('/token/revocation', { token: tokens.access_token, token_type_hint: 'access_token', client_id: client.client_id });
    expect(revoked.status).toBe(200);
    expect(await revoked.text()).toBe('');
    expect(await active(tokens.access_token, client.client_id)).toBe(false);
    const jti = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()).jti as string;
    expect(heard.at(-1)).toMatchObject({ type: 'token', clientId: client.client_id, tokenIds: [jti], grantIds: [] });
    const audit = await suite.database.db.prisma.auditEvent.findFirst({ where: { action: 'token.revoked', targetId: jti } });
    expect(audit?.clientId).toBe(client.client_id);
    // The grant stands: the refresh token still works and its new access token is active.
    const refreshed = await post('/token', { grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token), client_id: client.client_id });
    expect(refreshed.status).toBe(200);
    const fresh = (await refreshed.json()) as { access_token: string };
    expect(await active(fresh.access_token, client.client_id)).toBe(true);
  });

  it("answers 200 for another client's token and does not end it", async () => {
    const victim = await tokensOf('victim');
    const other = await tokensOf('other');
    const heardBefore = heard.length;
    const attempt = await post('/token/revocation', { token: victim.tokens.access_token, client_id: other.client.client_id });
    expect(attempt.status).toBe(200);
    expect(await active(victim.tokens.access_token, victim.client.client_id)).toBe(true);
    expect(heard.length).toBe(heardBefore);
  });

  it('answers 200 for a token it did not issue (RFC 7009 §2.2) and changes nothing', async () => {
    const { client } = await tokensOf('forger');
    const heardBefore = heard.length;
    const forged = await post('/token/revocation', { token: 'eyJhbGciOiJSUzI1NiJ9.eyJqdGkiOiJ4In0.c2ln', client_id: client.client_id });
    expect(forged.status).toBe(200);
    expect(heard.length).toBe(heardBefore);
    expect(await suite.database.db.prisma.oidcArtifact.count({ where: { model: 'RevokedAccessToken', clientId: client.client_id } })).toBe(0);
  });
});
