import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isGrantActive, type PrismaClient } from '@mcp-gw/db';
import type { Logger } from '@mcp-gw/shared';
import {
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  isJSONRPCErrorResponse,
  isJSONRPCResultResponse,
  type ClientCapabilities,
  type EventStore,
  type Implementation,
  type JSONRPCMessage,
  type McpServer,
} from '../mcp/sdk.js';
import { restoreSession } from '../mcp/extensions/restore-session.js';
import type { Principal } from '../auth/principal.js';
import type { Metrics } from '../observability/metrics.js';
import { NodeStreamableHttpTransport } from './streamable-http.js';
import { LocalSessionBus, MemorySessionStore, type SessionBus, type SessionBusEvent, type SessionRecord, type SessionStore } from './session-store.js';

/** A session live in this process (its transport and server); the record may be shared. */
export interface Session {
  id: string;
  /** Owner, grant (of the token that opened it, or of the latest used on it) and negotiated state. */
  record: SessionRecord;
  transport: NodeStreamableHttpTransport;
  server: McpServer;
  lastSeenAt: number;
  /** Server-initiated requests (elicitation) awaiting the client's answer: wire id → SDK id. */
  pending: Map<string, string | number>;
}

export interface SessionManagerOptions {
  prisma: PrismaClient;
  logger: Logger;
  metrics: Metrics;
  createServer: () => McpServer;
  maxSessions: number;
  idleTimeoutMs: number;
  sweepIntervalMs: number;
  /** Session records; memory (this process only) by default. */
  store?: SessionStore;
  /** How replicas tell each other about ended sessions and forwarded responses. */
  bus?: SessionBus;
  /** The SSE event store of one session (Last-Event-ID resumption). */
  createEventStore?: (sessionId: string) => EventStore;
}

export type SessionLookup = { kind: 'found'; session: Session } | { kind: 'not_found' } | { kind: 'forbidden' };

const ID_SEP = '~';

/**
 * Stateful Streamable HTTP sessions. A session belongs to the user and client whose token initialised
 * it: a request with any other user's or client's token on that session id is answered exactly like an
 * unknown session (404), so session ids cannot be probed or hijacked.
 *
 * With a shared store (Redis) a session continues on any replica: the record (owner, grant, negotiated
 * state) is shared, and a replica that receives a request for a session it does not hold rebuilds the
 * transport and server from the record. Server-initiated requests carry this process's instance id in
 * their JSON-RPC id, so the client's answer reaches the replica waiting for it whichever one receives it.
 * Sessions of a revoked grant are ended when a request shows the revocation, on a revocation notice and
 * by a periodic sweep, which also releases idle local copies.
 */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly restoring = new Map<string, Promise<Session>>();
  private readonly store: SessionStore;
  private readonly bus: SessionBus;
  /** Prefix of this process's server-initiated request ids. */
  readonly instanceId = crypto.randomBytes(6).toString('hex');
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(private readonly options: SessionManagerOptions) {
    this.store = options.store ?? new MemorySessionStore();
    this.bus = options.bus ?? new LocalSessionBus();
    this.bus.subscribe((event) => this.onBusEvent(event));
  }

  /** Whether other replicas share the session records. */
  get shared(): boolean {
    return this.store.shared;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Ids of the sessions live in this process. */
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

  private owns(record: SessionRecord, principal: Principal, id: string): boolean {
    if (record.sub === principal.sub && record.clientId === principal.clientId) return true;
    this.options.logger.warn(
      { session: id, owner_sub: record.sub, owner_client: record.clientId, sub: principal.sub, client_id: principal.clientId },
      'request for a session owned by another user or client refused',
    );
    return false;
  }

  /**
   * The session for a request: the local copy (after checking the shared record still exists), or one
   * rebuilt from the shared record. Ownership is checked before anything is rebuilt.
   */
  async lookup(id: string, principal: Principal): Promise<SessionLookup> {
    const local = this.sessions.get(id);
    if (local) {
      if (!this.owns(local.record, principal, id)) return { kind: 'forbidden' };
      if (this.store.shared && !(await this.store.touch(local.record))) {
        await this.release(id, 'ended on another replica');
        return { kind: 'not_found' };
      }
      if (!(await this.seen(local, principal))) return { kind: 'not_found' };
      return { kind: 'found', session: local };
    }
    const record = await this.store.get(id);
    if (!record) return { kind: 'not_found' };
    if (!this.owns(record, principal, id)) return { kind: 'forbidden' };
    await this.store.touch(record);
    const session = await this.restore(record);
    if (!(await this.seen(session, principal))) return { kind: 'not_found' };
    return { kind: 'found', session };
  }

  /** Marks the session used by `principal`; false when it was ended because its grant was revoked. */
  private async seen(session: Session, principal: Principal): Promise<boolean> {
    session.lastSeenAt = Date.now();
    const grantId = session.record.grantId;
    if (principal.grantId && grantId && principal.grantId !== grantId && !(await isGrantActive(this.options.prisma, grantId))) {
      // Opened under a grant revoked since (the notice never reached this replica: no Redis, or lost)
      // and now used with the user's NEW grant: it must not carry on; it ends as on revocation.
      await this.end(session.id, 'grant revoked');
      return false;
    }
    if (principal.grantId && principal.grantId !== grantId) {
      session.record = { ...session.record, grantId: principal.grantId };
      await this.store.put(session.record);
    }
    return true;
  }

  private restore(record: SessionRecord): Promise<Session> {
    const existing = this.sessions.get(record.id);
    if (existing) return Promise.resolve(existing);
    let pending = this.restoring.get(record.id);
    if (!pending) {
      pending = (async () => {
        const server = this.options.createServer();
        const transport = this.createTransport(record.id);
        transport.restore(record.id);
        const session = this.register(record, server, transport);
        await server.connect(session.transport);
        restoreSession(server, { clientCapabilities: record.clientCapabilities, clientInfo: record.clientInfo });
        this.options.logger.info({ session: record.id, sub: record.sub, client_id: record.clientId }, 'session continued on this replica');
        return session;
      })().finally(() => this.restoring.delete(record.id));
      this.restoring.set(record.id, pending);
    }
    return pending;
  }

  private createTransport(id: string, onsessioninitialized?: () => Promise<void>): NodeStreamableHttpTransport {
    const transport: NodeStreamableHttpTransport = new NodeStreamableHttpTransport({
      sessionIdGenerator: () => id,
      onsessioninitialized,
      eventStore: this.options.createEventStore?.(id),
      onsessionclosed: async () => {
        await this.end(id, 'deleted by client', { closeLocal: false });
      },
    });
    transport.onclose = () => {
      this.forget(id, transport, 'transport closed');
    };
    transport.onerror = (err) => {
      this.options.logger.warn({ err, session: id }, 'transport error');
    };
    return transport;
  }

  /** Adds a live session and tags its server-initiated requests with this instance's id. */
  private register(record: SessionRecord, server: McpServer, transport: NodeStreamableHttpTransport): Session {
    const session: Session = {
      id: record.id,
      record,
      transport,
      server,
      lastSeenAt: Date.now(),
      pending: new Map(),
    };
    const send = transport.send.bind(transport);
    // Runs for every message the server sends: the SDK built it, so its shape is known and a structural
    // check does what isJSONRPCRequest's schema parse would (a request has a method and an id).
    transport.send = async (message, options) => {
      if ('method' in message && 'id' in message) {
        const wireId = `${this.instanceId}${ID_SEP}${String(message.id)}`;
        session.pending.set(wireId, message.id);
        message = { ...message, id: wireId };
      } else if ('method' in message && message.method === 'notifications/cancelled') {
        const requestId = (message.params as { requestId?: string | number } | undefined)?.requestId;
        const wire = [...session.pending.entries()].find(([, sdkId]) => sdkId === requestId)?.[0];
        if (wire) message = { ...message, params: { ...message.params, requestId: wire } };
      }
      return send(message, options);
    };
    this.sessions.set(record.id, session);
    this.options.metrics.activeSessions.set(this.sessions.size);
    return session;
  }

  /**
   * Opens a session for an initialize request and lets its transport answer it. The record is stored
   * when the SDK assigns the id (before the response is written).
   */
  async open(principal: Principal, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const id = crypto.randomUUID();
    const server = this.options.createServer();
    const params = ((body as { params?: Record<string, unknown> }).params ?? {}) as {
      protocolVersion?: string;
      capabilities?: ClientCapabilities;
      clientInfo?: Implementation;
    };
    let opened = false;
    const initialized = async () => {
      const record: SessionRecord = {
        id,
        sub: principal.sub,
        clientId: principal.clientId,
        grantId: principal.grantId,
        protocolVersion:
          params.protocolVersion && SUPPORTED_PROTOCOL_VERSIONS.includes(params.protocolVersion) ? params.protocolVersion : LATEST_PROTOCOL_VERSION,
        clientCapabilities: params.capabilities ?? {},
        clientInfo: params.clientInfo ?? { name: 'unknown', version: '0' },
        createdAt: Date.now(),
      };
      await this.store.put(record);
      this.register(record, server, transport);
      opened = true;
      this.options.logger.info({ session: id, sub: principal.sub, client_id: principal.clientId }, 'session opened');
    };
    const transport = this.createTransport(id, initialized);
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    if (!opened) {
      // The initialize request was refused (bad protocol version...): nothing to keep.
      await server.close().catch(() => {});
    }
  }

  /**
   * Client answers to server-initiated requests: ours get their SDK id back, another replica's are
   * forwarded to it. Returns the messages left for this replica's transport.
   */
  async routeResponses(session: Session, messages: JSONRPCMessage[]): Promise<JSONRPCMessage[]> {
    const keep: JSONRPCMessage[] = [];
    const forward = new Map<string, JSONRPCMessage[]>();
    for (const m of messages) {
      if ((isJSONRPCResultResponse(m) || isJSONRPCErrorResponse(m)) && typeof m.id === 'string' && m.id.includes(ID_SEP)) {
        const owner = m.id.slice(0, m.id.indexOf(ID_SEP));
        if (owner === this.instanceId) {
          const sdkId = session.pending.get(m.id);
          session.pending.delete(m.id);
          keep.push(sdkId === undefined ? m : { ...m, id: sdkId });
        } else forward.set(owner, [...(forward.get(owner) ?? []), m]);
      } else keep.push(m);
    }
    for (const [to, batch] of forward) await this.bus.publish({ type: 'rpc', id: session.id, to, messages: batch });
    return keep;
  }

  private onBusEvent(event: SessionBusEvent): void {
    if (event.type === 'closed') {
      if (this.sessions.has(event.id)) void this.release(event.id, 'ended on another replica');
      return;
    }
    if (event.type === 'rpc' && event.to === this.instanceId) {
      const session = this.sessions.get(event.id);
      if (!session) return;
      for (const m of event.messages) {
        const wireId = (m as { id?: unknown }).id;
        const sdkId = typeof wireId === 'string' ? session.pending.get(wireId) : undefined;
        if (typeof wireId === 'string') session.pending.delete(wireId);
        session.transport.onmessage?.(sdkId === undefined ? m : ({ ...m, id: sdkId } as JSONRPCMessage));
      }
    }
  }

  private forget(id: string, transport: NodeStreamableHttpTransport | undefined, reason: string): boolean {
    const session = this.sessions.get(id);
    if (!session || (transport && session.transport !== transport)) return false;
    this.sessions.delete(id);
    this.options.metrics.activeSessions.set(this.sessions.size);
    this.options.logger.info({ session: id, reason }, 'session closed');
    return true;
  }

  /** Drops this process's copy of a session (its streams close); the record stays for other replicas. */
  async release(id: string, reason: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return;
    this.forget(id, undefined, reason);
    await session.server.close().catch((err) => this.options.logger.warn({ err, session: id }, 'error closing session'));
  }

  /** Ends a session everywhere: deletes the record, tells the other replicas, closes the local copy. */
  private async end(id: string, reason: string, opts: { closeLocal?: boolean } = {}): Promise<boolean> {
    const deleted = await this.store.delete(id);
    if (this.store.shared) await this.bus.publish({ type: 'closed', id }).catch((err) => this.options.logger.warn({ err }, 'session bus publish failed'));
    const local = this.sessions.has(id);
    if (opts.closeLocal === false) this.forget(id, undefined, reason);
    else await this.release(id, reason);
    return deleted || local;
  }

  /** Ends a session (idle, revoked...), on every replica. */
  async close(id: string, reason: string): Promise<void> {
    await this.end(id, reason);
  }

  private async endAll(ids: string[], reason: string): Promise<number> {
    const ended = await Promise.all([...new Set(ids)].map((id) => this.end(id, reason)));
    return ended.filter(Boolean).length;
  }

  /** Ends every session opened under this grant (a request or notice showed the grant is gone). */
  async closeByGrant(grantId: string): Promise<number> {
    const local = [...this.sessions.values()].filter((s) => s.record.grantId === grantId).map((s) => s.id);
    // The index may still name a session that has moved on to a newer grant (a re-authorised client):
    // only sessions whose record still names this grant (or that are gone already) end.
    const indexed: string[] = [];
    for (const id of await this.store.idsByGrant(grantId)) {
      const record = await this.store.get(id);
      if (!record || record.grantId === grantId) indexed.push(id);
    }
    return this.endAll([...local, ...indexed], 'grant revoked');
  }

  /** Ends every session of a client (the client's registration was revoked). */
  async closeByClient(clientId: string): Promise<number> {
    const local = [...this.sessions.values()].filter((s) => s.record.clientId === clientId).map((s) => s.id);
    return this.endAll([...local, ...(await this.store.idsByClient(clientId))], 'client revoked');
  }

  /**
   * Idle sessions: ended (memory store) or, with a shared store, this copy released (the record's own
   * expiry, refreshed by any replica, decides when the session ends). Revoked grants: ended.
   */
  async sweep(now = Date.now()): Promise<{ idle: number; revoked: number }> {
    if (this.sweeping) return { idle: 0, revoked: 0 };
    this.sweeping = true;
    try {
      let idle = 0;
      let revoked = 0;
      for (const s of [...this.sessions.values()]) {
        if (now - s.lastSeenAt > this.options.idleTimeoutMs) {
          if (this.store.shared) await this.release(s.id, 'idle on this replica');
          else await this.close(s.id, 'idle timeout');
          idle += 1;
        }
      }
      const grants = new Set([...this.sessions.values()].map((s) => s.record.grantId).filter((g): g is string => !!g));
      for (const grantId of grants) {
        if (!(await isGrantActive(this.options.prisma, grantId))) revoked += await this.closeByGrant(grantId);
      }
      return { idle, revoked };
    } finally {
      this.sweeping = false;
    }
  }

  /** Closes the standalone SSE streams (clients reconnect, to another replica when draining). */
  closeStreams(): void {
    for (const s of this.sessions.values()) s.transport.closeStandaloneSSEStream();
  }

  /**
   * This process stops: with a shared store its copies are released and the sessions continue on the
   * other replicas; in memory they end.
   */
  async closeAll(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.store.shared) await Promise.all(this.ids().map((id) => this.release(id, 'server shutting down')));
    else await Promise.all(this.ids().map((id) => this.end(id, 'server shutting down')));
  }
}
