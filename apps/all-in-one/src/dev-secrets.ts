import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface DevSecrets {
  keyEncryptionKey: string;
  demoPassword: string;
}

/**
 * For the single-machine default only: secrets generated on first start and kept in the data folder
 * (mode 0600, git-ignored) so the demo login and sealed keys survive restarts without any set-up.
 * Deployments pass KEY_ENCRYPTION_KEY and never use this file.
 */
export function loadOrCreateDevSecrets(dataDir: string): DevSecrets {
  const file = path.join(dataDir, 'dev-secrets.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as DevSecrets;
  fs.mkdirSync(dataDir, { recursive: true });
  const secrets: DevSecrets = {
    keyEncryptionKey: crypto.randomBytes(32).toString('base64'),
    demoPassword: crypto.randomBytes(9).toString('base64url'),
  };
  fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
