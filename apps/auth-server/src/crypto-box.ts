import crypto from 'node:crypto';

/**
 * Seals secrets stored in the database (private signing keys, cookie keys) with AES-256-GCM under
 * KEY_ENCRYPTION_KEY, so a database dump alone cannot sign tokens. Without a key (local development)
 * values are stored as `plain:` and a warning is logged at start.
 */
export class SecretBox {
  private readonly key: Buffer | undefined;

  constructor(keyBase64: string | undefined) {
    this.key = keyBase64 ? Buffer.from(keyBase64, 'base64') : undefined;
  }

  get encrypting(): boolean {
    return this.key !== undefined;
  }

  seal(plaintext: string): string {
    if (!this.key) return `plain:${plaintext}`;
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `v1:${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64url')}`;
  }

  open(sealed: string): string {
    if (sealed.startsWith('plain:')) return sealed.slice('plain:'.length);
    if (!sealed.startsWith('v1:')) throw new Error('unknown sealed secret format');
    if (!this.key) throw new Error('a sealed secret was found but KEY_ENCRYPTION_KEY is not set');
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}
