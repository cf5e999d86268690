import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, decodeJwt, exportSPKI, importJWK, type JWK } from 'jose';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startHarness, type ConnectedClient, type Harness } from './support/harness.js';

// Attacks on the MCP server that the other files do not already cover; each asserts the exact answer.
let h: Harness;
let alice: ConnectedClient;

beforeAll(async () => {
  h = await startHarness({ env: { RATE_LIMIT_WRITE_PER_MINUTE: '1000', RATE_LIMIT_READ_PER_MINUTE: '1000' } });
  alice = await h.connect(await h.token({ sub: h.users.alice }));
});
afterAll(async () => {
  await h?.close();
});

const post = (body: unknown, token?: string) =>
  fetch(h.mcpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('token forgery', () => {
  it('refuses a token signed with HS256 using the RSA public key as the HMAC secret (key confusion)', async () => {
    const metadata = (await (await fetch(`${h.issuer.issuer}/.well-known/oauth-authorization-server`)).json()) as { jwks_uri: string };
    const { keys } = (await (await fetch(metadata.jwks_uri)).json()) as { keys: JWK[] };
    const pem = await exportSPKI((await importJWK(keys[0]!, 'RS256', { extractable: true })) as Parameters<typeof exportSPKI>[0]);
    const claims = decodeJwt(await h.issuer.mintUnsignedToken({ sub: h.users.alice }));
    for (const secret of [pem, JSON.stringify(keys[0])]) {
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: keys[0]!.kid }).sign(new TextEncoder().encode(secret));
      const response = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }, forged);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });
});

describe('JSON-RPC abuse', () => {
  it('refuses an oversized batch and an empty batch with -32600, never a 500', async () => {
    const token = await h.token({ sub: h.users.alice });
    const big = Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' }));
    for (const body of [big, []]) {
      const response = await post(body, token);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: number } }).error.code).toBe(-32600);
    }
  });

  it('answers arguments outside the schema bounds with a validation error, not a crash', async () => {
    for (const [name, args] of [
      ['search_tickets', { limit: 1000 }],
      ['search_tickets', { query: 'x'.repeat(201) }],
      ['create_ticket', { project: 'OPS', title: 'x'.repeat(201), body: 'b' }],
      ['get_ticket', { ticket_id: 'T-1; DROP TABLE ticket' }],
    ] as const) {
      const outcome = await alice.client.callTool({ name, arguments: args as Record<string, unknown> }).then(
        (r) => (r as CallToolResult).isError === true,
        (err: { code?: number }) => err.code === -32602,
      );
      expect(outcome, `${name} ${JSON.stringify(args).slice(0, 60)}`).toBe(true);
    }
  });
});

describe('search input is data, never SQL', () => {
  it('SQL and LIKE metacharacters neither fail nor widen the search, and change nothing', async () => {
    const before = await h.db.prisma.ticket.count();
    for (const query of ["' OR 1=1 --", '%', '_%_', '\\', '"unterminated', "'); DROP TABLE ticket; --", '-', 'zebracorn OR %']) {
      const r = (await alice.client.callTool({ name: 'search_tickets', arguments: { query } })) as CallToolResult;
      expect(r.isError, query).toBeFalsy();
      const tickets = (r.structuredContent as { tickets: { project: string }[] }).tickets;
      // Alice is not a member of SEC: its secret ticket never leaks, whatever the query.
      expect(tickets.every((t) => t.project !== 'SEC'), query).toBe(true);
      expect(JSON.stringify(r)).not.toContain('zebracorn-secret');
    }
    expect(await h.db.prisma.ticket.count()).toBe(before);
  });
});
