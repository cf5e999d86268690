import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bearerChallenge, extractBearerToken } from './bearer.js';
import { InsufficientScopeError, InvalidTokenError } from './errors.js';
import { MCP_SCOPES } from './scopes.js';

const PRM = 'https://mcp.example.test/.well-known/oauth-protected-resource/mcp';

describe('extractBearerToken', () => {
  it('returns the token of a Bearer authorization', () => {
    expect(extractBearerToken('Bearer abc')).toBe('abc');
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln-_';
    expect(extractBearerToken(`Bearer ${jwt}`)).toBe(jwt);
    expect(extractBearerToken('Bearer a-b.c_d~e+f/g==')).toBe('a-b.c_d~e+f/g==');
  });

  it('accepts the scheme in any case', () => {
    expect(extractBearerToken('bearer abc')).toBe('abc');
    expect(extractBearerToken('BEARER abc')).toBe('abc');
    expect(extractBearerToken('BeArEr abc')).toBe('abc');
  });

  it('accepts extra spaces between scheme and token, and trailing whitespace', () => {
    expect(extractBearerToken('Bearer    abc')).toBe('abc');
    expect(extractBearerToken('Bearer abc   ')).toBe('abc');
  });

  it('returns undefined for other schemes, absent or empty values', () => {
    expect(extractBearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(extractBearerToken('DPoP abc')).toBeUndefined();
    expect(extractBearerToken('')).toBeUndefined();
    expect(extractBearerToken(undefined)).toBeUndefined();
    expect(extractBearerToken('Bearer')).toBeUndefined();
    expect(extractBearerToken('Bearer ')).toBeUndefined();
    expect(extractBearerToken('Bearerabc')).toBeUndefined();
  });

  it('returns undefined for a token with characters outside b64token', () => {
    expect(extractBearerToken('Bearer abc def')).toBeUndefined();
    expect(extractBearerToken('Bearer a"b')).toBeUndefined();
    expect(extractBearerToken('Bearer a,b')).toBeUndefined();
    expect(extractBearerToken('Bearer ab=c')).toBeUndefined();
    expect(extractBearerToken('Bearer =abc')).toBeUndefined();
    expect(extractBearerToken('Bearer abc\u00e9')).toBeUndefined();
    expect(extractBearerToken('Bearer abc\ndef')).toBeUndefined();
    expect(extractBearerToken('Bearer\tabc')).toBeUndefined();
  });

  it('returns exactly the token for any b64token (property)', () => {
    const b64char = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/');
    const b64token = fc
      .tuple(fc.string({ unit: b64char, minLength: 1 }), fc.string({ unit: fc.constant('='), maxLength: 3 }))
      .map(([body, pad]) => body + pad);
    fc.assert(
      fc.property(b64token, fc.integer({ min: 1, max: 5 }), fc.constantFrom('Bearer', 'bearer', 'BEARER'), (token, spaces, scheme) => {
        expect(extractBearerToken(`${scheme}${' '.repeat(spaces)}${token}`)).toBe(token);
      }),
    );
  });
});

/** Parses `Bearer k="v", k2="v2"` back into its parameters (RFC 7230 quoted-string with quoted-pair). */
function parseChallenge(header: string): Record<string, string> {
  expect(header.startsWith('Bearer ')).toBe(true);
  const params: Record<string, string> = {};
  const re = /\s*([a-z_]+)="((?:[^"\\]|\\.)*)"\s*(,|$)/gy;
  re.lastIndex = 'Bearer '.length;
  let match: RegExpExecArray | null;
  while (re.lastIndex < header.length && (match = re.exec(header))) {
    params[match[1]!] = match[2]!.replace(/\\(.)/g, '$1');
  }
  expect(re.lastIndex).toBe(header.length);
  return params;
}

describe('bearerChallenge', () => {
  it('names the resource metadata, and the scopes to ask for', () => {
    expect(bearerChallenge({ resourceMetadataUrl: PRM })).toBe(`Bearer resource_metadata="${PRM}"`);
    expect(bearerChallenge({ resourceMetadataUrl: PRM, scope: [] })).toBe(`Bearer resource_metadata="${PRM}"`);
    expect(bearerChallenge({ resourceMetadataUrl: PRM, scope: MCP_SCOPES })).toBe(
      `Bearer resource_metadata="${PRM}", scope="tickets:read tickets:write"`,
    );
  });

  it('never includes offline_access when given MCP_SCOPES', () => {
    const header = bearerChallenge({ resourceMetadataUrl: PRM, scope: MCP_SCOPES, error: new InvalidTokenError() });
    expect(header).not.toContain('offline_access');
    expect(parseChallenge(header).scope!.split(' ')).toEqual(['tickets:read', 'tickets:write']);
  });

  it('adds error and error_description for invalid_token', () => {
    expect(bearerChallenge({ resourceMetadataUrl: PRM, scope: MCP_SCOPES, error: new InvalidTokenError('The access token expired') })).toBe(
      `Bearer resource_metadata="${PRM}", scope="tickets:read tickets:write", error="invalid_token", error_description="The access token expired"`,
    );
  });

  it('asks for the required scopes on insufficient_scope', () => {
    const error = new InsufficientScopeError(['tickets:write']);
    expect(bearerChallenge({ resourceMetadataUrl: PRM, scope: MCP_SCOPES, error })).toBe(
      `Bearer resource_metadata="${PRM}", scope="tickets:write", error="insufficient_scope", error_description="This operation requires the scope(s): tickets:write"`,
    );
    expect(parseChallenge(bearerChallenge({ resourceMetadataUrl: PRM, error: new InsufficientScopeError(['tickets:read', 'tickets:write']) }))).toEqual({
      resource_metadata: PRM,
      scope: 'tickets:read tickets:write',
      error: 'insufficient_scope',
      error_description: 'This operation requires the scope(s): tickets:read tickets:write',
    });
  });

  it('escapes quotes and backslashes, and drops characters a header cannot carry', () => {
    const header = bearerChallenge({
      resourceMetadataUrl: 'https://x.test/a"b\\c',
      error: new InvalidTokenError('say "hi" \\ now\r\nSet-Cookie: x=1 caf\u00e9'),
    });
    expect(header).toBe(
      'Bearer resource_metadata="https://x.test/a\\"b\\\\c", error="invalid_token", error_description="say \\"hi\\" \\\\ nowSet-Cookie: x=1 caf"',
    );
    expect(parseChallenge(header)).toEqual({
      resource_metadata: 'https://x.test/a"b\\c',
      error: 'invalid_token',
      error_description: 'say "hi" \\ nowSet-Cookie: x=1 caf',
    });
  });

  it('round-trips any printable description and scope list through the quoting (property)', () => {
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
    fc.assert(
      fc.property(printable, fc.array(fc.stringMatching(/^[!#-[\]-~]+$/), { minLength: 1, maxLength: 4 }), (description, scopes) => {
        const header = bearerChallenge({ resourceMetadataUrl: PRM, error: new InsufficientScopeError(scopes, description) });
        expect(parseChallenge(header)).toEqual({
          resource_metadata: PRM,
          scope: scopes.join(' '),
          error: 'insufficient_scope',
          error_description: description,
        });
      }),
    );
  });
});
