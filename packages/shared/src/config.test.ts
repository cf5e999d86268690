import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { booleanFlag, canonicalUrl, ConfigError, loadConfig, optionalString, portNumber } from './config.js';

const schema = z.object({
  PORT: portNumber(3000),
  ISSUER: canonicalUrl(),
  PUBLIC_URL: canonicalUrl('http://localhost:3000'),
  SECURE_COOKIES: booleanFlag(true),
  LOG_LEVEL: optionalString(),
});

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(schema, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('returns the parsed configuration, with defaults', () => {
    expect(loadConfig(schema, { ISSUER: 'https://as.example.test/' })).toEqual({
      PORT: 3000,
      ISSUER: 'https://as.example.test',
      PUBLIC_URL: 'http://localhost:3000',
      SECURE_COOKIES: true,
      LOG_LEVEL: undefined,
    });
  });

  it('reads process.env by default', () => {
    expect(loadConfig(z.object({ PATH: z.string() })).PATH).toBe(process.env.PATH);
  });

  it('names each bad variable and why, in a ConfigError', () => {
    const error = configError({ PORT: 'eighty', ISSUER: 'https://as.example.test?x=1', SECURE_COOKIES: 'maybe' });
    expect(error.name).toBe('ConfigError');
    expect(error).toBeInstanceOf(Error);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('Invalid configuration:');
    expect(lines.slice(1).map((l) => l.split(':')[0])).toEqual(['  PORT', '  ISSUER', '  SECURE_COOKIES']);
    expect(error.message).toContain('ISSUER: must not have a query or fragment');
    expect(String(error)).toMatch(/^ConfigError: Invalid configuration:\n {2}PORT: /);
  });

  it('names a missing required variable', () => {
    expect(configError({}).message).toMatch(/^Invalid configuration:\n {2}ISSUER: .+$/);
  });

  it('reports an environment that is not an object at all', () => {
    expect(() => loadConfig(schema, 'nope' as never)).toThrow(/^Invalid configuration:\n {2}\(environment\): /);
  });
});

describe('portNumber', () => {
  const parse = (PORT: string | undefined) => z.object({ PORT: portNumber(3000) }).safeParse({ PORT });

  it('coerces valid ports and defaults when unset or empty', () => {
    expect(parse('8080').data).toEqual({ PORT: 8080 });
    expect(parse('0').data).toEqual({ PORT: 0 });
    expect(parse('65535').data).toEqual({ PORT: 65535 });
    expect(parse(undefined).data).toEqual({ PORT: 3000 });
    expect(z.object({ PORT: portNumber(3000) }).parse({})).toEqual({ PORT: 3000 });
    // Empty means "not set" (a `PORT=` line in an env file), not port 0.
    expect(parse('').data).toEqual({ PORT: 3000 });
    expect(parse('  ').data).toEqual({ PORT: 3000 });
  });

  it('refuses non-ports', () => {
    for (const bad of ['-1', '65536', '80.5', 'http', '0x']) expect(parse(bad).success, bad).toBe(false);
  });
});

describe('booleanFlag', () => {
  const parse = (FLAG: string | undefined, fallback: boolean) => z.object({ FLAG: booleanFlag(fallback) }).safeParse({ FLAG });

  it('reads true/1/yes and false/0/no', () => {
    for (const v of ['true', '1', 'yes']) expect(parse(v, false).data).toEqual({ FLAG: true });
    for (const v of ['false', '0', 'no']) expect(parse(v, true).data).toEqual({ FLAG: false });
  });

  it('falls back when unset or empty', () => {
    expect(parse(undefined, true).data).toEqual({ FLAG: true });
    expect(parse('', false).data).toEqual({ FLAG: false });
    expect(z.object({ FLAG: booleanFlag(true) }).parse({})).toEqual({ FLAG: true });
  });

  it('refuses anything else rather than guessing', () => {
    for (const v of ['TRUE', 'on', 'y', ' true']) expect(parse(v, false).success, v).toBe(false);
  });
});

describe('canonicalUrl', () => {
  const parse = (URL_: string | undefined, fallback?: string) => z.object({ URL: canonicalUrl(fallback) }).safeParse({ URL: URL_ });

  it('removes trailing slashes', () => {
    expect(parse('https://as.example.test/').data).toEqual({ URL: 'https://as.example.test' });
    expect(parse('https://as.example.test/tenant///').data).toEqual({ URL: 'https://as.example.test/tenant' });
    expect(parse('http://127.0.0.1:4000/mcp').data).toEqual({ URL: 'http://127.0.0.1:4000/mcp' });
  });

  it('refuses a query or fragment', () => {
    const query = parse('https://as.example.test/?tenant=a');
    expect(query.success).toBe(false);
    expect(query.error!.issues.map((i) => i.message)).toContain('must not have a query or fragment');
    expect(parse('https://as.example.test/#top').success).toBe(false);
  });

  it('refuses non-http(s) and non-URLs', () => {
    expect(parse('ftp://as.example.test').error!.issues.map((i) => i.message)).toContain('must be an http(s) URL');
    expect(parse('as.example.test').success).toBe(false);
    expect(parse('').success).toBe(false);
  });

  it('uses the fallback only when unset', () => {
    expect(parse(undefined, 'http://localhost:3000').data).toEqual({ URL: 'http://localhost:3000' });
    expect(parse(undefined).success).toBe(false);
  });
});

describe('optionalString', () => {
  it('trims, and treats empty as unset', () => {
    const s = z.object({ V: optionalString() });
    expect(s.parse({ V: '  info ' })).toEqual({ V: 'info' });
    expect(s.parse({ V: '   ' })).toEqual({ V: undefined });
    expect(s.parse({})).toEqual({ V: undefined });
  });
});
