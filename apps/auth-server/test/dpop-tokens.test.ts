// The authorization server's side of RFC 9449 (oidc-provider's own DPoP): tokens bound to the
// client's key, a public client's refresh token bound to the same key, the binding shown on the
// consent page (dpop_jkt) and the admin pages, and recorded for every issued token in the audit trail.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, type JWK } from 'jose';
import { Browser, authorizeAndApprove, isConsentPage, postForm, publicClient, startAuthorization, startSuite, submitLogin, type Suite } from './helpers.js';

interface Key {
  privateKey: CryptoKey;
  jwk: JWK;
  jkt: string;
}
async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey: privateKey as CryptoKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}
const proof = (key: Key, url: string) =>
  new SignJWT({ htm: 'POST', htu: url, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID() }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk }).sign(key.privateKey);

describe('DPoP at the authorization server', () => {
  let suite: Suite;
  beforeAll(async () => {
    suite = await startSuite();
  });
  afterAll(async () => {
    await suite?.close();
  });
  const tokenUrl = () => `${suite.as.issuer}/token`;
  const redeem = async (key: Key | undefined, form: Record<string, string>) => {
    const response = await postForm(tokenUrl(), form, key ? { dpop: await proof(key, tokenUrl()) } : {});
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('binds the access token and the refresh token to the key; a refresh with another key or none is refused', async () => {
    const client = await publicClient(suite.as, { client_name: 'dpop public' });
    const key = await newKey();
    const { code, verifier } = await authorizeAndApprove(suite.as, client.client_id, { scope: 'tickets:read offline_access', prompt: 'consent' });
    const first = await redeem(key, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: client.redirect_uris[0]!, client_id: client.client_id });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.token_type).toBe('DPoP');
    expect(decodeJwt(first.body.access_token).cnf).toEqual({ jkt: key.jkt });
    const refresh = { grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: client.client_id };
    for (const [label, k] of [['another key', await newKey()], ['no proof', undefined]] as const) {
      const refused = await redeem(k, refresh);
      expect(refused.status, label).toBe(400);
      expect(refused.body.error, label).toBe('invalid_grant');
    }
    const again = await redeem(key, refresh);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(decodeJwt(again.body.access_token).cnf).toEqual({ jkt: key.jkt });

    // The administrator sees the grant's tokens as key-bound; the trail has each issuance with its binding.
    const [grant] = await suite.as.running.admin.listGrants({ clientId: client.client_id });
    expect(grant?.keyBound).toBe(true);
    const issuedEvents = () => suite.database.db.prisma.auditEvent.findMany({ where: { action: 'token.issued', clientId: client.client_id }, orderBy: { id: 'asc' } });
    await expect.poll(async () => (await issuedEvents()).map((e) => (e.details as Record<string, unknown>).grant_type)).toEqual(['authorization_code', 'refresh_token']);
    const issued = await issuedEvents();
    for (const e of issued) expect(e.details).toMatchObject({ token_type: 'DPoP', key_bound: true, jkt: key.jkt });
  });

  it('records Bearer tokens as not key-bound', async () => {
    const client = await publicClient(suite.as, { client_name: 'bearer public' });
    const { code, verifier } = await authorizeAndApprove(suite.as, client.client_id, { scope: 'tickets:read offline_access', prompt: 'consent' });
    const issued = await redeem(undefined, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: client.redirect_uris[0]!, client_id: client.client_id });
    expect(issued.body.token_type).toBe('Bearer');
    const [grant] = await suite.as.running.admin.listGrants({ clientId: client.client_id });
    expect(grant?.keyBound).toBe(false);
    await expect
      .poll(async () => (await suite.database.db.prisma.auditEvent.findFirst({ where: { action: 'token.issued', clientId: client.client_id } }))?.details)
      .toMatchObject({ token_type: 'Bearer', key_bound: false });
  });

  it('says on the consent page when the request binds the tokens to a key (dpop_jkt)', async () => {
    const client = await publicClient(suite.as, { client_name: 'dpop consent' });
    const key = await newKey();
    for (const [params, shown] of [[{ dpop_jkt: key.jkt }, true], [{}, false]] as const) {
      const browser = new Browser(suite.as.issuer);
      const { step } = await startAuthorization(suite.as, client.client_id, params, browser);
      const consent = await submitLogin(browser, step, suite.as.user.email, suite.as.user.password);
      expect(isConsentPage(consent)).toBe(true);
      if (consent.kind !== 'page') return;
      expect(consent.html.includes('Bound to a key this application holds (DPoP)'), JSON.stringify(params)).toBe(shown);
    }
  });
});
