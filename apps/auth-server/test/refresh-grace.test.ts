import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { tokenRequest, type RegisteredClient } from '@mcp-gw/testkit';
import { artifactKey, isGrantActive } from '@mcp-gw/db';
import { postForm, publicClient, startSuite, tokensFor, type Suite } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function refresh(suite: Suite, client: RegisteredClient, refreshToken: string) {
  return tokenRequest(suite.as.issuer, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id });
}

// Concurrent refreshes of one token, and a retry after a lost response, must not log people out.
describe('refresh token rotation with a reuse grace period (default 10 s)', () => {
  let suite: Suite;
  let client: RegisteredClient;

  beforeAll(async () => {
    suite = await startSuite();
    client = await publicClient(suite.as, { client_name: 'Grace client' });
  });
  afterAll(async () => {
    await suite?.close();
  });

  it('answers two concurrent refreshes of one token with the same successor', async () => {
    expect(suite.as.config.REFRESH_TOKEN_REUSE_GRACE).toBe(10);
    const tokens = await tokensFor(suite.as, client);
    const original = tokens.refresh_token as string;
    const [a, b] = await Promise.all([refresh(suite, client, original), refresh(suite, client, original)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.refresh_token).toEqual(expect.any(String));
    expect(a.body.refresh_token).not.toBe(original);
    expect(b.body.refresh_token).toBe(a.body.refresh_token);
    // Each answer carries its own, fresh access token for the same grant.
    expect(a.body.access_token).not.toBe(b.body.access_token);
    expect(decodeJwt(a.body.access_token as string).gid).toBe(decodeJwt(tokens.access_token as string).gid);
    expect(decodeJwt(b.body.access_token as string).gid).toBe(decodeJwt(tokens.access_token as string).gid);
    // The successor works, and the grant stands.
    const next = await refresh(suite, client, a.body.refresh_token as string);
    expect(next.status).toBe(200);
    expect(await isGrantActive(suite.database.db.prisma, decodeJwt(tokens.access_token as string).gid as string)).toBe(true);
  });

  it('answers a retry after a lost response with the same successor, without extending the window', async () => {
    const tokens = await tokensFor(suite.as, client);
    const original = tokens.refresh_token as string;
    const first = await refresh(suite, client, original);
    expect(first.status).toBe(200);
    const consumedAt = async () =>
      (await suite.database.db.prisma.oidcArtifact.findUniqueOrThrow({ where: { model_key: { model: 'RefreshToken', key: artifactKey(original) } } })).consumedAt;
    const firstUse = await consumedAt();
    expect(firstUse).toBeInstanceOf(Date);
    const retries = [];
    for (let i = 0; i < 3; i++) retries.push(await refresh(suite, client, original));
    for (const retry of retries) {
      expect(retry.status).toBe(200);
      expect(retry.body.refresh_token).toBe(first.body.refresh_token);
    }
    // The window runs from the first use: retries do not move it.
    expect(await consumedAt()).toEqual(firstUse);
    // A rotated token is not active for introspection, grace or not.
    const introspected = await postForm(`${suite.as.issuer}/token/introspection`, { token: original, client_id: client.client_id });
    expect(introspected.status).toBe(200);
    expect(await introspected.json()).toEqual({ active: false });
  });

  it('treats reuse as theft once the successor has been used: the grant and every token die', async () => {
    const tokens = await tokensFor(suite.as, client);
    const grantId = decodeJwt(tokens.access_token as string).gid as string;
    const original = tokens.refresh_token as string;
    const first = await refresh(suite, client, original);
    const second = await refresh(suite, client, first.body.refresh_token as string);
    expect(second.status).toBe(200);
    const notices: unknown[] = [];
    suite.as.running.admin.publisher.onLocal((event) => {
      notices.push(event);
    });
    const replay = await refresh(suite, client, original);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect(replay.body.refresh_token).toBeUndefined();
    expect(await isGrantActive(suite.database.db.prisma, grantId)).toBe(false);
    // Resource servers are told before the answer goes out, as for an administrator's revocation.
    expect(notices).toContainEqual({ type: 'grant', grantIds: [grantId] });
    const latest = await refresh(suite, client, second.body.refresh_token as string);
    expect(latest.status).toBe(400);
    expect(latest.body.error).toBe('invalid_grant');
  });

  it('does not let another client use the grace period', async () => {
    const tokens = await tokensFor(suite.as, client);
    const original = tokens.refresh_token as string;
    expect((await refresh(suite, client, original)).status).toBe(200);
    const other = await publicClient(suite.as, { client_name: 'Other grace client' });
    const stolen = await refresh(suite, other, original);
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
  });
});

describe('refresh token reuse after the grace period', () => {
  let suite: Suite;
  let client: RegisteredClient;

  beforeAll(async () => {
    suite = await startSuite({ REFRESH_TOKEN_REUSE_GRACE: '1' });
    client = await publicClient(suite.as, { client_name: 'Short grace client' });
  });
  afterAll(async () => {
    await suite?.close();
  });

  it('revokes the grant, and the successor dies too', async () => {
    const tokens = await tokensFor(suite.as, client);
    const grantId = decodeJwt(tokens.access_token as string).gid as string;
    const original = tokens.refresh_token as string;
    const rotated = await refresh(suite, client, original);
    expect(rotated.status).toBe(200);
    // Past the grace period (1 s; consumption is recorded to the second).
    await sleep(2_100);
    const replay = await refresh(suite, client, original);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect(await isGrantActive(suite.database.db.prisma, grantId)).toBe(false);
    const successor = await refresh(suite, client, rotated.body.refresh_token as string);
    expect(successor.status).toBe(400);
    expect(successor.body.error).toBe('invalid_grant');
  });
});
