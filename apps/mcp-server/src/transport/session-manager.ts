import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isGrantActive, type PrismaClient } from '@mcp-gw/db';
import type { Logger } from '@mcp-gw/shared';
import { StreamableHTTPServerTransport, type McpServer } from '../mcp/sdk.js';
import type { Principal } from '../auth/principal.js';
import type { Metrics } from '../observability/metrics.js';

export interface SessionOwner {
  sub: string;
  clientId: string;
}

export interface Session {
  id: string;
  owner: SessionOwner;
  /** The grant of the token that opened the session, or of the latest token used on it. */
  grantId: string | undefined;
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionManagerOptions {
  prisma: PrismaClient;
  logger: Logger;
  metrics: Metrics;
  createServer: () => McpServer;
  maxSessions: number;
  idleTimeoutMs: number;
  sweepIntervalMs: number;
}

export type SessionLookup = { kind: 'found'; session: Session } | { kind: 'not_found' } | { kind: 'forbidden' };

/**
 * Stateful Streamable HTTP sessions of this instance. A session belongs to the user and client whose
 * token initialised it: a request with any other user's or client's token on that session id is
 * answered exactly like an unknown session (404), so session ids cannot be probed or hijacked.
 * Sessions of a revoked grant are closed when a request shows the revocation and by a periodic sweep,
 * which also ends idle sessions.
 */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(private readonly options: SessionManagerOptions) {}

  get size(): number {
    return this.sessions.size;
  }

  ids(): string[] {
    return [...this.sessions.keys()];
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.sweep().catch((err) => this.options.logger.error({ err }, 'session sweep failed'));
    }, this.options.sweepIntervalMs);
    this.timer.unref();
  }

  /** Whether one more session may be opened. */
  hasCapacity(): boolean {
    return this.sessions.size < this.options.maxSessions;
  }

  lookup(id: string, principal: Principal): SessionLookup {
    const session = this.sessions.get(id);
    if (!session) return { kind: 'not_found' };
    if (session.owner.sub !== principal.sub || session.owner.clientId !== principal.clientId) {
      this.options.logger.warn(
        { session: id, owner_sub: session.owner.sub, owner_client: session.owner.clientId, sub: principal.sub, client_id: principal.clientId },
        'request for a session owned by another user or client refused',
      );
      return { kind: 'forbidden' };
    }
    session.lastSeenAt = Date.now();
    if (principal.grantId) session.grantId = principal.grantId;
    return { kind: 'found', session };
  }

  /**
   * Opens a session for an initialize request and lets its transport answer it. The session is
   * registered when the SDK assigns the id (before the response is written).
   */
  async open(principal: Principal, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const server = this.options.createServer();
    let session: Session | undefined;
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (id) => {
        session = {
          id,
          owner: { sub: principal.sub, clientId: principal.clientId },
          grantId: principal.grantId,
          transport,
          server,
          createdAt: Date.now(),
          lastSeenAt: Date.now(),
        };
        this.sessions.set(id, session);
        this.options.metrics.activeSessions.set(this.sessions.size);
        this.options.logger.info({ session: id, sub: principal.sub, client_id: principal.clientId }, 'session opened');
      },
      onsessionclosed: (id) => {
        this.forget(id, 'deleted by client');
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.forget(transport.sessionId, 'transport closed');
    };
    transport.onerror = (err) => {
      this.options.logger.warn({ err, session: transport.sessionId }, 'transport error');
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    if (!session) {
      // The initialize request was refused (bad protocol version...): nothing to keep.
      await server.close().catch(() => {});
    }
  }

  private forget(id: string, reason: string): void {
    if (this.sessions.delete(id)) {
      this.options.metrics.activeSessions.set(this.sessions.size);
      this.options.logger.info({ session: id, reason }, 'session closed');
    }
  }

  async close(id: string, reason: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return;
    this.forget(id, reason);
    await session.server.close().catch((err) => this.options.logger.warn({ err, session: id }, 'error closing session'));
  }

  /** Closes every session opened under this grant (called when a request shows the grant is gone). */
  async closeByGrant(grantId: string): Promise<number> {
    const victims = [...this.sessions.values()].filter((s) => s.grantId === grantId);
    await Promise.all(victims.map((s) => this.close(s.id, 'grant revoked')));
    return victims.length;
  }

  /** Closes every session of a client (the client's registration was revoked). */
  async closeByClient(clientId: string): Promise<number> {
    const victims = [...this.sessions.values()].filter((s) => s.owner.clientId === clientId);
    await Promise.all(victims.map((s) => this.close(s.id, 'client revoked')));
    return victims.length;
  }

  /** Ends idle sessions and sessions whose grant was revoked. */
  async sweep(now = Date.now()): Promise<{ idle: number; revoked: number }> {
    if (this.sweeping) return { idle: 0, revoked: 0 };
    this.sweeping = true;
    try {
      let idle = 0;
      let revoked = 0;
      for (const s of [...this.sessions.values()]) {
        if (now - s.lastSeenAt > this.options.idleTimeoutMs) {
          await this.close(s.id, 'idle timeout');
          idle += 1;
        }
      }
      const grants = new Set([...this.sessions.values()].map((s) => s.grantId).filter((g): g is string => !!g));
      for (const grantId of grants) {
        if (!(await isGrantActive(this.options.prisma, grantId))) revoked += await this.closeByGrant(grantId);
      }
      return { idle, revoked };
    } finally {
      this.sweeping = false;
    }
  }

  async closeAll(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.ids().map((id) => this.close(id, 'server shutting down')));
  }
}
