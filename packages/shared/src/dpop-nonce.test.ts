import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DpopNonces, UseDpopNonceError } from './dpop-nonce.js';
import { DpopVerifier, accessTokenHash, jwkThumbprint } from './dpop.js';

const secret = crypto.randomBytes(32);

describe('DpopNonces (RFC 9449 §9)', () => {
  it('hands out one nonce per step and accepts it for one more step', () => {
    const nonces = new DpopNonces({ secret, stepSec: 60 });
    const t = 1_800_000_000_000;
    const first = nonces.current(t);
    expect(nonces.current(t + 59_000 - (t % 60_000))).toBe(first);
    const next = nonces.current(t + 60_000);
    expect(next).not.toBe(first);
    expect(nonces.accepts(first, t + 60_000)).toBe(true);
    expect(nonces.accepts(first, t + 120_000)).toBe(false);
    expect(nonces.accepts(next, t + 120_000)).toBe(true);
    expect(nonces.accepts(undefined, t)).toBe(false);
    const altered = `${first.slice(0, -1)}${first.endsWith('A') ? 'B' : 'A'}`;
    expect(nonces.accepts(altered, t)).toBe(false);
  });

  it('agrees across replicas with the same secret only', () => {
    const t = Date.now();
    const a = new DpopNonces({ secret });
    expect(new DpopNonces({ secret: Buffer.from(secret) }).accepts(a.current(t), t)).toBe(true);
    expect(new DpopNonces({ secret: crypto.randomBytes(32) }).accepts(a.current(t), t)).toBe(false);
    expect(() => new DpopNonces({ secret: 'too short' })).toThrow(/32 bytes/);
  });

  it('makes the verifier ask for the nonce, then accept a proof that carries it', async () => {
    const nonces = new DpopNonces({ secret });
    const verifier = new DpopVerifier({ nonces });
    const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = pair.publicKey.export({ format: 'jwk' });
    const url = 'https://mcp.example/mcp';
    const token = 'access-token';
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const proof = (nonce?: string) => {
      const claims = { htm: 'POST', htu: url, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID(), ath: accessTokenHash(token), ...(nonce ? { nonce } : {}) };
      const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })}.${b64(claims)}`;
      return `${input}.${crypto.sign('sha256', Buffer.from(input), { key: pair.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    };
    const verify = (p: string) => verifier.verify({ proof: p, method: 'POST', urls: [url], accessToken: token, jkt: jwkThumbprint(jwk as never)! });
    const refusal = await verify(proof()).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(UseDpopNonceError);
    expect((refusal as UseDpopNonceError).nonce).toBe(nonces.current());
    expect((refusal as UseDpopNonceError).status).toBe(401);
    await expect(verify(proof((refusal as UseDpopNonceError).nonce))).resolves.toBeUndefined();
    await expect(verify(proof(new DpopNonces({ secret: crypto.randomBytes(32) }).current()))).rejects.toThrow(/not current/);
  });
});
