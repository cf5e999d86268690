import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ALL_SCOPES, describeScope, isKnownScope, MCP_SCOPES, parseScope, SCOPES } from './scopes.js';

describe('parseScope', () => {
  it('splits leniently on runs of spaces, ignoring leading and trailing ones', () => {
    expect(parseScope(' offline_access')).toEqual(['offline_access']);
    expect(parseScope('openid  tickets:read   tickets:write ')).toEqual(['openid', 'tickets:read', 'tickets:write']);
    expect(parseScope('   ')).toEqual([]);
  });

  it('removes duplicates, keeping the first occurrence order', () => {
    expect(parseScope('tickets:write tickets:read tickets:write openid tickets:read')).toEqual(['tickets:write', 'tickets:read', 'openid']);
  });

  it('returns [] for empty, undefined and null', () => {
    expect(parseScope('')).toEqual([]);
    expect(parseScope(undefined)).toEqual([]);
    expect(parseScope(null)).toEqual([]);
  });

  it('returns the de-duplicated tokens in order for any tokens joined by runs of spaces (property)', () => {
    // RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E )
    const scopeToken = fc.stringMatching(/^[!#-[\]-~]+$/);
    const spaces = (min: number) => fc.integer({ min, max: 6 }).map((n) => ' '.repeat(n));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(scopeToken, fc.constantFrom('openid', 'tickets:read', 'offline_access')), spaces(1)), { maxLength: 12 }),
        spaces(0),
        (items, leading) => {
          const value = leading + items.map(([token, gap]) => token + gap).join('');
          const expected: string[] = [];
          for (const [token] of items) if (!expected.includes(token)) expected.push(token);
          expect(parseScope(value)).toEqual(expected);
        },
      ),
    );
  });
});

describe('scope catalogue', () => {
  it('serves only the tickets scopes on the MCP server', () => {
    expect(MCP_SCOPES).toEqual(['tickets:read', 'tickets:write']);
    expect(MCP_SCOPES).not.toContain('offline_access');
  });

  it('lists every scope once, named by its key', () => {
    expect(ALL_SCOPES.map((s) => s.name)).toEqual(Object.keys(SCOPES));
  });

  it('knows its own scopes only (not inherited object properties)', () => {
    expect(isKnownScope('tickets:read')).toBe(true);
    expect(isKnownScope('admin')).toBe(true);
    expect(isKnownScope('toString')).toBe(false);
    expect(isKnownScope('__proto__')).toBe(false);
    expect(isKnownScope('tickets:delete')).toBe(false);
  });

  it('describes known scopes and echoes unknown ones', () => {
    expect(describeScope('tickets:read')).toBe('Search and read tickets and comments in the projects you belong to');
    expect(describeScope('constructor')).toBe('constructor');
    expect(describeScope('custom:thing')).toBe('custom:thing');
  });
});
