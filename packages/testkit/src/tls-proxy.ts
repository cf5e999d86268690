import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

export interface TlsProxy {
  /** https://localhost:<port> */
  origin: string;
  /** The proxy's self-signed certificate (PEM): what a client must trust (NODE_EXTRA_CA_CERTS). */
  certificate: string;
  close(): Promise<void>;
}

/** Where requests whose path starts with `prefix` go; `strip` removes the prefix on the way. */
export interface ProxyRoute {
  prefix: string;
  port: number;
  strip?: boolean;
}

/**
 * The certificate every proxy of a test run presents, when the run made one (TEST_TLS_CERT_FILE and
 * TEST_TLS_KEY_FILE, with NODE_EXTRA_CA_CERTS naming the certificate so every process trusts it).
 */
function sharedCertificate(): { private: string; cert: string } | undefined {
  const { TEST_TLS_CERT_FILE: cert, TEST_TLS_KEY_FILE: key } = process.env;
  return cert && key ? { cert: fs.readFileSync(cert, 'utf8'), private: fs.readFileSync(key, 'utf8') } : undefined;
}

/** A self-signed certificate for localhost, as a test's proxy presents it. */
export async function localhostCertificate(): Promise<{ private: string; cert: string }> {
  return generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
  });
}

function routeFor(routes: ProxyRoute[], url: string): { port: number; path: string } | undefined {
  const path = url.split('?')[0]!;
  const matching = routes.filter((r) => r.prefix === '/' || path === r.prefix || path.startsWith(`${r.prefix}/`)).sort((a, b) => b.prefix.length - a.prefix.length);
  const route = matching[0];
  if (!route) return undefined;
  return { port: route.port, path: route.strip && route.prefix !== '/' ? url.slice(route.prefix.length) || '/' : url };
}

/**
 * TLS terminated in front of plain-HTTP servers on loopback, as a deployment's proxy or ingress does
 * it: every request is forwarded with X-Forwarded-Proto/-Host/-For, so an app behind it that trusts
 * its proxy (TRUST_PROXY) builds https URLs, as a production issuer must. Given one port, everything
 * goes there; given routes, by the longest matching path prefix, kept or stripped.
 */
export async function startTlsProxy(upstream: number | ProxyRoute[]): Promise<TlsProxy> {
  const routes = typeof upstream === 'number' ? [{ prefix: '/', port: upstream }] : upstream;
  const pems = sharedCertificate() ?? (await localhostCertificate());
  const server = https.createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const target = routeFor(routes, req.url ?? '/');
    if (!target) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no route');
      return;
    }
    const forward = http.request(
      {
        host: '127.0.0.1',
        port: target.port,
        method: req.method,
        path: target.path,
        headers: {
          ...req.headers,
          'x-forwarded-proto': 'https',
          'x-forwarded-host': req.headers.host ?? '',
          'x-forwarded-for': req.socket.remoteAddress ?? '',
        },
      },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        // Headers go out at once, as a proxy with buffering off for streams (SSE) sends them.
        res.flushHeaders();
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://localhost:${port}`,
    certificate: pems.cert,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
