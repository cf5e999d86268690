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

/**
 * TLS terminated in front of a plain-HTTP server on loopback, as a deployment's proxy or ingress does
 * it: every request is forwarded with X-Forwarded-Proto/-Host/-For, so an app behind it that trusts
 * its proxy (TRUST_PROXY) builds https URLs, as a production issuer must.
 */
export async function startTlsProxy(upstreamPort: number): Promise<TlsProxy> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
  });
  const server = https.createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const forward = http.request(
      {
        host: '127.0.0.1',
        port: upstreamPort,
        method: req.method,
        path: req.url,
        headers: {
          ...req.headers,
          'x-forwarded-proto': 'https',
          'x-forwarded-host': req.headers.host ?? '',
          'x-forwarded-for': req.socket.remoteAddress ?? '',
        },
      },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
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
