import crypto from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

/** A DPoP key pair as a client holds it (RFC 9449 §4): the private key never leaves it. */
export interface DpopKey {
  privateKey: CryptoKey;
  jwk: JWK;
  /** The JWK SHA-256 thumbprint: what `cnf.jkt` of a token bound to this key says. */
  jkt: string;
}

export async function dpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey: privateKey as CryptoKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

/** A DPoP proof for one request; with `accessToken`, bound to it (`ath`). */
export function dpopProof(key: DpopKey, request: { method: string; url: string; accessToken?: string; nonce?: string }): Promise<string> {
  const claims: Record<string, unknown> = { htm: request.method, htu: request.url, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID() };
  if (request.accessToken) claims.ath = crypto.createHash('sha256').update(request.accessToken).digest('base64url');
  if (request.nonce) claims.nonce = request.nonce;
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk }).sign(key.privateKey);
}
