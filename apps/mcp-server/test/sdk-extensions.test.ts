// Contract test of the patches of SDK 1.x internals (src/mcp/extensions/): each fails here, by name,
// when an SDK upgrade removes or changes what it touches.
import { describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { z } from 'zod';
import { McpServer, ResourceTemplate } from '../src/mcp/sdk.js';
import { answerUnknownNamesAsTheSpecSays } from '../src/mcp/extensions/legacy-unknown-names.js';
import { restoreSession } from '../src/mcp/extensions/restore-session.js';

async function connected(server: McpServer) {
  const client = new Client({ name: 'contract', version: '1' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(a), client.connect(b)]);
  return client;
}

describe('SDK 1.x internals the server patches', () => {
  it('restore-session.ts: Server._clientCapabilities / _clientVersion are what getClientCapabilities / getClientVersion read', () => {
    const server = new McpServer({ name: 's', version: '1' });
    const state = { clientCapabilities: { elicitation: { form: {} } }, clientInfo: { name: 'restored', version: '9' } };
    restoreSession(server, state);
    expect(server.server.getClientCapabilities()).toBe(state.clientCapabilities);
    expect(server.server.getClientVersion()).toBe(state.clientInfo);
  });

  it('legacy-unknown-names.ts: an unknown tool is -32602 and an unmatched resource -32002 with its uri; known ones are untouched', async () => {
    const server = new McpServer({ name: 's', version: '1' });
    server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
    server.registerResource('t', new ResourceTemplate('ticket://{id}', { list: undefined }), {}, async (uri) => ({ contents: [{ uri: uri.toString(), text: 'x' }] }));
    answerUnknownNamesAsTheSpecSays(server, new Set(['echo']));
    const client = await connected(server);
    await expect(client.callTool({ name: 'nope', arguments: {} })).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('Unknown tool: nope') });
    expect(await client.callTool({ name: 'echo', arguments: { text: 'hi' } })).toMatchObject({ content: [{ text: 'hi' }] });
    // Invalid arguments stay a tool error the model can correct (2025-11-25: input validation is a tool execution error).
    expect(await client.callTool({ name: 'echo', arguments: {} })).toMatchObject({ isError: true });
    await expect(client.readResource({ uri: 'test://static-text' })).rejects.toMatchObject({ code: -32002, data: { uri: 'test://static-text' } });
    expect(await client.readResource({ uri: 'ticket://T-1' })).toMatchObject({ contents: [{ text: 'x' }] });
  });
});
