import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Who holds an embedded data folder, as written in its lock file. */
export interface OwnerInfo {
  pid: number;
  hostname: string;
  /** What the owner is ("system", "admin-cli", …), for the message a second opener gets. */
  role: string;
  /** Directory of the owner's `.s.PGSQL.5432` socket (the `host` a PostgreSQL client is given). */
  socketDir: string;
  startedAt: string;
}

/** A second process asked to own a data folder that a live process owns. */
export class EmbeddedDatabaseBusy extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: OwnerInfo,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by process ${owner.pid} (${owner.role}, since ${owner.startedAt}). ` +
        `Only one process opens it; others reach it through that one (pnpm admin does). ` +
        `Stop process ${owner.pid} first, or use another DATA_DIR.`,
    );
    this.name = 'EmbeddedDatabaseBusy';
  }
}

/** The socket port number PostgreSQL clients put in the file name (`.s.PGSQL.<port>`). */
export const SOCKET_PORT = 5432;
/** sockaddr_un holds 108 bytes on Linux (104 on macOS), the terminating NUL included. */
const MAX_SOCKET_PATH = 100;

export interface OwnerPaths {
  /** `<data folder>.owner/`: the lock file and, when its path is short enough, the socket. */
  runDir: string;
  lockFile: string;
  socketDir: string;
  socketPath: string;
}

export function ownerPaths(dataDir: string): OwnerPaths {
  const runDir = `${dataDir}.owner`;
  let socketDir = runDir;
  if (path.join(socketDir, `.s.PGSQL.${SOCKET_PORT}`).length > MAX_SOCKET_PATH) {
    // A deep DATA_DIR: the socket goes to a private directory named after the folder.
    socketDir = path.join(os.tmpdir(), `mcp-gw-${crypto.createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`);
  }
  return { runDir, lockFile: path.join(runDir, 'owner.json'), socketDir, socketPath: path.join(socketDir, `.s.PGSQL.${SOCKET_PORT}`) };
}

/** The folder's owner if one is alive (a lock left by a killed process does not count). */
export function readLiveOwner(dataDir: string): OwnerInfo | undefined {
  const { lockFile } = ownerPaths(dataDir);
  let info: OwnerInfo;
  try {
    info = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as OwnerInfo;
  } catch {
    return undefined;
  }
  return isAlive(info) ? info : undefined;
}

function isAlive(info: OwnerInfo): boolean {
  if (!Number.isInteger(info.pid) || info.pid <= 0) return false;
  // Another machine sharing the folder: we cannot tell, so it stands.
  if (info.hostname !== os.hostname()) return true;
  if (info.pid === process.pid) return true;
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function privateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = fs.statSync(dir);
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) {
    throw new Error(`${dir} belongs to another user: the embedded database's socket must be private`);
  }
  fs.chmodSync(dir, 0o700);
}

/**
 * Makes this process the folder's single owner, or throws EmbeddedDatabaseBusy naming the live one.
 * The lock file appears complete or not at all (written aside, then hard-linked into place, which
 * fails if another process got there first); one left by a dead process is taken over.
 */
export function acquireOwnerLock(dataDir: string, role: string): { paths: OwnerPaths; release(): void } {
  const paths = ownerPaths(dataDir);
  privateDir(paths.runDir);
  if (paths.socketDir !== paths.runDir) privateDir(paths.socketDir);
  const info: OwnerInfo = { pid: process.pid, hostname: os.hostname(), role, socketDir: paths.socketDir, startedAt: new Date().toISOString() };
  const draft = `${paths.lockFile}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  fs.writeFileSync(draft, JSON.stringify(info), { mode: 0o600 });
  try {
    let linked = false;
    for (let attempt = 0; attempt < 2 && !linked; attempt++) {
      try {
        fs.linkSync(draft, paths.lockFile);
        linked = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = readLiveOwner(dataDir);
        if (owner) throw new EmbeddedDatabaseBusy(dataDir, owner);
        fs.rmSync(paths.lockFile, { force: true }); // left by a process that is gone
      }
    }
    if (!linked) throw new EmbeddedDatabaseBusy(dataDir, readLiveOwner(dataDir) ?? info);
  } finally {
    fs.rmSync(draft, { force: true });
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      const current = JSON.parse(fs.readFileSync(paths.lockFile, 'utf8')) as OwnerInfo;
      if (current.pid === process.pid) fs.rmSync(paths.lockFile, { force: true });
    } catch {
      // already gone
    }
    // A socket directory of its own (deep DATA_DIR) is empty now unless the next owner already uses it.
    if (paths.socketDir !== paths.runDir) {
      try {
        fs.rmdirSync(paths.socketDir);
      } catch {
        // not empty or gone
      }
    }
  };
  process.on('exit', release);
  return { paths, release };
}
