import type { Redis } from 'ioredis';
import type { EventStore, JSONRPCMessage } from '../mcp/sdk.js';

/**
 * SSE event stores (the SDK's EventStore) for Last-Event-ID resumption, one per session: the SDK's
 * stream ids ("_GET_stream", or one UUID per POST) are only unique within a session, so every store is
 * scoped by its session id and a Last-Event-ID can only replay events of the session it is sent on
 * (whose ownership the session manager already checked).
 *
 * Event ids are `<streamId>|<position>`. Both stores keep at most `maxEvents` per stream and forget a
 * stream `ttlMs` after its last event. The SDK stores an empty priming event ({}) first on each
 * resumable stream; it is never replayed.
 */
export interface EventStoreLimits {
  maxEvents: number;
  ttlMs: number;
}

const SEP = '|';

function parseEventId(eventId: string): { streamId: string; position: string } | undefined {
  const at = eventId.lastIndexOf(SEP);
  if (at <= 0 || at === eventId.length - 1) return undefined;
  return { streamId: eventId.slice(0, at), position: eventId.slice(at + 1) };
}

const isMessage = (m: unknown): m is JSONRPCMessage => !!m && typeof m === 'object' && (m as { jsonrpc?: unknown }).jsonrpc === '2.0';

/** One process (no REDIS_URL): bounded, expiring, lives as long as the session's transport. */
export class MemoryEventStore implements EventStore {
  private readonly streams = new Map<string, { events: { seq: number; message: JSONRPCMessage | Record<string, never> }[]; touchedAt: number }>();
  private seq = 0;

  constructor(
    private readonly limits: EventStoreLimits,
    private readonly maxStreams = 100,
  ) {}

  /**
   * The map is kept in order of last use (a touched stream is moved to the end), so the expired and the
   * surplus streams are always at the front: pruning costs nothing per event in a long session.
   */
  private prune(now: number): void {
    for (const [id, s] of this.streams) {
      if (now - s.touchedAt <= this.limits.ttlMs && this.streams.size <= this.maxStreams) break;
      this.streams.delete(id);
    }
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const now = Date.now();
    let stream = this.streams.get(streamId);
    if (stream) this.streams.delete(streamId);
    else stream = { events: [], touchedAt: now };
    this.streams.set(streamId, stream);
    const seq = ++this.seq;
    stream.events.push({ seq, message });
    if (stream.events.length > this.limits.maxEvents) stream.events.splice(0, stream.events.length - this.limits.maxEvents);
    stream.touchedAt = now;
    this.prune(now);
    return `${streamId}${SEP}${seq}`;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return parseEventId(eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const parsed = parseEventId(lastEventId);
    if (!parsed) return '';
    this.prune(Date.now());
    const after = Number(parsed.position);
    for (const e of this.streams.get(parsed.streamId)?.events ?? []) {
      if (e.seq > after && isMessage(e.message)) await send(`${parsed.streamId}${SEP}${e.seq}`, e.message);
    }
    return parsed.streamId;
  }
}

/**
 * Shared by the replicas (REDIS_URL): one Redis stream per SSE stream, `mcp:events:<session>:<stream>`,
 * capped with MAXLEN and expiring (PEXPIRE on every event), so a client may resume on any replica.
 */
export class RedisEventStore implements EventStore {
  constructor(
    private readonly redis: Redis,
    private readonly sessionId: string,
    private readonly limits: EventStoreLimits,
  ) {}

  private key(streamId: string): string {
    return `mcp:events:${this.sessionId}:${streamId}`;
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    try {
      return await this.storeInRedis(streamId, message);
    } catch {
      // Redis unreachable: the message is still delivered, only its resumption is lost (an id that
      // replays nothing), rather than failing the request.
      return `${streamId}${SEP}unstored-${Date.now()}`;
    }
  }

  private async storeInRedis(streamId: string, message: JSONRPCMessage): Promise<string> {
    const key = this.key(streamId);
    const results = await this.redis
      .multi()
      .xadd(key, 'MAXLEN', String(this.limits.maxEvents), '*', 'm', JSON.stringify(message))
      .pexpire(key, this.limits.ttlMs)
      .exec();
    const [err, id] = results?.[0] ?? [new Error('no reply')];
    if (err || typeof id !== 'string') throw err ?? new Error('XADD returned no id');
    return `${streamId}${SEP}${id}`;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return parseEventId(eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const parsed = parseEventId(lastEventId);
    if (!parsed || !/^\d+-\d+$/.test(parsed.position)) return '';
    const entries = await this.redis.xrange(this.key(parsed.streamId), `(${parsed.position}`, '+');
    for (const [id, fields] of entries) {
      const at = fields.indexOf('m');
      if (at < 0) continue;
      let message: unknown;
      try {
        message = JSON.parse(fields[at + 1] ?? '');
      } catch {
        continue;
      }
      if (isMessage(message)) await send(`${parsed.streamId}${SEP}${id}`, message);
    }
    return parsed.streamId;
  }
}
