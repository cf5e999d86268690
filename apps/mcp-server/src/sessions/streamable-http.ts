import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DEFAULT_NEGOTIATED_PROTOCOL_VERSION,
  JSONRPCMessageSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  isInitializeRequest,
  type AuthInfo,
  type EventStore,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
  type Transport,
  type TransportSendOptions,
} from '../mcp/sdk.js';
import { JSONRPC, sendJsonRpcError } from '../protocol/jsonrpc.js';

/** The SSE keep-alive comment interval (the SDK's default). */
export const SSE_KEEP_ALIVE_MS = 15_000;
/** At most this many messages in one POSTed batch (the SDK's limit). */
export const MAX_BATCH_SIZE = 100;

const STANDALONE_STREAM = '_GET_stream';
const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
} as const;

export interface NodeStreamableHttpOptions {
  /** The session id to assign when the client initializes. */
  sessionIdGenerator: () => string;
  /** Called with the new id once initialize is accepted, before its answer is written. */
  onsessioninitialized?: (sessionId: string) => void | Promise<void>;
  /** Called when the client ends the session (DELETE), before the transport closes. */
  onsessionclosed?: (sessionId: string) => void | Promise<void>;
  /** Makes streams resumable (`Last-Event-ID`): every event is stored before it is written. */
  eventStore?: EventStore;
  /** Sent in the priming event's `retry:` field, in milliseconds. */
  retryInterval?: number;
  /** SSE comment interval on open streams; 0 turns it off. */
  keepAliveMs?: number;
}

/** A request with the verified AuthInfo the bearer check attached. */
export type AuthenticatedIncomingMessage = IncomingMessage & { auth?: AuthInfo };

interface SseStream {
  res: ServerResponse;
  keepAlive: NodeJS.Timeout | undefined;
  /** Events already written by a Last-Event-ID replay (a send racing the replay must not repeat them). */
  replayed?: Set<string>;
}

/**
 * The MCP Streamable HTTP transport (server side, stateful sessions) on Node's own request and
 * response, implementing the SDK's `Transport`, so `McpServer.connect` takes it as it takes the SDK's.
 *
 * Why not the SDK's `StreamableHTTPServerTransport`: in SDK 1.x it converts every request to a web
 * `Request` (validated `Headers`, an `AbortSignal`) and every answer to a web `Response` with a
 * `ReadableStream`, through @hono/node-server. Measured with the product's whole per-call work
 * (auth, session, limits, telemetry) in front, that conversion was most of a tool call's CPU: whoami
 * went from 0.6× to 1.1–1.35× the bare SDK server's echo with this transport (docs/adr/0007).
 *
 * Behaviour follows the SDK 1.32 web-standard transport it replaces, status codes and messages
 * included: POST answers requests on an SSE stream per POST (202 for notifications and responses
 * only), a priming event when an event store is given and the client speaks 2025-11-25 or later,
 * keep-alive comments, `closeSSEStream` / `closeStandaloneSSEStream` for polling, one standalone GET
 * stream per session, `Last-Event-ID` replay that takes over the resumed stream, DELETE ending the
 * session. Not implemented because the product never asks for them: JSON (non-SSE) answers,
 * stateless mode, DNS-rebinding checks (the endpoint does them before this runs).
 */
export class NodeStreamableHttpTransport implements Transport {
  sessionId: string | undefined;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  private initialized = false;
  private started = false;
  private closed = false;
  private readonly streams = new Map<string, SseStream>();
  private readonly requestStream = new Map<RequestId, string>();
  /** Requests of open streams that have their answer (a stream ends when all of its requests do). */
  private readonly answered = new Set<RequestId>();
  /** Streams whose client holds an event id: it may come back for what was sent while it was away. */
  private readonly resumable = new Set<string>();
  private readonly keepAliveMs: number;

  constructor(private readonly options: NodeStreamableHttpOptions) {
    this.keepAliveMs = options.keepAliveMs ?? SSE_KEEP_ALIVE_MS;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('Transport already started');
    this.started = true;
  }

  /**
   * Makes this transport the continuation of a session initialised earlier (on another replica, or
   * before this process restarted its copy): requests carrying `sessionId` are accepted, a second
   * initialize is refused.
   */
  restore(sessionId: string): void {
    this.sessionId = sessionId;
    this.initialized = true;
  }

  /** Serves one request of this session: POST, GET or DELETE; `body` is the parsed JSON of a POST. */
  async handleRequest(req: AuthenticatedIncomingMessage, res: ServerResponse, body?: unknown): Promise<void> {
    if (this.closed) return sendJsonRpcError(res, 404, JSONRPC.SESSION_NOT_FOUND, 'Session not found');
    switch (req.method) {
      case 'POST':
        return this.handlePost(req, res, body);
      case 'GET':
        return this.handleGet(req, res);
      case 'DELETE':
        return this.handleDelete(req, res);
      default:
        this.onerror?.(new Error('Method not allowed.'));
        res.setHeader('Allow', 'GET, POST, DELETE');
        return sendJsonRpcError(res, 405, JSONRPC.SERVER_ERROR, 'Method not allowed.');
    }
  }

  private async handlePost(req: AuthenticatedIncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const accept = header(req, 'accept');
    if (!accept?.includes('application/json') || !accept.includes('text/event-stream')) {
      return this.refuse(res, 406, JSONRPC.SERVER_ERROR, 'Not Acceptable: Client must accept both application/json and text/event-stream');
    }
    if (Array.isArray(body) && body.length > MAX_BATCH_SIZE) {
      return this.refuse(res, 400, JSONRPC.INVALID_REQUEST, `Invalid Request: Batch must not exceed ${MAX_BATCH_SIZE} messages`);
    }
    let messages: JSONRPCMessage[];
    try {
      messages = (Array.isArray(body) ? body : [body]).map((m) => JSONRPCMessageSchema.parse(m));
    } catch {
      return this.refuse(res, 400, JSONRPC.PARSE_ERROR, 'Parse error: Invalid JSON-RPC message');
    }
    // The schema check only for what names itself initialize: a failed parse is the costly path.
    const init = messages.find((m) => 'method' in m && m.method === 'initialize' && isInitializeRequest(m));
    if (init) {
      if (this.initialized && this.sessionId !== undefined) {
        return this.refuse(res, 400, JSONRPC.INVALID_REQUEST, 'Invalid Request: Server already initialized');
      }
      if (messages.length > 1) {
        return this.refuse(res, 400, JSONRPC.INVALID_REQUEST, 'Invalid Request: Only one initialization request is allowed');
      }
      this.sessionId = this.options.sessionIdGenerator();
      this.initialized = true;
      await this.options.onsessioninitialized?.(this.sessionId);
    } else if (!this.validSession(req, res) || !this.validProtocolVersion(req, res)) {
      return;
    }
    if (this.closed) return sendJsonRpcError(res, 404, JSONRPC.SESSION_NOT_FOUND, 'Session not found');

    const authInfo = req.auth;
    const requestInfo = requestInfoOf(req);
    const requests = messages.filter(isRequest);
    if (requests.length === 0) {
      res.statusCode = 202;
      res.end();
      for (const message of messages) this.onmessage?.(message, { authInfo, requestInfo });
      return;
    }

    const streamId = crypto.randomUUID();
    const protocolVersion = init
      ? String((init as { params?: { protocolVersion?: unknown } }).params?.protocolVersion ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION)
      : (header(req, 'mcp-protocol-version') ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION);
    this.openStream(streamId, res);
    for (const request of requests) this.requestStream.set(request.id, streamId);
    const pollable = this.options.eventStore !== undefined && protocolVersion >= '2025-11-25';
    try {
      if (pollable) await this.writePrimingEvent(streamId, res);
      for (const message of messages) {
        const extra: MessageExtraInfo = { authInfo, requestInfo };
        if (pollable && isRequest(message)) {
          extra.closeSSEStream = () => this.closeSSEStream(message.id);
          extra.closeStandaloneSSEStream = () => this.closeStandaloneSSEStream();
        }
        this.onmessage?.(message, extra);
      }
    } catch (err) {
      this.closeStream(streamId, res);
      this.resumable.delete(streamId);
      for (const request of requests) this.requestStream.delete(request.id);
      throw err;
    }
    const stream = this.streams.get(streamId);
    if (stream?.res === res) stream.keepAlive = this.startKeepAlive(res);
  }

  private async handleGet(req: AuthenticatedIncomingMessage, res: ServerResponse): Promise<void> {
    if (!header(req, 'accept')?.includes('text/event-stream')) {
      return this.refuse(res, 406, JSONRPC.SERVER_ERROR, 'Not Acceptable: Client must accept text/event-stream');
    }
    if (!this.validSession(req, res) || !this.validProtocolVersion(req, res)) return;
    const lastEventId = this.options.eventStore ? header(req, 'last-event-id') : undefined;
    if (lastEventId) return this.replay(lastEventId, res);
    if (this.streams.has(STANDALONE_STREAM)) {
      return this.refuse(res, 409, JSONRPC.SERVER_ERROR, 'Conflict: Only one SSE stream is allowed per session');
    }
    this.openStream(STANDALONE_STREAM, res);
    const stream = this.streams.get(STANDALONE_STREAM);
    if (stream) stream.keepAlive = this.startKeepAlive(res);
  }

  /** Writes the stored events after `lastEventId`, then makes this response the live one for that stream. */
  private async replay(lastEventId: string, res: ServerResponse): Promise<void> {
    const store = this.options.eventStore!;
    try {
      if (store.getStreamIdForEventId) {
        const known = await store.getStreamIdForEventId(lastEventId);
        if (!known) return this.refuse(res, 400, JSONRPC.SERVER_ERROR, 'Invalid event ID format');
        if (this.streams.has(known)) return this.refuse(res, 409, JSONRPC.SERVER_ERROR, 'Conflict: Stream already has an active connection');
      }
      this.writeSseHead(res);
      const replayed = new Set<string>();
      const streamId = await store.replayEventsAfter(lastEventId, {
        send: async (eventId, message) => {
          if (writeEvent(res, message, eventId)) replayed.add(eventId);
          else this.onerror?.(new Error('Failed replay events'));
        },
      });
      if (this.closed || res.destroyed) {
        res.end();
        return;
      }
      const previous = this.streams.get(streamId);
      if (previous) this.closeStream(streamId, previous.res);
      this.streams.set(streamId, { res, keepAlive: this.startKeepAlive(res), replayed });
      this.watch(streamId, res);
      // The resume itself proves the client holds a cursor for this stream.
      this.resumable.add(streamId);
    } catch (err) {
      this.onerror?.(err as Error);
      sendJsonRpcError(res, 500, JSONRPC.SERVER_ERROR, 'Error replaying events');
    }
  }

  private async handleDelete(req: AuthenticatedIncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.validSession(req, res) || !this.validProtocolVersion(req, res)) return;
    try {
      await this.options.onsessionclosed?.(this.sessionId!);
      res.statusCode = 200;
      res.end();
    } finally {
      await this.close();
    }
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const response = isResponse(message);
    const requestId = response ? (message as { id: RequestId }).id : options?.relatedRequestId;
    const store = this.options.eventStore;

    if (requestId === undefined) {
      // Not tied to a request: the standalone GET stream, stored even while it is not connected.
      if (response) throw new Error('Cannot send a response on a standalone SSE stream unless resuming a previous client request');
      const eventId = store ? await store.storeEvent(STANDALONE_STREAM, message) : undefined;
      const stream = this.streams.get(STANDALONE_STREAM);
      if (stream && (eventId === undefined || !stream.replayed?.has(eventId))) writeEvent(stream.res, message, eventId);
      return;
    }

    const streamId = this.requestStream.get(requestId);
    if (!streamId) throw new Error(`No connection established for request ID: ${String(requestId)}`);
    // Stored even when the client is away (closeSSEStream, a dropped connection), for its resume;
    // the stream is looked up after the store's await, as a resume may have replaced it meanwhile.
    const eventId = store ? await store.storeEvent(streamId, message) : undefined;
    let related: RequestId[] = [];
    let complete = false;
    if (response) {
      this.answered.add(requestId);
      related = [...this.requestStream].filter(([, sid]) => sid === streamId).map(([id]) => id);
      complete = related.every((id) => this.answered.has(id));
    }
    const stream = this.streams.get(streamId);
    if (stream && (eventId === undefined || !stream.replayed?.has(eventId))) {
      // The last answer of a stream goes out with the end of the stream, in one write.
      if (writeEvent(stream.res, message, eventId, complete) && eventId !== undefined) this.resumable.add(streamId);
    }
    if (!complete) return;
    for (const id of related) {
      this.answered.delete(id);
      this.requestStream.delete(id);
    }
    const wasResumable = this.resumable.delete(streamId);
    if (stream) this.closeStream(streamId, stream.res);
    else if (!this.closed && !(store && wasResumable)) {
      throw new Error(`No connection established for request ID: ${String(requestId)}`);
    }
  }

  /** Ends the SSE stream of a request: the client resumes it later with Last-Event-ID (polling). */
  closeSSEStream(requestId: RequestId): void {
    const streamId = this.requestStream.get(requestId);
    const stream = streamId ? this.streams.get(streamId) : undefined;
    if (streamId && stream) this.closeStream(streamId, stream.res);
  }

  /** Ends the standalone GET stream: the client opens it again. */
  closeStandaloneSSEStream(): void {
    const stream = this.streams.get(STANDALONE_STREAM);
    if (stream) this.closeStream(STANDALONE_STREAM, stream.res);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [streamId, stream] of [...this.streams]) this.closeStream(streamId, stream.res);
    this.streams.clear();
    this.answered.clear();
    this.resumable.clear();
    this.onclose?.();
  }

  // ------------------------------------------------------------------------------------------------

  private validSession(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.initialized) {
      this.refuse(res, 400, JSONRPC.SERVER_ERROR, 'Bad Request: Server not initialized');
      return false;
    }
    const sessionId = header(req, 'mcp-session-id');
    if (!sessionId) {
      this.refuse(res, 400, JSONRPC.SERVER_ERROR, 'Bad Request: Mcp-Session-Id header is required');
      return false;
    }
    if (sessionId !== this.sessionId) {
      this.refuse(res, 404, JSONRPC.SESSION_NOT_FOUND, 'Session not found');
      return false;
    }
    return true;
  }

  /** A request after initialize may name the protocol version; an unsupported one is refused. */
  private validProtocolVersion(req: IncomingMessage, res: ServerResponse): boolean {
    const version = header(req, 'mcp-protocol-version');
    if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      this.refuse(
        res,
        400,
        JSONRPC.SERVER_ERROR,
        `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`,
      );
      return false;
    }
    return true;
  }

  private refuse(res: ServerResponse, status: number, code: number, message: string): void {
    this.onerror?.(new Error(message));
    sendJsonRpcError(res, status, code, message);
  }

  private writeSseHead(res: ServerResponse): void {
    const headers: Record<string, string> = { ...SSE_HEADERS };
    if (this.sessionId !== undefined) headers['mcp-session-id'] = this.sessionId;
    res.writeHead(200, headers);
    // The client learns at once that its request was taken (a tool may run for a while).
    res.flushHeaders();
  }

  private openStream(streamId: string, res: ServerResponse): void {
    this.writeSseHead(res);
    this.streams.set(streamId, { res, keepAlive: undefined });
    this.watch(streamId, res);
  }

  /** A client that goes away leaves the stream: what follows is stored for its resume, not written. */
  private watch(streamId: string, res: ServerResponse): void {
    res.once('close', () => {
      const stream = this.streams.get(streamId);
      if (stream?.res !== res) return;
      if (stream.keepAlive) clearInterval(stream.keepAlive);
      this.streams.delete(streamId);
    });
  }

  private closeStream(streamId: string, res: ServerResponse): void {
    const stream = this.streams.get(streamId);
    if (stream?.res === res) {
      if (stream.keepAlive) clearInterval(stream.keepAlive);
      this.streams.delete(streamId);
    }
    if (!res.writableEnded) res.end();
  }

  private async writePrimingEvent(streamId: string, res: ServerResponse): Promise<void> {
    const eventId = await this.options.eventStore!.storeEvent(streamId, {} as JSONRPCMessage);
    const retry = this.options.retryInterval !== undefined ? `retry: ${this.options.retryInterval}\n` : '';
    if (!res.writableEnded) res.write(`id: ${eventId}\n${retry}data: \n\n`);
    this.resumable.add(streamId);
  }

  private startKeepAlive(res: ServerResponse): NodeJS.Timeout | undefined {
    if (this.closed || !Number.isFinite(this.keepAliveMs) || this.keepAliveMs < 1) return undefined;
    const timer = setInterval(() => {
      if (res.writableEnded || res.destroyed) clearInterval(timer);
      else res.write(': keepalive\n\n');
    }, Math.min(this.keepAliveMs, 2 ** 31 - 1));
    timer.unref();
    return timer;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function isRequest(m: JSONRPCMessage): m is JSONRPCMessage & { id: RequestId; method: string } {
  return 'method' in m && 'id' in m;
}

function isResponse(m: JSONRPCMessage): boolean {
  return !('method' in m) && 'id' in m && ('result' in m || 'error' in m);
}

/** What handlers see of the HTTP request; the URL is built only if someone reads it. */
function requestInfoOf(req: IncomingMessage): NonNullable<MessageExtraInfo['requestInfo']> {
  let url: URL | undefined;
  return {
    headers: req.headers as Record<string, string | string[] | undefined> as never,
    get url() {
      url ??= new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
      return url;
    },
  };
}

/** One SSE `message` event, and the end of the stream when `last`; false when the response is already gone. */
function writeEvent(res: ServerResponse, message: JSONRPCMessage, eventId: string | undefined, last = false): boolean {
  if (res.writableEnded || res.destroyed) return false;
  const event = `event: message\n${eventId !== undefined ? `id: ${eventId}\n` : ''}data: ${JSON.stringify(message)}\n\n`;
  if (last) res.end(event);
  else res.write(event);
  return true;
}
