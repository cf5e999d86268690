// One certificate for every TLS proxy of the run, trusted by every process the run starts (test
// workers included: they are forked after this, with this environment), as a deployment trusts its
// internal CA.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { localhostCertificate } from '@mcp-gw/testkit';

export default async function setup(): Promise<() => void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpgw-e2e-tls-'));
  const pems = await localhostCertificate();
  fs.writeFileSync(path.join(dir, 'cert.pem'), pems.cert);
  fs.writeFileSync(path.join(dir, 'key.pem'), pems.private, { mode: 0o600 });
  process.env.TEST_TLS_CERT_FILE = path.join(dir, 'cert.pem');
  process.env.TEST_TLS_KEY_FILE = path.join(dir, 'key.pem');
  process.env.NODE_EXTRA_CA_CERTS = path.join(dir, 'cert.pem');
  return () => fs.rmSync(dir, { recursive: true, force: true });
}
