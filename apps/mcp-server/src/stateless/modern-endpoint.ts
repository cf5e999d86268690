import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@mcp-gw/shared';
import type { Principal } from '../auth/principal.js';
import type { ToolServices } from '../tools/registry.js';
import { buildModernServer } from '../mcp/modern-server.js';
import type { AuthInfo } from '../mcp/sdk.js';
import { createMcpHandler } from '../mcp/sdk-v2.js';

/** A `subscriptions/listen` stream open on this process, and whose token opened it. */
interface OpenStream {
  res: ServerResponse;
  grantId: string | undefined;
  clientId: string;
}

export interface ModernEndpoint {
  /** Answers one authenticated 2026-07-28 request (already parsed, its principal checked). */
  serve(req: IncomingMessage, res: ServerResponse, body: unknown, auth: AuthInfo, principal: Principal): Promise<void>;
  /** Ends the listen streams of a grant or client (revocation); returns how many. */
  closeByGrant(grantId: string): number;
  closeByClient(clientId: string): number;
  /** Ends every listen stream (drain: clients re-listen, on another replica). */
  closeStreams(): void;
  close(): Promise<void>;
}

function webHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  return headers;
}

/**
 * The 2026-07-28 leg: SDK 2.x's per-request handler, strict (2025-era traffic never reaches it; the
 * era dispatch sends that to the sessions), over Node's request and response objects. Listen streams
 * are tracked so a revocation or a drain can end them.
 */
export function createModernEndpoint(options: { services: ToolServices; logger: Logger; maxBodyBytes: number }): ModernEndpoint {
  const { services, logger } = options;
  const handler = createMcpHandler(() => buildModernServer(services), {
    legacy: 'reject',
    maxRequestBodySize: options.maxBodyBytes,
    onerror: (err) => logger.debug({ err }, 'modern request refused or failed'),
  });
  const streams = new Set<OpenStream>();
  const end = (match: (s: OpenStream) => boolean): number => {
    let n = 0;
    for (const stream of streams) {
      if (!match(stream)) continue;
      stream.res.destroy();
      streams.delete(stream);
      n += 1;
    }
    return n;
  };

  return {
    async serve(req, res, body, auth, principal) {
      // Closing before the answer is complete is the client's cancellation; a finished answer is not.
      const abort = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) abort.abort();
      });
      const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
        method: 'POST',
        headers: webHeaders(req),
        signal: abort.signal,
      });
      const response = await handler.fetch(request, { authInfo: auth as never, parsedBody: body });
      res.statusCode = response.status;
      response.headers.forEach((value, name) => res.setHeader(name, value));
      if (!response.body) {
        res.end();
        return;
      }
      const isListen = (body as { method?: unknown }).method === 'subscriptions/listen';
      const stream: OpenStream | undefined = isListen ? { res, grantId: principal.grantId, clientId: principal.clientId } : undefined;
      if (stream) {
        streams.add(stream);
        res.once('close', () => streams.delete(stream));
      }
      // Headers go at once only for a stream (a JSON answer is one write with its body).
      if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) res.flushHeaders();
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (!res.write(value)) await new Promise((resolve) => (res.once('drain', resolve), res.once('close', resolve)));
        }
      } catch {
        // The client went away (abort) or the stream was ended by a revocation or a drain.
      } finally {
        reader.cancel().catch(() => {});
        res.end();
      }
    },
    closeByGrant: (grantId) => end((s) => s.grantId === grantId),
    closeByClient: (clientId) => end((s) => s.clientId === clientId),
    closeStreams: () => void end(() => true),
    async close() {
      end(() => true);
      await handler.close();
    },
  };
}
