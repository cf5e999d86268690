import { describe, expect, it } from 'vitest';
import { DpopVerifier, MemoryDpopReplayStore, RedisDpopReplayStore, accessTokenHash, extractDpopToken, jwkThumbprint, normalizeHtu } from './dpop.js';

describe('DPoP helpers', () => {
  it('normalises htu as RFC 9449 §4.3 says: case of scheme and host, default port, no query or fragment', () => {
    expect(normalizeHtu('HTTPS://MCP.Example.COM:443/mcp?x=1#f')).toBe('https://mcp.example.com/mcp');
    expect(normalizeHtu('http://127.0.0.1:80/mcp')).toBe('http://127.0.0.1/mcp');
    expect(normalizeHtu('http://127.0.0.1:3000/mcp')).toBe('http://127.0.0.1:3000/mcp');
    // The path is case-sensitive.
    expect(normalizeHtu('https://a.example/MCP')).not.toBe(normalizeHtu('https://a.example/mcp'));
    expect(normalizeHtu('ftp://a.example/mcp')).toBeUndefined();
    expect(normalizeHtu('not a url')).toBeUndefined();
  });

  it('hashes the access token for ath (base64url SHA-256)', () => {
    // RFC 9449 §7.1's example.
    expect(accessTokenHash('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU')).toBe('fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
  });

  it('reads the DPoP scheme', () => {
    expect(extractDpopToken('DPoP abc.def.ghi')).toBe('abc.def.ghi');
    expect(extractDpopToken('Bearer abc.def.ghi')).toBeUndefined();
    expect(extractDpopToken('DPoP')).toBeUndefined();
  });

  it('remembers proof ids for their window, and forgets them after', async () => {
    const store = new MemoryDpopReplayStore();
    expect(await store.seen('a', 50)).toBe(false);
    expect(await store.seen('a', 50)).toBe(true);
    await new Promise((r) => setTimeout(r, 60));
    expect(await store.seen('a', 50)).toBe(false);
  });

  it('stays bounded and still knows the most recent ids when full', async () => {
    const store = new MemoryDpopReplayStore(3);
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) expect(await store.seen(id, 60_000)).toBe(false);
    // The last three are known whatever the rotations; the first ones are forgotten (memory bounded).
    for (const id of ['e', 'f', 'g']) expect(await store.seen(id, 60_000)).toBe(true);
    expect(await store.seen('a', 60_000)).toBe(false);
  });

  // Sharing through a real Redis across two replicas: apps/mcp-server/test/replicas.test.ts.
  it('falls back to memory while Redis fails', async () => {
    const keys = new Set<string>();
    let down = false;
    const errors: unknown[] = [];
    const redis = {
      async set(key: string) {
        if (down) throw new Error('connection refused');
        if (keys.has(key)) return null;
        keys.add(key);
        return 'OK' as const;
      },
    };
    const a = new RedisDpopReplayStore(redis, (e) => errors.push(e));
    const b = new RedisDpopReplayStore(redis);
    expect(await a.seen('jti-1', 1000)).toBe(false);
    expect(await b.seen('jti-1', 1000)).toBe(true);
    down = true;
    expect(await a.seen('jti-2', 1000)).toBe(false);
    expect(await a.seen('jti-2', 1000)).toBe(true);
    expect(errors.length).toBe(2);
  });
});

describe('jwkThumbprint (RFC 7638)', () => {
  it("matches the RFC's example and jose's thumbprint for EC, OKP and RSA keys", async () => {
    const { calculateJwkThumbprint, exportJWK, generateKeyPair } = await import('jose');
    // RFC 7638 §3.1.
    const rfc = { kty: 'RSA', e: 'AQAB', alg: 'RS256', kid: '2011-04-29', n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw' };
    expect(jwkThumbprint(rfc)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    for (const alg of ['ES256', 'ES384', 'EdDSA', 'RS256'] as const) {
      const jwk = await exportJWK((await generateKeyPair(alg, { extractable: true })).publicKey);
      expect(jwkThumbprint(jwk), alg).toBe(await calculateJwkThumbprint(jwk, 'sha256'));
    }
    expect(jwkThumbprint({ kty: 'oct', k: 'c2VjcmV0' })).toBeUndefined();
    expect(jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'a' })).toBeUndefined();
  });
});

describe('DpopVerifier signature checks', () => {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const url = 'https://mcp.example/mcp';
  const token = 'access-token';
  async function proofWith(alg: string, keyType: 'P-256' | 'P-384' | 'ed25519', tamper?: (input: string) => string) {
    const crypto = await import('node:crypto');
    const pair = keyType === 'ed25519' ? crypto.generateKeyPairSync('ed25519') : crypto.generateKeyPairSync('ec', { namedCurve: keyType });
    const jwk = pair.publicKey.export({ format: 'jwk' });
    const claims = { htm: 'POST', htu: url, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID(), ath: accessTokenHash(token) };
    const input = `${b64({ typ: 'dpop+jwt', alg, jwk })}.${b64(claims)}`;
    const signature = crypto.sign(keyType === 'ed25519' ? null : keyType === 'P-384' ? 'sha384' : 'sha256', Buffer.from(input), { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
    return { proof: `${tamper ? tamper(input) : input}.${signature.toString('base64url')}`, jkt: jwkThumbprint(jwk as never)! };
  }
  const verify = (p: { proof: string; jkt: string }) => new DpopVerifier().verify({ proof: p.proof, method: 'POST', urls: [url], accessToken: token, jkt: p.jkt });

  it('accepts ES256, ES384 and EdDSA proofs signed by their key', async () => {
    await expect(verify(await proofWith('ES256', 'P-256'))).resolves.toBeUndefined();
    await expect(verify(await proofWith('ES384', 'P-384'))).resolves.toBeUndefined();
    await expect(verify(await proofWith('EdDSA', 'ed25519'))).resolves.toBeUndefined();
  });

  it('compares htu normalised, also once a form of it was accepted, and per list of URLs', async () => {
    const crypto = await import('node:crypto');
    const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = pair.publicKey.export({ format: 'jwk' });
    const jkt = jwkThumbprint(jwk as never)!;
    const proof = (htu: string) => {
      const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })}.${b64({ htm: 'POST', htu, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID(), ath: accessTokenHash(token) })}`;
      return `${input}.${crypto.sign('sha256', Buffer.from(input), { key: pair.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    };
    const verifier = new DpopVerifier();
    const at = (htu: string, urls = [url]) => verifier.verify({ proof: proof(htu), method: 'POST', urls, accessToken: token, jkt });
    for (let i = 0; i < 2; i++) {
      await expect(at('HTTPS://MCP.example:443/mcp?session=1')).resolves.toBeUndefined();
      await expect(at('https://mcp.example/MCP')).rejects.toThrow(/htu/);
    }
    // The same verifier for another resource: what was accepted for the first one is not.
    await expect(at('HTTPS://MCP.example:443/mcp?session=1', ['https://other.example/mcp'])).rejects.toThrow(/htu/);
    await expect(at('https://other.example/mcp', ['https://other.example/mcp'])).resolves.toBeUndefined();
  });

  it('refuses an alg that does not fit the key, and a payload changed after signing', async () => {
    await expect(verify(await proofWith('ES384', 'P-256'))).rejects.toThrow(/not a key for ES384/);
    await expect(verify(await proofWith('ES256', 'ed25519'))).rejects.toThrow(/not a key for ES256/);
    const tampered = await proofWith('ES256', 'P-256', (input) => `${input.split('.')[0]}.${b64({ htm: 'POST', htu: url, iat: Math.floor(Date.now() / 1000), jti: 'other', ath: accessTokenHash(token) })}`);
    await expect(verify(tampered)).rejects.toThrow(/does not verify/);
  });
});
