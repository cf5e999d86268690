import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { base64url, CompactSign, exportSPKI, SignJWT } from 'jose';
import { AccessTokenVerifier, requireScopes, type VerifiedAccessToken } from './token-verifier.js';
import { JwksCache } from './jwks-cache.js';
import { InsufficientScopeError, InvalidTokenError } from './errors.js';
import {
  base64urlJson,
  newSigningKey,
  RESOURCE,
  StubAuthorizationServer,
} from '../test/stub-authorization-server.js';

let as: StubAuthorizationServer;
let verifier: AccessTokenVerifier;

beforeAll(async () => {
  as = await StubAuthorizationServer.start();
  verifier = new AccessTokenVerifier({ issuer: as.issuer, audience: RESOURCE });
});

afterAll(async () => {
  await as.stop();
});

afterEach(() => {
  vi.useRealTimers();
});

/** The InvalidTokenError a verification fails with (fails the test if it resolves or throws anything else). */
async function refusal(promise: Promise<unknown>): Promise<InvalidTokenError> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected a refusal, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(InvalidTokenError);
  const error = outcome.error as InvalidTokenError;
  expect(error.error).toBe('invalid_token');
  expect(error.status).toBe(401);
  return error;
}

async function refusedWith(token: string, description: string, v = verifier): Promise<void> {
  const error = await refusal(v.verify(token));
  expect(error.errorDescription).toBe(description);
}

/** Freezes `Date` (only: jose reads the clock through it, fetch's timers stay real). */
function freezeClock(at = new Date('2030-01-01T00:00:00Z')): number {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(at);
  return Math.floor(at.getTime() / 1000);
}

describe('AccessTokenVerifier: valid tokens', () => {
  it('accepts a correct RS256 at+jwt token and returns what it says', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await as.sign({ iat: now, exp: now + 600, jti: 'token-42', gid: 'grant-7', scope: 'tickets:read  tickets:read tickets:write' });
    const verified = await verifier.verify(token);
    expect(verified).toEqual({
      token,
      sub: 'user-1',
      clientId: 'client-1',
      scopes: ['tickets:read', 'tickets:write'],
      grantId: 'grant-7',
      jti: 'token-42',
      issuedAt: now,
      expiresAt: now + 600,
      claims: expect.objectContaining({ iss: as.issuer, aud: RESOURCE, client_id: 'client-1', gid: 'grant-7' }),
    });
  });

  it('accepts typ application/at+jwt (the media type form of RFC 9068 §2.1)', async () => {
    const verified = await verifier.verify(await as.sign({}, { typ: 'application/at+jwt' }));
    expect(verified.sub).toBe('user-1');
  });

  it('accepts an aud array containing this resource', async () => {
    const verified = await verifier.verify(await as.sign({ aud: ['https://other.example.test', RESOURCE] }));
    expect(verified.clientId).toBe('client-1');
  });

  it('reports no scopes, grant or jti when the token has none', async () => {
    const verified = await verifier.verify(await as.sign({ scope: undefined, gid: undefined, jti: undefined }));
    expect(verified.scopes).toEqual([]);
    expect(verified.grantId).toBeUndefined();
    expect(verified.jti).toBeUndefined();
  });

  it('does not report claims of the wrong type as gid or jti', async () => {
    const verified = await verifier.verify(await as.sign({ gid: 7, jti: 42, scope: ['tickets:read'] }));
    expect(verified.grantId).toBeUndefined();
    expect(verified.jti).toBeUndefined();
    expect(verified.scopes).toEqual([]);
  });
});

describe('AccessTokenVerifier: time claims (frozen clock)', () => {
  it('refuses a token expired beyond the 5 s skew, accepts one 3 s past exp', async () => {
    const now = freezeClock();
    await refusedWith(await as.sign({ iat: now - 600, exp: now - 6 }), 'The access token expired');
    await refusedWith(await as.sign({ iat: now - 600, exp: now - 3600 }), 'The access token expired');
    const late = await verifier.verify(await as.sign({ iat: now - 600, exp: now - 3 }));
    expect(late.expiresAt).toBe(now - 3);
  });

  it('refuses a token whose nbf is in the future, accepts one within the skew', async () => {
    const now = freezeClock();
    await refusedWith(await as.sign({ nbf: now + 60 }), 'The access token is not valid yet');
    expect((await verifier.verify(await as.sign({ nbf: now + 3 }))).sub).toBe('user-1');
  });

  it('refuses a token without exp', async () => {
    await refusedWith(await as.sign({ exp: undefined }), 'The access token has an invalid exp claim');
  });
});

describe('AccessTokenVerifier: refusals', () => {
  it('refuses a token from another issuer (including a trailing-slash variant)', async () => {
    await refusedWith(await as.sign({ iss: 'https://evil.example.test' }), 'The access token was issued by another authorization server');
    await refusedWith(await as.sign({ iss: `${as.issuer}/` }), 'The access token was issued by another authorization server');
  });

  it('refuses a token for another resource', async () => {
    await refusedWith(await as.sign({ aud: 'https://other.example.test/mcp' }), 'The access token was not issued for this resource');
    await refusedWith(await as.sign({ aud: ['https://a.example.test', 'https://b.example.test'] }), 'The access token was not issued for this resource');
    await refusedWith(await as.sign({ aud: undefined }), 'The access token was not issued for this resource');
  });

  it('refuses typ JWT (an ID token or other JWT is not an access token) and a missing typ', async () => {
    await refusedWith(await as.sign({}, { typ: 'JWT' }), 'The token is not an access token (typ must be at+jwt)');
    await refusedWith(await as.sign({}, { typ: null }), 'The token is not an access token (typ must be at+jwt)');
  });

  it('refuses an unsigned alg:none token crafted by hand', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: as.issuer, aud: RESOURCE, sub: 'user-1', client_id: 'client-1', scope: 'admin', iat: now, exp: now + 300 };
    const header = base64urlJson({ alg: 'none', typ: 'at+jwt' });
    const payload = base64urlJson(claims);
    await refusedWith(`${header}.${payload}.`, 'The access token uses a signing algorithm that is not allowed');
    const withKid = base64urlJson({ alg: 'none', typ: 'at+jwt', kid: as.current.kid });
    await refusedWith(`${withKid}.${payload}.`, 'The access token uses a signing algorithm that is not allowed');
  });

  it('refuses HS256 signed with the RSA public key bytes (key confusion)', async () => {
    const pem = await exportSPKI(as.current.publicKey);
    const now = Math.floor(Date.now() / 1000);
    for (const secret of [new TextEncoder().encode(pem), Buffer.from(JSON.stringify(as.current.publicJwk))]) {
      const forged = await new SignJWT({ iss: as.issuer, aud: RESOURCE, sub: 'user-1', client_id: 'client-1', scope: 'admin' })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: as.current.kid })
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(secret);
      await refusedWith(forged, 'The access token uses a signing algorithm that is not allowed');
    }
  });

  it('refuses a token signed by an unknown key after exactly one refetch', async () => {
    const stub = await StubAuthorizationServer.start();
    try {
      const v = new AccessTokenVerifier({ issuer: stub.issuer, audience: RESOURCE, jwks: new JwksCache({ issuer: stub.issuer, cooldownMs: 0 }) });
      await v.verify(await stub.sign());
      expect(stub.counts).toEqual({ metadata: 1, jwks: 1, other: 0 });
      const intruder = await newSigningKey('intruder');
      await refusedWith(await stub.sign({}, { key: intruder }), 'The access token was signed by an unknown key', v);
      expect(stub.counts).toEqual({ metadata: 1, jwks: 2, other: 0 });
    } finally {
      await stub.stop();
    }
  });

  it('refuses a token signed by another key under a published kid', async () => {
    const impostor = await newSigningKey(as.current.kid);
    await refusedWith(await as.sign({}, { key: impostor }), 'The access token signature is invalid');
  });

  it('refuses a validly signed token whose payload was tampered with', async () => {
    const [header, , signature] = (await as.sign()).split('.');
    const now = Math.floor(Date.now() / 1000);
    const tampered = base64urlJson({ iss: as.issuer, aud: RESOURCE, sub: 'admin-user', client_id: 'client-1', scope: 'admin', iat: now, exp: now + 300 });
    await refusedWith(`${header}.${tampered}.${signature}`, 'The access token signature is invalid');
  });

  it('refuses a token without client_id or without sub', async () => {
    await refusedWith(await as.sign({ client_id: undefined }), 'The access token lacks client_id or sub');
    await refusedWith(await as.sign({ client_id: 17 }), 'The access token lacks client_id or sub');
    await refusedWith(await as.sign({ sub: undefined }), 'The access token has an invalid sub claim');
  });

  it('refuses malformed strings', async () => {
    const malformed = 'The access token is malformed';
    await refusedWith('', malformed);
    await refusedWith('abc', malformed);
    await refusedWith('a.b', malformed);
    await refusedWith('a.b.c.d', malformed);
    await refusedWith('!!!.@@@.###', malformed);
    const valid = await as.sign();
    const [h, p, sig] = valid.split('.') as [string, string, string];
    // Garbage base64 / JSON in the header: nothing to verify.
    await refusedWith(`%%%%.${p}.${sig}`, malformed);
    await refusedWith(`${h.slice(0, -3)}.${p}.${sig}`, malformed);
    await refusedWith(`${base64urlJson([1, 2])}.${p}.${sig}`, malformed);
    await refusedWith(`${base64urlJson('RS256')}.${p}.${sig}`, malformed);
    // Garbage in the payload or signature: the signature check (over the raw segments) fails first.
    await refusedWith(`${h}.%%%%.${sig}`, 'The access token signature is invalid');
    await refusedWith(`${h}.${p}.%%%%`, malformed);
    await refusedWith(`${h}.${p}.`, 'The access token signature is invalid');
    // Correctly signed, but the payload is not a JSON claims set.
    for (const body of ['not json', '[1,2]', '"a string"']) {
      const signed = await new CompactSign(new TextEncoder().encode(body))
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: as.current.kid })
        .sign(as.current.privateKey);
      await refusedWith(signed, malformed);
    }
  });

  it('refuses a 10 KB token, even one correctly signed', async () => {
    const big = await as.sign({ padding: 'x'.repeat(10 * 1024) });
    expect(big.length).toBeGreaterThan(10 * 1024);
    await refusedWith(big, 'The access token is malformed');
    await refusedWith(`${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`, 'The access token is malformed');
  });

  it('refuses a revoked token, asking isRevoked with the verified token', async () => {
    const seen: VerifiedAccessToken[] = [];
    const revoking = new AccessTokenVerifier({
      issuer: as.issuer,
      audience: RESOURCE,
      jwks: verifier.jwks,
      isRevoked: async (t) => {
        seen.push(t);
        return t.grantId === 'grant-revoked';
      },
    });
    const error = await refusal(revoking.verify(await as.sign({ gid: 'grant-revoked' })));
    expect(error.errorDescription).toBe('The access token was revoked');
    expect(error.errorDescription).toContain('revoked');
    expect(seen.map((t) => [t.sub, t.clientId, t.grantId])).toEqual([['user-1', 'client-1', 'grant-revoked']]);
    expect((await revoking.verify(await as.sign({ gid: 'grant-ok' }))).grantId).toBe('grant-ok');
  });
});

describe('AccessTokenVerifier: remembering verified tokens', () => {
  it('checks a token\'s signature once, and still asks isRevoked on every call', async () => {
    let revocationChecks = 0;
    const v = new AccessTokenVerifier({ issuer: as.issuer, audience: RESOURCE, jwks: verifier.jwks, isRevoked: async () => (revocationChecks++, false) });
    const getKey = vi.spyOn(v.jwks, 'getKey');
    const token = await as.sign({ gid: 'g-remembered' });
    const first = await v.verify(token);
    const second = await v.verify(token);
    expect(second).toEqual(first);
    expect(getKey).toHaveBeenCalledTimes(1);
    expect(revocationChecks).toBe(2);
    getKey.mockRestore();
  });

  it('a remembered token is refused once it expires', async () => {
    const now = freezeClock();
    const v = new AccessTokenVerifier({ issuer: as.issuer, audience: RESOURCE, jwks: verifier.jwks, verifiedCacheMs: 3600_000 });
    const token = await as.sign({ iat: now, exp: now + 60 });
    await v.verify(token);
    vi.setSystemTime((now + 66) * 1000);
    await refusedWith(token, 'The access token expired', v);
  });

  it('a remembered token is verified again once the key set changed, and refused when its key was withdrawn', async () => {
    const stub = await StubAuthorizationServer.start();
    try {
      const v = new AccessTokenVerifier({ issuer: stub.issuer, audience: RESOURCE, jwks: new JwksCache({ issuer: stub.issuer, cooldownMs: 0 }) });
      const token = await stub.sign();
      await v.verify(token);
      await stub.rotate('second-key', false);
      // A token under the new key makes the verifier fetch the new set, which lacks the old key.
      await v.verify(await stub.sign());
      await refusedWith(token, 'The access token was signed by an unknown key', v);
    } finally {
      await stub.stop();
    }
  });

  it('remembered() gives what verify would, only when it needs no I/O: a token verified before, no revocation callback', async () => {
    const now = freezeClock();
    const v = new AccessTokenVerifier({ issuer: as.issuer, audience: RESOURCE, jwks: verifier.jwks, verifiedCacheMs: 3600_000 });
    const token = await as.sign({ iat: now, exp: now + 60 });
    expect(v.remembered(token)).toBeUndefined();
    const verified = await v.verify(token);
    expect(v.remembered(token)).toBe(verified);
    expect(v.remembered(`${token}x`)).toBeUndefined();
    // Past exp (and the skew) it is not an answer any more: verify refuses it.
    vi.setSystemTime((now + 66) * 1000);
    expect(v.remembered(token)).toBeUndefined();
    await refusedWith(token, 'The access token expired', v);

    // With a revocation callback every call must ask it: never answered without a promise.
    const withCallback = new AccessTokenVerifier({ issuer: as.issuer, audience: RESOURCE, jwks: verifier.jwks, isRevoked: async () => false });
    const fresh = await as.sign();
    await withCallback.verify(fresh);
    expect(withCallback.remembered(fresh)).toBeUndefined();
  });

  it('remembers nothing with verifiedCacheMs 0', async () => {
    const v = new AccessTokenVerifier({ issuer: as.issuer, audience: RESOURCE, jwks: verifier.jwks, verifiedCacheMs: 0 });
    const getKey = vi.spyOn(v.jwks, 'getKey');
    const token = await as.sign();
    await v.verify(token);
    await v.verify(token);
    expect(getKey).toHaveBeenCalledTimes(2);
    getKey.mockRestore();
  });
});

describe('requireScopes', () => {
  it('throws InsufficientScopeError carrying the required scopes', () => {
    let thrown: unknown;
    try {
      requireScopes({ scopes: ['tickets:read'] }, ['tickets:read', 'tickets:write']);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InsufficientScopeError);
    const error = thrown as InsufficientScopeError;
    expect(error.requiredScopes).toEqual(['tickets:read', 'tickets:write']);
    expect(error.error).toBe('insufficient_scope');
    expect(error.status).toBe(403);
    expect(() => requireScopes({ scopes: [] }, ['tickets:read'])).toThrow(InsufficientScopeError);
  });

  it('passes when every required scope was granted', () => {
    expect(() => requireScopes({ scopes: ['tickets:write', 'tickets:read', 'admin'] }, ['tickets:read', 'tickets:write'])).not.toThrow();
    expect(() => requireScopes({ scopes: [] }, [])).not.toThrow();
  });
});

describe('AccessTokenVerifier: properties', () => {
  let quiet: AccessTokenVerifier;
  let valid: string;

  beforeAll(async () => {
    // A long cooldown: forged kids must not make these runs hammer the stub.
    quiet = new AccessTokenVerifier({ issuer: as.issuer, audience: RESOURCE, jwks: new JwksCache({ issuer: as.issuer, cooldownMs: 3_600_000 }) });
    valid = await as.sign({}, {});
    await quiet.verify(valid);
  });

  const segment = fc.oneof(
    fc.string(),
    fc.base64String().map((s) => s.replace(/=+$/, '')),
    fc.jsonValue().map(base64urlJson),
    fc
      .record({ alg: fc.constantFrom('RS256', 'none', 'HS256', 'ES256', 'PS256', 'EdDSA', 'RS512'), typ: fc.constantFrom('at+jwt', 'JWT'), kid: fc.constantFrom('key-1', 'nope') }, { requiredKeys: [] })
      .map(base64urlJson),
  );

  it('never throws anything but InvalidTokenError for arbitrary strings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.tuple(segment, segment, segment).map((parts) => parts.join('.'))),
        async (input) => {
          await refusal(quiet.verify(input));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses every one-character mutation of a valid token unless the JWS it decodes to is unchanged', async () => {
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const originalSignature = base64url.decode(signature);
    /** Whether jose sees the same JWS: same signing input (the raw first two segments) and same signature bytes. */
    const sameJws = (mutated: string) => {
      const parts = mutated.split('.');
      if (parts.length !== 3 || parts[0] !== header || parts[1] !== payload) return false;
      try {
        return Buffer.from(base64url.decode(parts[2]!)).equals(Buffer.from(originalSignature));
      } catch {
        return false;
      }
    };
    const alphabet = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', '=', '+', '/', '.', ' ', '%', '\n', 'é'];
    let equivalent = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: valid.length - 1 }), fc.constantFrom(...alphabet), async (index, replacement) => {
        fc.pre(valid[index] !== replacement);
        const mutated = valid.slice(0, index) + replacement + valid.slice(index + 1);
        if (sameJws(mutated)) {
          equivalent++;
          expect((await quiet.verify(mutated)).sub).toBe('user-1');
        } else {
          await refusal(quiet.verify(mutated));
        }
      }),
      { numRuns: 600 },
    );
    // Every position of the header and payload was a candidate: nearly all runs must have been refusals.
    expect(equivalent).toBeLessThan(60);
  });

  it('treats the unused low bits of the last signature character as the same signature (documented leniency)', async () => {
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = signature.at(-1)!;
    // RS256 with a 2048-bit key: 256 bytes = 342 characters, the last carrying 2 bits and 4 unused ones.
    expect(signature).toHaveLength(342);
    const sibling = alphabet[alphabet.indexOf(last) ^ 0b0001]!;
    const lastBitFlipped = alphabet[alphabet.indexOf(last) ^ 0b010000]!;
    const sameBytes = `${header}.${payload}.${signature.slice(0, -1)}${sibling}`;
    expect(Buffer.from(base64url.decode(sameBytes.split('.')[2]!)).equals(Buffer.from(base64url.decode(signature)))).toBe(true);
    expect((await quiet.verify(sameBytes)).sub).toBe('user-1');
    await refusedWith(`${header}.${payload}.${signature.slice(0, -1)}${lastBitFlipped}`, 'The access token signature is invalid', quiet);
  });
});
