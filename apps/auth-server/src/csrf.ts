import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import { cookiePath } from './site-path.js';

const COOKIE = 'mcpgw_csrf';

/**
 * Double-submit CSRF protection for server-rendered forms: a random value in a SameSite=Strict,
 * HttpOnly cookie must come back in the form. A cross-site page can neither read nor set it.
 */
export function issueCsrfToken(req: Request, res: Response, secure: boolean): string {
  const existing = readCookie(req, COOKIE);
  const token = existing && /^[A-Za-z0-9_-]{32,64}$/.test(existing) ? existing : crypto.randomBytes(24).toString('base64url');
  res.cookie(COOKIE, token, { httpOnly: true, sameSite: 'strict', secure, path: cookiePath() });
  return token;
}

export function verifyCsrfToken(req: Request): boolean {
  const cookie = readCookie(req, COOKIE);
  const submitted = typeof req.body?.csrf === 'string' ? req.body.csrf : req.get('x-csrf-token');
  if (!cookie || typeof submitted !== 'string' || cookie.length !== submitted.length) return false;
  return crypto.timingSafeEqual(Buffer.from(cookie), Buffer.from(submitted));
}

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
