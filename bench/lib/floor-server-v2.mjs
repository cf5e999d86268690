// The 2026-07-28 floor: a bare MCP SDK 2.x server, `createMcpHandler` from @modelcontextprotocol/server
// (one McpServer per request, as the SDK requires, built by the factory), with one echo tool, mounted
// on node:http with `toNodeHandler` from @modelcontextprotocol/node (the SDK's own Node bridge: Node
// request → web Request with its body, handler.fetch, web Response → Node response), no middleware, no
// auth, no database. Stateless: no initialize, no session; 2025-era requests are refused (legacy:
// 'reject'), as the product's modern leg does.
//
// With `answer`, the one tool answers a fixed tool result under an output schema instead of echoing:
// given whoami's own result and output schema, it measures what SDK 2.x alone pays for that answer
// (output validated against the schema, the larger message), as floor-server.mjs does for SDK 1.x.
import http from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { McpServer, createMcpHandler } from '@modelcontextprotocol/server';
import { z } from 'zod';

/** @param {{ result: object, outputShape: import('zod').ZodRawShape } | undefined} answer */
function serverFactory(answer) {
  if (answer) {
    const inputSchema = z.object({});
    const outputSchema = z.object(answer.outputShape);
    return function buildFloorServer() {
      const server = new McpServer({ name: 'bench-floor-v2', version: '0.1.0' });
      server.registerTool('answer', { title: 'Answer', description: 'Answers a fixed result', inputSchema, outputSchema }, async () => answer.result);
      return server;
    };
  }
  const inputSchema = z.object({ text: z.string() });
  return function buildFloorServer() {
    const server = new McpServer({ name: 'bench-floor-v2', version: '0.1.0' });
    server.registerTool('echo', { title: 'Echo', description: 'Echoes its text', inputSchema }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
    return server;
  };
}

/** @param {{ answer?: { result: object, outputShape: import('zod').ZodRawShape } }} [options] */
export async function startFloorServerV2(options = {}) {
  const handler = createMcpHandler(serverFactory(options.answer), { legacy: 'reject' });
  const serve = toNodeHandler(handler);
  const server = http.createServer((req, res) => {
    if (!req.url.startsWith('/mcp')) {
      res.writeHead(404).end();
      return;
    }
    serve(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    mcpUrl: `http://127.0.0.1:${port}/mcp`,
    async close() {
      await handler.close().catch(() => {});
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
