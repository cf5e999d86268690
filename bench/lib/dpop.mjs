// DPoP proofs (RFC 9449) as a client makes them, with node:crypto: ES256 over P-256.
import crypto from 'node:crypto';

/** A fresh key pair; `privateJwk` can cross a process boundary (the bench's own key, nobody else's). */
export function createDpopKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return dpopKeyFrom(privateKey.export({ format: 'jwk' }));
}

export function dpopKeyFrom(privateJwk) {
  const { kty, crv, x, y } = privateJwk;
  return { privateKey: crypto.createPrivateKey({ key: privateJwk, format: 'jwk' }), privateJwk, publicJwk: { kty, crv, x, y } };
}

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A proof for one request; with `accessToken`, bound to it (ath). */
export function dpopProof(key, { method, url, accessToken }) {
  const claims = { htm: method, htu: url, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID() };
  if (accessToken) claims.ath = crypto.createHash('sha256').update(accessToken).digest('base64url');
  const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk })}.${b64(claims)}`;
  const signature = crypto.sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
