import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { normalizeRegistration, RegistrationError, SUPPORTED_AUTH_METHODS, SUPPORTED_GRANT_TYPES } from './normalize.js';
import { checkRedirectUri } from './redirect-uri-policy.js';

const KNOWN = [
  'redirect_uris', 'grant_types', 'response_types', 'token_endpoint_auth_method', 'scope', 'application_type', 'client_name',
  'client_uri', 'logo_uri', 'contacts', 'jwks', '__proto__', 'constructor', 'toString',
];
const redirectUri = fc.oneof(
  fc.constantFrom('https://app.example/cb', 'http://127.0.0.1:8080/cb', 'cursor://anysphere.cursor-mcp/oauth/callback', 'javascript:alert(1)', 'https://a.example/#x'),
  fc.webUrl(),
  fc.string(),
);
const member = fc.oneof(
  fc.jsonValue(),
  fc.array(redirectUri, { maxLength: 3 }),
  fc.array(fc.constantFrom('authorization_code', 'refresh_token', 'implicit', 'urn:ietf:params:oauth:grant-type:device_code', 'code', 'token'), { maxLength: 4 }),
  fc.constantFrom(...SUPPORTED_AUTH_METHODS, 'private_key_jwt', 'web', 'native', 'openid email claudeai'),
);
// Bodies shaped like registrations (known member names, plausible and implausible values) and any JSON at all.
const body = fc.oneof(
  fc.dictionary(fc.constantFrom(...KNOWN), member, { maxKeys: 8 }),
  fc.record({ redirect_uris: fc.array(redirectUri, { minLength: 1, maxLength: 3 }) }, { requiredKeys: [] }).chain((base) =>
    fc.dictionary(fc.constantFrom(...KNOWN), member, { maxKeys: 5 }).map((extra) => ({ ...extra, ...base })),
  ),
  fc.jsonValue(),
  fc.json().map((text) => JSON.parse(text) as unknown),
  fc.string().map((key) => JSON.parse(`{"${'__proto__'}":{"redirect_uris":["https://app.example/cb"]},${JSON.stringify(key)}:1}`) as unknown),
);

describe('normalizeRegistration properties', () => {
  it('throws nothing but RegistrationError, and what it accepts obeys the policy', () => {
    fc.assert(
      fc.property(body, (input) => {
        let result: ReturnType<typeof normalizeRegistration>;
        try {
          result = normalizeRegistration(input);
        } catch (err) {
          expect(err).toBeInstanceOf(RegistrationError);
          expect(['invalid_client_metadata', 'invalid_redirect_uri']).toContain((err as RegistrationError).error);
          return;
        }
        const { metadata } = result;
        expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
        expect(Object.hasOwn(metadata, 'redirect_uris')).toBe(true);
        const uris = metadata.redirect_uris as unknown[];
        expect(uris.length).toBeGreaterThan(0);
        for (const uri of uris) expect(checkRedirectUri(uri).ok).toBe(true);
        const grants = metadata.grant_types as string[];
        expect(grants).toContain('authorization_code');
        for (const g of grants) expect(SUPPORTED_GRANT_TYPES).toContain(g);
        if (metadata.token_endpoint_auth_method !== undefined) expect(SUPPORTED_AUTH_METHODS).toContain(metadata.token_endpoint_auth_method);
        expect(['web', 'native']).toContain(metadata.application_type);
        if (metadata.response_types !== undefined) expect(metadata.response_types).toEqual(['code']);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses deeply nested metadata with invalid_client_metadata', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 2000 }), fc.constantFrom('x', 'client_name', 'jwks'), (depth, key) => {
        let value: unknown = 1;
        for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
        try {
          normalizeRegistration({ redirect_uris: ['https://app.example/cb'], [key]: value });
          throw new Error('accepted');
        } catch (err) {
          expect(err).toBeInstanceOf(RegistrationError);
          expect((err as RegistrationError).error).toBe('invalid_client_metadata');
        }
      }),
      { numRuns: 50 },
    );
  });
});
