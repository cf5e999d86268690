import fs from 'node:fs';
import net from 'node:net';

/** Where Linux takes the local ports of outgoing connections from (net.ipv4.ip_local_port_range). */
function ephemeralRangeStart(): number | undefined {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : undefined;
  } catch {
    return undefined;
  }
}

const RANGE_START = 10_000;
const RANGE_END = ephemeralRangeStart();
const given = new Set<number>();

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A free TCP port on loopback (servers whose public URL must contain their port need it up front).
 * Taken below the ephemeral range where there is one: a port the kernel picked with listen(0) can be
 * taken by any outgoing connection (a fetch, a database socket) before the server binds it.
 */
export async function freePort(): Promise<number> {
  const end = RANGE_END;
  if (end !== undefined && end > RANGE_START + 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = RANGE_START + Math.floor(Math.random() * (end - RANGE_START));
      if (given.has(port)) continue;
      if ((await listenOnce(port)) === port) {
        given.add(port);
        return port;
      }
    }
  }
  const port = await listenOnce(0);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return port;
}
