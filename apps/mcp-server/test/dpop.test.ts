// RFC 9449 at the MCP server: a DPoP-bound token works only with the DPoP scheme and a proof of its key,
// on both protocol eras; every broken proof is refused with the DPoP challenge; Bearer tokens unchanged.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { MCP_ACCEPT, initializeBody, startHarness, type Harness } from './support/harness.js';

let h: Harness;

interface Holder {
  privateKey: Parameters<SignJWT['sign']>[0];
  jwk: JWK;
  jkt: string;
}

async function holder(alg: 'ES256' | 'EdDSA' = 'ES256'): Promise<Holder> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

const ath = (token: string) => crypto.createHash('sha256').update(token).digest('base64url');

async function proof(key: Holder, token: string, overrides: { htm?: string; htu?: string; iat?: number; jti?: string; ath?: string | null; typ?: string; jwk?: JWK; alg?: string; nonce?: string } = {}) {
  const claims: Record<string, unknown> = {
    htm: overrides.htm ?? 'POST',
    htu: overrides.htu ?? h.mcpUrl,
    iat: overrides.iat ?? Math.floor(Date.now() / 1000),
    jti: overrides.jti ?? crypto.randomUUID(),
  };
  if (overrides.ath !== null) claims.ath = overrides.ath ?? ath(token);
  if (overrides.nonce !== undefined) claims.nonce = overrides.nonce;
  return new SignJWT(claims).setProtectedHeader({ alg: overrides.alg ?? (key.jwk.kty === 'OKP' ? 'EdDSA' : 'ES256'), typ: overrides.typ ?? 'dpop+jwt', jwk: overrides.jwk ?? key.jwk }).sign(key.privateKey);
}

const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'dpop-test', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** A 2026-07-28 whoami with the given Authorization and DPoP headers. */
async function whoami(authorization: string | undefined, dpop?: string | string[], at: Harness = h) {
  const headers = new Headers({ 'Content-Type': 'application/json', Accept: MCP_ACCEPT, 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/call', 'Mcp-Name': 'whoami' });
  if (authorization) headers.set('Authorization', authorization);
  for (const p of Array.isArray(dpop) ? dpop : dpop ? [dpop] : []) headers.append('DPoP', p);
  const res = await fetch(at.mcpUrl, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {}, _meta: MODERN_META } }),
  });
  const text = await res.text();
  return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '', nonce: res.headers.get('dpop-nonce'), body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('DPoP-bound access tokens (RFC 9449)', () => {
  it('are accepted with the DPoP scheme and a fresh proof of their key, on every request', async () => {
    const key = await holder();
    const token = await h.token({ sub: h.users.alice, extraClaims: { cnf: { jkt: key.jkt } } });
    for (let i = 0; i < 3; i++) {
      const r = await whoami(`DPoP ${token}`, await proof(key, token));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.result.structuredContent.user_id).toBe(h.users.alice);
    }
    // An Ed25519 key works too.
    const ed = await holder('EdDSA');
    const edToken = await h.token({ sub: h.users.bob, extraClaims: { cnf: { jkt: ed.jkt } } });
    expect((await whoami(`DPoP ${edToken}`, await proof(ed, edToken))).status).toBe(200);
  });

  it('work on a 2025-era session: initialize and every later request carry a proof', async () => {
    const key = await holder();
    const token = await h.token({ sub: h.users.alice, extraClaims: { cnf: { jkt: key.jkt } } });
    const post = async (body: unknown, session?: string, withProof = true) =>
      fetch(h.mcpUrl, {
        method: 'POST',
        headers: {
          Authorization: `DPoP ${token}`,
          ...(withProof ? { DPoP: await proof(key, token) } : {}),
          'Content-Type': 'application/json',
          Accept: MCP_ACCEPT,
          ...(session ? { 'Mcp-Session-Id': session, 'MCP-Protocol-Version': '2025-06-18' } : {}),
        },
        body: JSON.stringify(body),
      });
    const init = await post(initializeBody());
    expect(init.status).toBe(200);
    const session = init.headers.get('mcp-session-id')!;
    await init.text();
    const list = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, session);
    expect(list.status).toBe(200);
    await list.text();
    const noProof = await post({ jsonrpc: '2.0', id: 3, method: 'tools/list' }, session, false);
    expect(noProof.status).toBe(401);
    expect(noProof.headers.get('www-authenticate')).toMatch(/DPoP algs="[^"]*ES256[^"]*", error="invalid_dpop_proof"/);
  });

  it('is refused as a plain Bearer token, and a plain token is refused under the DPoP scheme', async () => {
    const key = await holder();
    const bound = await h.token({ sub: h.users.alice, extraClaims: { cnf: { jkt: key.jkt } } });
    const asBearer = await whoami(`Bearer ${bound}`);
    expect(asBearer.status).toBe(401);
    expect(asBearer.challenge).toMatch(/^Bearer resource_metadata="[^"]+", scope="[^"]+", error="invalid_token"/);
    expect(asBearer.challenge).toMatch(/DPoP algs="/);
    expect(asBearer.body.error_description).toMatch(/bound to a key/);
    const plain = await h.token({ sub: h.users.alice });
    const asDpop = await whoami(`DPoP ${plain}`, await proof(key, plain));
    expect(asDpop.status).toBe(401);
    expect(asDpop.challenge).toMatch(/DPoP algs="[^"]+", error="invalid_token"/);
  });

  it('refuses each broken proof with invalid_dpop_proof on the DPoP challenge', async () => {
    const key = await holder();
    const other = await holder();
    const token = await h.token({ sub: h.users.alice, extraClaims: { cnf: { jkt: key.jkt } } });
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string | string[] | undefined, RegExp][] = [
      ['no proof', undefined, /needs a DPoP proof/],
      ['two proofs', [await proof(key, token), await proof(key, token)], /Exactly one/],
      ['another URL', await proof(key, token, { htu: 'https://elsewhere.example/mcp' }), /htu/],
      ['another method', await proof(key, token, { htm: 'GET' }), /htm/],
      ['a stale iat', await proof(key, token, { iat: now - 3600 }), /iat/],
      ['an iat in the future', await proof(key, token, { iat: now + 3600 }), /iat/],
      ['no ath', await proof(key, token, { ath: null }), /ath/],
      ['the hash of another token', await proof(key, token, { ath: ath('another token') }), /ath/],
      ['another key', await proof(other, token), /not signed by the key/],
      ['a jwk that did not sign it', await proof(other, token, { jwk: key.jwk }), /does not verify/],
      ['the wrong typ', await proof(key, token, { typ: 'JWT' }), /typ/],
      ['garbage', 'not.a.proof', /cannot be read|does not verify|compact/],
    ];
    for (const [name, dpop, reason] of cases) {
      const r = await whoami(`DPoP ${token}`, dpop);
      expect(r.status, name).toBe(401);
      expect(r.challenge, name).toMatch(/DPoP algs="[^"]+", error="invalid_dpop_proof"/);
      expect(r.body.error_description, name).toMatch(reason);
    }
  });

  it('refuses a replayed proof (same jti), and the proof of a refused request does not use its jti up', async () => {
    const key = await holder();
    const token = await h.token({ sub: h.users.alice, extraClaims: { cnf: { jkt: key.jkt } } });
    const once = await proof(key, token);
    // Presented with another token first (ath mismatch): refused, and its jti stays unused.
    const otherToken = await h.token({ sub: h.users.alice, extraClaims: { cnf: { jkt: key.jkt } } });
    expect((await whoami(`DPoP ${otherToken}`, once)).status).toBe(401);
    expect((await whoami(`DPoP ${token}`, once)).status).toBe(200);
    const replay = await whoami(`DPoP ${token}`, once);
    expect(replay.status).toBe(401);
    expect(replay.body.error_description).toMatch(/already used/);
  });

  it('advertises DPoP in the resource metadata and beside Bearer in every challenge', async () => {
    const prm = (await (await fetch(`${h.baseUrl}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(prm.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256', 'EdDSA']));
    expect(prm.dpop_bound_access_tokens_required).toBe(false);
    const anonymous = await whoami(undefined);
    expect(anonymous.status).toBe(401);
    expect(anonymous.challenge).toMatch(/^Bearer resource_metadata="/);
    expect(anonymous.challenge).toMatch(/, DPoP algs="/);
  });

  it('keeps Bearer clients working unchanged', async () => {
    const token = await h.token({ sub: h.users.bob });
    const r = await whoami(`Bearer ${token}`);
    expect(r.status).toBe(200);
    expect(r.body.result.structuredContent.user_id).toBe(h.users.bob);
  });
});

describe('DPoP server nonces (RFC 9449 §9, DPOP_NONCE=required)', () => {
  let n: Harness;
  beforeAll(async () => {
    n = await startHarness({ env: { DPOP_NONCE: 'required' } });
  });
  afterAll(async () => {
    await n?.close();
  });
  const proofAt = (key: Holder, token: string, nonce?: string) => proof(key, token, { htu: n.mcpUrl, nonce });

  it('asks for a nonce with use_dpop_nonce and DPoP-Nonce, then accepts the proof that carries it', async () => {
    const key = await holder();
    const token = await n.token({ sub: n.users.alice, extraClaims: { cnf: { jkt: key.jkt } } });
    const first = await whoami(`DPoP ${token}`, await proofAt(key, token), n);
    expect(first.status).toBe(401);
    expect(first.challenge).toMatch(/DPoP algs="[^"]+", error="use_dpop_nonce"/);
    expect(first.body.error).toBe('use_dpop_nonce');
    expect(first.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Every answer to a DPoP request hands out the nonce to use next, success included.
    // (The same nonce unless its step just ended: the client signs with whatever it was given last.)
    let nonce = first.nonce!;
    for (let i = 0; i < 2; i++) {
      const ok = await whoami(`DPoP ${token}`, await proofAt(key, token, nonce), n);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body.result.structuredContent.user_id).toBe(n.users.alice);
      expect(ok.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
      nonce = ok.nonce!;
    }
  });

  it('refuses a nonce it did not hand out, and a proof that fails another check is still invalid_dpop_proof', async () => {
    const key = await holder();
    const token = await n.token({ sub: n.users.alice, extraClaims: { cnf: { jkt: key.jkt } } });
    const made = await whoami(`DPoP ${token}`, await proofAt(key, token, 'A'.repeat(43)), n);
    expect(made.status).toBe(401);
    expect(made.challenge).toMatch(/error="use_dpop_nonce"/);
    expect(made.body.error_description).toMatch(/not current/);
    const { nonce } = made;
    const stale = await whoami(`DPoP ${token}`, await proof(key, token, { htu: n.mcpUrl, nonce: nonce!, iat: Math.floor(Date.now() / 1000) - 3600 }), n);
    expect(stale.status).toBe(401);
    expect(stale.challenge).toMatch(/error="invalid_dpop_proof"/);
    expect(stale.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The broken proof is audited as a refusal; being asked for a nonce is not.
    const reasons = async () => (await n.db.prisma.auditEvent.findMany({ where: { action: 'mcp.request', outcome: 'denied' } })).map((e) => (e.details as { reason?: string }).reason ?? '');
    await expect.poll(async () => (await reasons()).some((r) => /iat/.test(r))).toBe(true);
    expect((await reasons()).filter((r) => /nonce/i.test(r))).toEqual([]);
  });

  it('leaves Bearer clients alone: no nonce asked or handed out', async () => {
    const token = await n.token({ sub: n.users.bob });
    const r = await whoami(`Bearer ${token}`, undefined, n);
    expect(r.status).toBe(200);
    expect(r.nonce).toBeNull();
  });
});
