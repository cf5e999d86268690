// Uses PGlite's `_runExclusiveTransaction` / `_runExclusiveQuery` (@electric-sql/pglite, pglite.ts) to
// hold the single backend for one client's transaction, as pglite-query.ts does for one statement.
import fs from 'node:fs';
import net from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

export interface Notification {
  channel: string;
  payload: string;
}

export interface WireServerOptions {
  /** Unix socket file to listen on (its directory should be private to the owner's user). */
  socketPath: string;
  /**
   * Called after a client's exchange that committed work, before the client reads its answer, with
   * the notifications that exchange raised: the owner applies them before the other process goes on.
   */
  onCommitted?: (info: { wrote: boolean; notifications: Notification[] }) => Promise<void>;
  /** How long a client may sit inside an open transaction, holding the database, before it is cut off. */
  idleInTransactionMs?: number;
}

export interface WireServer {
  readonly socketPath: string;
  /** Connections now open. */
  readonly connections: number;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** Command tags that change nothing (anything else counts as a write for onCommitted). */
const READ_TAGS = /^(SELECT|SHOW|BEGIN|COMMIT|ROLLBACK|SET|RESET|FETCH|DECLARE|CLOSE|LISTEN|UNLISTEN|DISCARD|DEALLOCATE|PREPARE|START TRANSACTION|SAVEPOINT|RELEASE|EXPLAIN)\b/;

/**
 * Serves the owner's PGlite over the PostgreSQL wire protocol on a Unix socket, so every other
 * process (admin CLI, migrations, a separately started app) takes the PostgreSQL code path.
 *
 * Why not `@electric-sql/pglite-socket`: its handler holds PGlite's lock for as long as a client stays
 * connected, which would stall the owner's own requests for the whole life of an admin command. Here
 * the lock is held per transaction: from a client's first message until PGlite answers ReadyForQuery
 * outside a transaction, so the owner and the clients interleave at transaction boundaries.
 */
export async function startWireServer(pglite: PGlite, options: WireServerOptions): Promise<WireServer> {
  const idleMs = options.idleInTransactionMs ?? 15_000;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveConnection(pglite, socket, options, idleMs);
  });
  // A socket file left by an owner that was killed: the lock already told us it is not in use.
  fs.rmSync(options.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  fs.chmodSync(options.socketPath, 0o600);
  return {
    socketPath: options.socketPath,
    get connections() {
      return sockets.size;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      fs.rmSync(options.socketPath, { force: true });
    },
  };
}

/** Holds PGlite's transaction and statement locks until the returned function is called. */
function holdDatabase(pglite: PGlite): Promise<() => void> {
  return new Promise((acquired, failed) => {
    pglite
      ._runExclusiveTransaction(() => pglite._runExclusiveQuery(() => new Promise<void>((release) => acquired(release))))
      .catch(failed);
  });
}

function serveConnection(pglite: PGlite, socket: net.Socket, options: WireServerOptions, idleMs: number): void {
  let buffer: Buffer = Buffer.alloc(0);
  let started = false;
  let release: (() => void) | undefined;
  let busy = Promise.resolve();
  let idleTimer: NodeJS.Timeout | undefined;
  let ended = false;
  // Writes inside an open transaction count once it ends.
  let wroteInTransaction = false;

  const rollbackAndRelease = () => {
    clearTimeout(idleTimer);
    if (!release) return;
    if (!pglite.closed) {
      try {
        pglite.execProtocolRawSync(simpleQuery('ROLLBACK'));
      } catch {
        // the backend is gone; nothing to undo
      }
    }
    release();
    release = undefined;
  };
  const end = () => {
    if (ended) return;
    ended = true;
    // Wait for an exchange under way, then undo what the client left open.
    busy = busy.then(rollbackAndRelease);
    socket.destroy();
  };

  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    busy = busy.then(() => drain()).catch(() => end());
  });
  socket.on('error', end);
  socket.on('close', end);

  async function drain(): Promise<void> {
    if (ended) return;
    if (!started) {
      if (buffer.length < 8) return;
      const length = buffer.readInt32BE(0);
      if (buffer.length < length) return;
      const code = buffer.readInt32BE(4);
      const packet = buffer.subarray(0, length);
      buffer = buffer.subarray(length);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        socket.write('N'); // no TLS on a local socket
        return drain();
      }
      if (code === CANCEL_REQUEST) return end();
      started = true;
      await exchange(packet);
      return drain();
    }
    // Whole messages only: a message may arrive in pieces, or several in one chunk.
    let end_ = 0;
    let terminate = false;
    while (buffer.length - end_ >= 5) {
      const length = buffer.readInt32BE(end_ + 1);
      if (buffer.length - end_ < 1 + length) break;
      if (buffer[end_] === 0x58 /* X: Terminate */) {
        terminate = true;
        break;
      }
      end_ += 1 + length;
    }
    const messages = buffer.subarray(0, end_);
    buffer = terminate ? Buffer.alloc(0) : buffer.subarray(end_);
    if (messages.length) await exchange(messages);
    if (terminate) end();
  }

  async function exchange(messages: Uint8Array): Promise<void> {
    clearTimeout(idleTimer);
    release ??= await holdDatabase(pglite);
    if (ended || pglite.closed) {
      rollbackAndRelease();
      return end();
    }
    const reply = Buffer.from(pglite.execProtocolRawSync(messages));
    const parsed = readReply(reply);
    const { status, notifications } = parsed;
    const wrote = parsed.wrote || wroteInTransaction;
    if (status === 'I') {
      release();
      release = undefined;
      wroteInTransaction = false;
      if ((wrote || notifications.length) && options.onCommitted) {
        await options.onCommitted({ wrote, notifications }).catch(() => {});
      }
    } else {
      wroteInTransaction = wrote;
      // Inside a transaction (or between a Parse and its Sync): nobody else may run meanwhile, so a
      // client that goes quiet here is cut off rather than stall the owner.
      idleTimer = setTimeout(() => {
        if (socket.writable) socket.write(fatal('25P03', 'terminating connection: idle in transaction on the embedded database for too long'));
        end();
      }, idleMs).unref();
    }
    if (reply.length && socket.writable) socket.write(reply);
  }
}

/** The last ReadyForQuery status, the notifications and whether a command changed anything. */
function readReply(reply: Buffer): { status?: string; notifications: Notification[]; wrote: boolean } {
  let status: string | undefined;
  let wrote = false;
  const notifications: Notification[] = [];
  let at = 0;
  while (reply.length - at >= 5) {
    const type = reply[at]!;
    const length = reply.readInt32BE(at + 1);
    const body = reply.subarray(at + 5, at + 1 + length);
    if (type === 0x5a /* Z */) status = String.fromCharCode(body[0]!);
    else if (type === 0x43 /* C: CommandComplete */) {
      if (!READ_TAGS.test(body.toString('utf8', 0, body.length - 1))) wrote = true;
    } else if (type === 0x41 /* A: NotificationResponse */) {
      const channelEnd = body.indexOf(0, 4);
      notifications.push({ channel: body.toString('utf8', 4, channelEnd), payload: body.toString('utf8', channelEnd + 1, body.length - 1) });
    }
    at += 1 + length;
  }
  return { status, notifications, wrote };
}

function simpleQuery(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, 'utf8');
  const out = Buffer.alloc(5 + text.length);
  out[0] = 0x51; // Q
  out.writeInt32BE(4 + text.length, 1);
  text.copy(out, 5);
  return out;
}

function fatal(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`, 'utf8');
  const out = Buffer.alloc(5 + fields.length);
  out[0] = 0x45; // E
  out.writeInt32BE(4 + fields.length, 1);
  fields.copy(out, 5);
  return out;
}
