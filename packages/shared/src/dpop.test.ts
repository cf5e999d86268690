import { describe, expect, it } from 'vitest';
import { MemoryDpopReplayStore, RedisDpopReplayStore, accessTokenHash, extractDpopToken, normalizeHtu } from './dpop.js';

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
