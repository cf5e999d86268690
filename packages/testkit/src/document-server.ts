import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

export interface DocumentRoute {
  status?: number;
  headers?: Record<string, string>;
  /** A JSON value (serialised) or a raw string body. */
  body?: unknown;
  /** Answer only after this many milliseconds (a slow server). */
  delayMs?: number;
}

export interface DocumentServer {
  /** https://localhost:<port> */
  origin: string;
  /** Serves `route` at `path`; a function route is evaluated per request. */
  set(path: string, route: DocumentRoute | (() => DocumentRoute)): string;
  hits(path: string): number;
  close(): Promise<void>;
}

/**
 * An HTTPS server on loopback with a fresh self-signed certificate: where tests publish Client ID
 * Metadata Documents (real clients publish theirs on claude.ai, vscode.dev…, unreachable here).
 */
export async function startDocumentServer(): Promise<DocumentServer> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, algorithm: 'sha256' });
  const routes = new Map<string, DocumentRoute | (() => DocumentRoute)>();
  const counts = new Map<string, number>();
  const server = https.createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const entry = routes.get(path);
    if (!entry) return void res.writeHead(404).end();
    const route = typeof entry === 'function' ? entry() : entry;
    const send = () => {
      const body = typeof route.body === 'string' ? route.body : JSON.stringify(route.body ?? {});
      res.writeHead(route.status ?? 200, { 'content-type': 'application/json', ...route.headers }).end(body);
    };
    if (route.delayMs) setTimeout(send, route.delayMs);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `https://localhost:${port}`;
  return {
    origin,
    set(path, route) {
      routes.set(path, route);
      return `${origin}${path}`;
    },
    hits: (path) => counts.get(path) ?? 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
