import { afterEach, describe, expect, it, vi } from 'vitest';
import { JwksCache, type JwksCacheOptions } from './jwks-cache.js';
import { AccessTokenVerifier } from './token-verifier.js';
import { InvalidTokenError } from './errors.js';
import { deadIssuer, newSigningKey, RESOURCE, StubAuthorizationServer } from '../test/stub-authorization-server.js';

const stubs: StubAuthorizationServer[] = [];

async function startStub(issuerPath?: string): Promise<StubAuthorizationServer> {
  const stub = await StubAuthorizationServer.start({ issuerPath });
  stubs.push(stub);
  return stub;
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(stubs.splice(0).map((s) => s.stop()));
});

function verifierFor(issuer: string, options: Partial<JwksCacheOptions> = {}) {
  const jwks = new JwksCache({ issuer, ...options });
  return { jwks, verifier: new AccessTokenVerifier({ issuer, audience: RESOURCE, jwks }) };
}

async function refusedWith(promise: Promise<unknown>, description: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(InvalidTokenError);
  expect((error as InvalidTokenError).errorDescription).toBe(description);
}

/** Freezes `Date` only (jose and the cache read the clock through it; real timers keep fetch working). */
function freezeClock(at = new Date('2030-01-01T00:00:00Z')): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(at);
}

function advanceClock(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

describe('JwksCache: discovery and caching', () => {
  it('reads the metadata, then the JWKS, once for many verifications (including concurrent first ones)', async () => {
    const as = await startStub();
    const { jwks, verifier } = verifierFor(as.issuer);
    expect(jwks.ready).toBe(false);
    const token = await as.sign();
    const first = await Promise.all(Array.from({ length: 10 }, () => verifier.verify(token)));
    expect(first.map((t) => t.sub)).toEqual(Array(10).fill('user-1'));
    for (let i = 0; i < 40; i++) await verifier.verify(await as.sign({ jti: `t-${i}` }));
    expect(as.counts).toEqual({ metadata: 1, jwks: 1, other: 0 });
    expect(jwks.ready).toBe(true);
  });

  it('puts the well-known segment before the issuer path (RFC 8414 §3)', async () => {
    const as = await startStub('/tenant-a');
    expect(as.issuer).toMatch(/\/tenant-a$/);
    const { verifier } = verifierFor(as.issuer);
    expect((await verifier.verify(await as.sign())).sub).toBe('user-1');
    expect(as.counts).toEqual({ metadata: 1, jwks: 1, other: 0 });
  });

  it('uses a configured jwksUri without reading the metadata', async () => {
    const as = await startStub();
    const { verifier } = verifierFor(as.issuer, { jwksUri: as.jwksUri });
    expect((await verifier.verify(await as.sign())).sub).toBe('user-1');
    expect(as.counts).toEqual({ metadata: 0, jwks: 1, other: 0 });
  });

  it('refuses metadata naming another issuer, without fetching its jwks_uri', async () => {
    const as = await startStub();
    as.metadataOverride = { issuer: 'https://evil.example.test', jwks_uri: as.jwksUri };
    const { jwks, verifier } = verifierFor(as.issuer);
    await refusedWith(verifier.verify(await as.sign()), 'The access token could not be verified');
    await expect(jwks.refresh()).rejects.toThrow(`authorization server metadata names issuer https://evil.example.test, expected ${as.issuer}`);
    expect(as.counts.jwks).toBe(0);
    expect(jwks.ready).toBe(false);
  });

  it('refuses metadata without jwks_uri, and a jwks_uri that is not a JWK set', async () => {
    const as = await startStub();
    as.metadataOverride = { issuer: as.issuer };
    const { jwks, verifier } = verifierFor(as.issuer);
    await refusedWith(verifier.verify(await as.sign()), 'The access token could not be verified');
    await expect(jwks.refresh()).rejects.toThrow('authorization server metadata has no jwks_uri');

    as.metadataOverride = { issuer: as.issuer, jwks_uri: `${as.origin}/.well-known/oauth-authorization-server` };
    const other = verifierFor(as.issuer);
    await refusedWith(other.verifier.verify(await as.sign()), 'The access token could not be verified');
    await expect(other.jwks.refresh()).rejects.toThrow('did not return a JWK set');
  });
});

describe('JwksCache: key rotation', () => {
  it('verifies a token with a new kid after exactly one refetch', async () => {
    const as = await startStub();
    const { verifier } = verifierFor(as.issuer, { cooldownMs: 0 });
    const oldToken = await as.sign();
    await verifier.verify(oldToken);
    expect(as.counts).toEqual({ metadata: 1, jwks: 1, other: 0 });

    await as.rotate('key-2');
    const newToken = await as.sign();
    expect((await verifier.verify(newToken)).sub).toBe('user-1');
    expect(as.counts).toEqual({ metadata: 1, jwks: 2, other: 0 });

    // Both keys are now known: no further requests.
    await verifier.verify(newToken);
    await verifier.verify(oldToken);
    expect(as.counts).toEqual({ metadata: 1, jwks: 2, other: 0 });
  });

  it('drops a retired key at the refetch (its tokens are refused from then on)', async () => {
    const as = await startStub();
    const { verifier } = verifierFor(as.issuer, { cooldownMs: 0 });
    const oldToken = await as.sign();
    await verifier.verify(oldToken);
    await as.rotate('key-2', false);
    await verifier.verify(await as.sign());
    await refusedWith(verifier.verify(oldToken), 'The access token was signed by an unknown key');
  });

  it('refetches for an unknown kid at most once per cooldown, however many arrive (frozen clock)', async () => {
    freezeClock();
    const as = await startStub();
    const { verifier } = verifierFor(as.issuer, { cooldownMs: 60_000 });
    await verifier.verify(await as.sign());
    expect(as.counts).toEqual({ metadata: 1, jwks: 1, other: 0 });

    const forged = await newSigningKey('forged');
    const flood = () =>
      Array.from({ length: 25 }, (_, i) => as.sign({ jti: `f-${i}` }, { key: forged, kid: `forged-${i}` }));

    // Right after the first load: inside the cooldown, no refetch at all.
    for (const token of await Promise.all(flood())) {
      await refusedWith(verifier.verify(token), 'The access token was signed by an unknown key');
    }
    expect(as.counts.jwks).toBe(1);

    // Once the cooldown has passed: one refetch for a concurrent flood followed by a sequential one.
    advanceClock(61_000);
    const tokens = await Promise.all(flood());
    await Promise.all(tokens.map((t) => refusedWith(verifier.verify(t), 'The access token was signed by an unknown key')));
    for (const token of tokens) await refusedWith(verifier.verify(token), 'The access token was signed by an unknown key');
    expect(as.counts).toEqual({ metadata: 1, jwks: 2, other: 0 });

    // A genuinely rotated key inside the cooldown waits for it to pass, then verifies.
    await as.rotate('key-2');
    const rotated = await as.sign();
    await refusedWith(verifier.verify(rotated), 'The access token was signed by an unknown key');
    expect(as.counts.jwks).toBe(2);
    advanceClock(61_000);
    expect((await verifier.verify(rotated)).sub).toBe('user-1');
    expect(as.counts).toEqual({ metadata: 1, jwks: 3, other: 0 });
  });

  it('re-reads the keys in the background once maxAgeMs has passed (frozen clock)', async () => {
    freezeClock();
    const as = await startStub();
    const { verifier } = verifierFor(as.issuer, { maxAgeMs: 600_000, cooldownMs: 3_600_000 });
    await verifier.verify(await as.sign());
    advanceClock(599_000);
    await verifier.verify(await as.sign());
    expect(as.counts.jwks).toBe(1);
    await as.rotate('key-2');
    advanceClock(2_000);
    // This verification is served from the cache and starts the background re-read…
    await refusedWith(verifier.verify(await as.sign()), 'The access token was signed by an unknown key');
    await vi.waitFor(() => expect(as.counts.jwks).toBe(2), { timeout: 15_000 });
    // …after which the new key is known despite the long unknown-kid cooldown.
    await vi.waitFor(async () => expect((await verifier.verify(await as.sign())).sub).toBe('user-1'), { timeout: 15_000 });
    expect(as.counts).toEqual({ metadata: 1, jwks: 2, other: 0 });
  });
});

describe('JwksCache: authorization server down', () => {
  it('keeps verifying with the last good keys after the server stops', async () => {
    const as = await startStub();
    // maxAgeMs 0: every verification also tries (and fails) a background re-read.
    const { verifier } = verifierFor(as.issuer, { cooldownMs: 0, maxAgeMs: 0 });
    const tokens = [await as.sign({ jti: 'a' }), await as.sign({ jti: 'b' })];
    await verifier.verify(tokens[0]!);
    await as.stop();
    for (let i = 0; i < 5; i++) {
      for (const token of tokens) expect((await verifier.verify(token)).sub).toBe('user-1');
    }
    // An unknown kid meanwhile: the refetch fails, the token is refused, the known keys stay.
    const stranger = await newSigningKey('stranger');
    await refusedWith(verifier.verify(await as.sign({}, { key: stranger })), 'The access token was signed by an unknown key');
    expect((await verifier.verify(tokens[1]!)).jti).toBe('b');
  });

  it('keeps the last good keys when the server answers errors', async () => {
    const as = await startStub();
    const { jwks, verifier } = verifierFor(as.issuer, { cooldownMs: 0 });
    const token = await as.sign();
    await verifier.verify(token);
    as.failWith = 503;
    await expect(jwks.refresh(false)).resolves.toBeUndefined();
    await expect(jwks.refresh(true)).rejects.toThrow(`GET ${as.jwksUri} answered 503`);
    expect((await verifier.verify(token)).sub).toBe('user-1');
    expect(jwks.ready).toBe(true);
  });

  it('fails the first load with InvalidTokenError (not a crash) when the server is down', async () => {
    const issuer = await deadIssuer();
    const { jwks, verifier } = verifierFor(issuer);
    const as = await startStub();
    const token = await as.sign({ iss: issuer });
    await refusedWith(verifier.verify(token), 'The access token could not be verified');
    await refusedWith(verifier.verify(token), 'The access token could not be verified');
    expect(jwks.ready).toBe(false);
    await expect(jwks.refresh()).rejects.toThrow();
  });

  it('recovers when the server answers again after a failed first load', async () => {
    const as = await startStub();
    as.failWith = 503;
    const { jwks, verifier } = verifierFor(as.issuer);
    const token = await as.sign();
    await refusedWith(verifier.verify(token), 'The access token could not be verified');
    expect(jwks.ready).toBe(false);
    as.failWith = undefined;
    // Within the cooldown a never-loaded cache does not hammer the server again…
    const before = as.counts.metadata + as.counts.jwks;
    await refusedWith(verifier.verify(token), 'The access token could not be verified');
    expect(as.counts.metadata + as.counts.jwks).toBe(before);
    // …and after it, the next verification loads the keys.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 11_000);
    try {
      expect((await verifier.verify(token)).sub).toBe('user-1');
    } finally {
      vi.useRealTimers();
    }
    expect(jwks.ready).toBe(true);
  });
});
