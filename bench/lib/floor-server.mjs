// The floor: a bare MCP SDK Streamable HTTP server with one echo tool, one session per client, on
// node:http with no middleware, no auth and no database. Nothing the product does can be cheaper.
//
// With `answer`, the same bare server's one tool answers a fixed tool result under an output schema
// instead of echoing: given whoami's own result and output schema, it measures what the SDK alone pays
// for that answer (output validated against the schema, the larger message), so the product's own
// per-call work can be read apart from what the answer costs.
import crypto from 'node:crypto';
import http from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** @param {{ result: object, outputShape: import('zod').ZodRawShape } | undefined} answer */
function buildServer(answer) {
  const server = new McpServer({ name: 'bench-floor', version: '0.1.0' });
  if (answer) {
    const outputSchema = z.object(answer.outputShape);
    server.registerTool('answer', { title: 'Answer', description: 'Answers a fixed result', inputSchema: z.object({}), outputSchema }, async () => answer.result);
    return server;
  }
  server.registerTool(
    'echo',
    { title: 'Echo', description: 'Echoes its text', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

/** @param {{ answer?: { result: object, outputShape: import('zod').ZodRawShape } }} [options] */
export async function startFloorServer(options = {}) {
  const sessions = new Map();
  const server = http.createServer(async (req, res) => {
    try {
      if (!req.url.startsWith('/mcp')) {
        res.writeHead(404).end();
        return;
      }
      const sessionId = req.headers['mcp-session-id'];
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      let transport = sessionId ? sessions.get(sessionId) : undefined;
      if (!transport) {
        if (sessionId || req.method !== 'POST' || !isInitializeRequest(body)) {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
          return;
        }
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => crypto.randomUUID(),
          onsessioninitialized: (id) => sessions.set(id, transport),
          onsessionclosed: (id) => sessions.delete(id),
        });
        await buildServer(options.answer).connect(transport);
      }
      await transport.handleRequest(req, res, body);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    mcpUrl: `http://127.0.0.1:${port}/mcp`,
    sessions,
    async close() {
      for (const t of sessions.values()) await t.close().catch(() => {});
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
