import crypto from 'node:crypto';

/** What the browser carries from "Continue with <IdP>" to the IdP's answer, signed with the cookie keys. */
export interface PendingSignIn {
  idp: string;
  state: string;
  nonce: string;
  verifier: string;
  /** Epoch ms after which the answer is refused (an abandoned sign-in). */
  exp: number;
}

export const PENDING_COOKIE = 'mcpgw_fed';
/** As long as a person may take at their IdP (password, second factor) before the answer is refused. */
export const PENDING_TTL_MS = 10 * 60_000;

const mac = (key: string, payload: string) => crypto.createHmac('sha256', key).update(payload).digest('base64url');

export function sealPending(keys: string[], pending: PendingSignIn): string {
  const payload = Buffer.from(JSON.stringify(pending)).toString('base64url');
  return `${payload}.${mac(keys[0]!, payload)}`;
}

/** The pending sign-in when the value is ours (any current cookie key) and not expired. */
export function openPending(keys: string[], value: string | undefined, now = Date.now()): PendingSignIn | undefined {
  const [payload, signature, extra] = value?.split('.') ?? [];
  if (!payload || !signature || extra !== undefined) return undefined;
  const given = Buffer.from(signature);
  const valid = keys.some((key) => {
    const expected = Buffer.from(mac(key, payload));
    return expected.length === given.length && crypto.timingSafeEqual(expected, given);
  });
  if (!valid) return undefined;
  try {
    const pending = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as PendingSignIn;
    return typeof pending.exp === 'number' && pending.exp > now ? pending : undefined;
  } catch {
    return undefined;
  }
}
