#!/usr/bin/env node
// `pnpm admin …`: operator commands against DATABASE_URL (the embedded database by default).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { applyMigrations, connectDatabase } from '@mcp-gw/db';
import { ConfigError, createLogger } from '@mcp-gw/shared';
import { AccountService } from '../accounts.js';
import { AuditLog } from '../audit.js';
import { loadAuthServerConfig } from '../config.js';
import { SecretBox } from '../crypto-box.js';
import { SigningKeyStore } from '../keys.js';
import { AdminService, NotFound } from '../admin/service.js';
import { createRevocationPublisher, unconfirmedNotice, type RevocationDelivery } from '../revocation-bus.js';
import { closeRedis, connectRedis } from '../redis.js';
import { ownerNotices, revocationsToOwner } from '../owner-notices.js';
import { ServiceClientError, ServiceClientRegistry, type ServiceClientAuth } from '../service-clients/registry.js';

const USAGE = `Usage: pnpm admin <command>

  users list                                   List users
  users add <email> [--name N] [--admin]       Add a user (password from ADMIN_NEW_PASSWORD or prompted)
  users set-password <email>                   Set a user's password (ADMIN_NEW_PASSWORD or prompted)
  users disable <email> | users enable <email> Block or allow sign-in
  clients list [--search S]                    List registered clients (users, scopes, last use)
  clients show <client_id>                     One client's metadata and grants
  clients revoke <client_id>                   Delete a client and every grant and token issued to it
  clients purge-unused                         Purge dynamic registrations never used / idle (see CLIENT_*_TTL)
  grants list [--client ID] [--user EMAIL]     List grants
  service-clients list                         List service clients (client_credentials) and their principals
  service-clients add <name> --projects KEYS --scopes SCOPES (--jwks-file F | --jwks-uri URL | --secret)
                                               Register a service client acting as a new service principal
                                               (revoke it with clients revoke <client_id>)
  grants revoke <grant_id>                     Revoke one grant and its tokens
  keys list                                    List signing keys
  keys rotate                                  New signing key; old ones stay published for tokens already issued
  keys prune [--older-than-days N]             Delete retired keys older than N days (default 2)
`;

async function readPassword(): Promise<string> {
  if (process.env.ADMIN_NEW_PASSWORD) return process.env.ADMIN_NEW_PASSWORD;
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').split('\n')[0]!.trim();
  }
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question('New password (min 8 characters): ');
  rl.close();
  return answer.trim();
}

/**
 * Client and grant ids are random base64url and may begin with '-' (e.g. `-R7QP…`), which parseArgs
 * would take for an unknown short option. This CLI has no short options: an argument with a single
 * leading dash is an id, passed as a positional (after `--`); a string option's value is attached.
 */
function idsAsPositionals(argv: string[]): string[] {
  const takesValue = new Set(['--name', '--older-than-days', '--search', '--client', '--user', '--projects', '--scopes', '--jwks-file', '--jwks-uri', '--resource']);
  const out: string[] = [];
  const ids: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      ids.push(...argv.slice(i + 1));
      break;
    }
    if (takesValue.has(arg) && i + 1 < argv.length) out.push(`${arg}=${argv[++i]}`);
    else if (/^-[^-]/.test(arg)) ids.push(arg);
    else out.push(arg);
  }
  return ids.length ? [...out, '--', ...ids] : out;
}

export async function runAdminCli(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: idsAsPositionals(argv),
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      admin: { type: 'boolean' },
      'older-than-days': { type: 'string' },
      search: { type: 'string' },
      client: { type: 'string' },
      user: { type: 'string' },
      projects: { type: 'string' },
      scopes: { type: 'string' },
      'jwks-file': { type: 'string' },
      'jwks-uri': { type: 'string' },
      resource: { type: 'string' },
      secret: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const [group, command, arg] = positionals;
  if (values.help || !group) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const config = loadAuthServerConfig(embeddedDefaults(process.env));
  // On the embedded database while the system runs, this goes through the running system's socket.
  const db = await connectDatabase(config.DATABASE_URL, { poolSize: 2, role: 'pnpm admin' });
  let closeRevocations: () => Promise<void> = async () => {};
  try {
    await applyMigrations(db);
    const prisma = db.prisma;
    const accounts = new AccountService(db);
    const audit = new AuditLog(db, createLogger('admin-cli', 'warn'));
    const keys = new SigningKeyStore(prisma, new SecretBox(config.KEY_ENCRYPTION_KEY));
    const actor = { actorType: 'admin' as const, actorId: `cli:${process.env.USER ?? 'unknown'}` };
    const logger = createLogger('admin-cli', 'warn');
    const revocations = createRevocationPublisher(await connectRedis(config.REDIS_URL, logger), logger, { ackTimeoutMs: config.REVOCATION_ACK_TIMEOUT_MS, owner: revocationsToOwner(db) });
    closeRevocations = () => revocations.close();
    const adminService = new AdminService(prisma, audit, revocations, logger);
    const print = (rows: unknown) => (values.json ? console.log(JSON.stringify(rows, null, 2)) : console.table(rows));
    switch (`${group} ${command ?? ''}`.trim()) {
      case 'users list': {
        const users = await adminService.listUsers();
        print(
          values.json
            ? users
            : users.map((u) => ({
                email: u.email,
                name: u.name,
                role: u.kind === 'service' ? 'service' : u.isAdmin ? 'admin' : 'user',
                signs_in_with: u.kind === 'service' ? 'client credentials' : [...(u.localLogin ? ['password'] : []), ...u.identities.map((i) => `idp:${i.provider}`)].join(' '),
                disabled: !!u.disabledAt,
                created: u.createdAt.toISOString(),
                last_login: u.lastLoginAt?.toISOString() ?? '',
              })),
        );
        return 0;
      }
      case 'users add': {
        if (!arg) throw new UsageError('users add needs an email');
        const password = await readPassword();
        const user = await accounts.create({ email: arg, password, name: values.name ?? arg.split('@')[0]!, isAdmin: values.admin });
        await audit.record({ ...actor, action: 'user.created', targetType: 'user', targetId: user.id, details: { email: user.email, admin: user.isAdmin } });
        console.log(`added ${user.isAdmin ? 'admin' : 'user'} ${user.email} (${user.id})`);
        return 0;
      }
      case 'users set-password': {
        const user = arg ? await prisma.user.findUnique({ where: { email: arg.toLowerCase() } }) : null;
        if (!user) throw new UsageError(`no user ${arg ?? ''}`);
        await accounts.setPassword(user.id, await readPassword());
        await audit.record({ ...actor, action: 'user.password_set', targetType: 'user', targetId: user.id });
        console.log(`password set for ${user.email}`);
        return 0;
      }
      case 'users disable':
      case 'users enable': {
        const user = arg ? await prisma.user.findUnique({ where: { email: arg.toLowerCase() } }) : null;
        if (!user) throw new UsageError(`no user ${arg ?? ''}`);
        const disabledAt = command === 'disable' ? new Date() : null;
        await prisma.user.update({ where: { id: user.id }, data: { disabledAt } });
        await audit.record({ ...actor, action: `user.${command}d`, targetType: 'user', targetId: user.id });
        console.log(`${user.email} ${command}d`);
        return 0;
      }
      case 'clients list': {
        const clients = await adminService.listClients({ search: values.search });
        print(values.json ? clients : clients.map((c) => ({ client_id: c.clientId, name: c.clientName ?? '', via: c.registeredVia, created: c.createdAt, last_used: c.lastUsedAt ?? '', users: c.users.join(' '), scopes: c.scopes.join(' ') })));
        return 0;
      }
      case 'clients show': {
        if (!arg) throw new UsageError('clients show needs a client_id');
        console.log(JSON.stringify(await adminService.getClient(arg), null, 2));
        return 0;
      }
      case 'clients revoke': {
        if (!arg) throw new UsageError('clients revoke needs a client_id');
        const result = await adminService.revokeClient(arg, { type: 'admin', id: actor.actorId });
        console.log(`revoked client ${arg}: ${result.grants} grant(s), ${result.artifacts} token/code row(s) deleted${confirmations(result.servers)}`);
        return 0;
      }
      case 'clients purge-unused': {
        const purged = await adminService.purgeUnusedClients(config.CLIENT_UNUSED_TTL, config.CLIENT_IDLE_TTL);
        console.log(`purged ${purged.length} unused registration(s)`);
        return 0;
      }
      case 'grants list': {
        const user = values.user ? await prisma.user.findUnique({ where: { email: values.user.toLowerCase() } }) : undefined;
        if (values.user && !user) throw new UsageError(`no user ${values.user}`);
        const grants = await adminService.listGrants({ clientId: values.client, accountId: user?.id });
        print(values.json ? grants : grants.map((g) => ({ grant_id: g.grantId, client_id: g.clientId, user: g.userEmail ?? g.accountId, scopes: Object.values(g.resources).flat().join(' '), created: g.createdAt })));
        return 0;
      }
      case 'grants revoke': {
        if (!arg) throw new UsageError('grants revoke needs a grant_id');
        const result = await adminService.revokeGrant(arg, { type: 'admin', id: actor.actorId });
        console.log(`revoked grant ${arg}${confirmations(result.servers)}`);
        return 0;
      }
      case 'service-clients list': {
        const clients = await new ServiceClientRegistry(db, config, audit).list();
        print(values.json ? clients : clients.map((c) => ({ client_id: c.clientId, name: c.name, principal: c.principalEmail, auth: c.authMethod, projects: c.projects.join(' '), scopes: c.scopes.join(' '), disabled: c.disabled, created: c.createdAt, last_used: c.lastUsedAt ?? '' })));
        return 0;
      }
      case 'service-clients add': {
        if (!arg) throw new UsageError('service-clients add needs a name');
        const ways = [values['jwks-file'], values['jwks-uri'], values.secret].filter(Boolean).length;
        if (ways !== 1) throw new UsageError('give exactly one of --jwks-file, --jwks-uri or --secret');
        let auth: ServiceClientAuth = { method: 'client_secret_basic' };
        if (values['jwks-uri']) auth = { method: 'private_key_jwt', jwksUri: values['jwks-uri'] };
        if (values['jwks-file']) {
          try {
            auth = { method: 'private_key_jwt', jwks: JSON.parse(fs.readFileSync(values['jwks-file'], 'utf8')) };
          } catch (err) {
            throw new UsageError(`cannot read a JWKS from ${values['jwks-file']}: ${(err as Error).message}`);
          }
        }
        const created = await new ServiceClientRegistry(db, config, audit).create(
          { name: arg, projects: [values.projects ?? ''], scopes: [values.scopes ?? ''], resource: values.resource, auth },
          { type: 'admin', id: actor.actorId },
        );
        if (values.json) console.log(JSON.stringify({ client_id: created.clientId, client_secret: created.clientSecret, principal_id: created.principalId }, null, 2));
        else {
          console.log(`added service client ${arg}: client_id ${created.clientId} (service principal ${created.principalId})`);
          if (created.clientSecret) console.log(`client_secret ${created.clientSecret}\n(shown once: it is stored hashed)`);
          console.log(`token: POST ${config.ISSUER}/token grant_type=client_credentials resource=${values.resource ?? config.MCP_RESOURCE_URL}`);
        }
        return 0;
      }
      case 'keys list': {
        const rows = await prisma.signingKey.findMany({ orderBy: { createdAt: 'desc' } });
        console.table(rows.map((k) => ({ kid: k.kid, alg: k.alg, status: k.status, created: k.createdAt.toISOString(), retired: k.retiredAt?.toISOString() ?? '' })));
        return 0;
      }
      case 'keys rotate': {
        const { kid, retired } = await keys.rotate();
        await audit.record({ ...actor, action: 'keys.rotated', targetType: 'signing_key', targetId: kid, details: { retired } });
        const owner = ownerNotices(db);
        if (owner) {
          await owner({ type: 'keys' });
          console.log(`new signing key ${kid}; retired ${retired.join(', ') || 'none'} (still published). The running system (process ${db.owner!.pid}) publishes it now and signs with it once it is KEY_PUBLISH_AHEAD_SECONDS old.`);
          return 0;
        }
        console.log(`new signing key ${kid}; retired ${retired.join(', ') || 'none'} (still published). Every running replica publishes it at its next key reload (KEY_RELOAD_SECONDS) and signs with it once it is KEY_PUBLISH_AHEAD_SECONDS old; no restart needed.`);
        return 0;
      }
      case 'keys prune': {
        const days = Number(values['older-than-days'] ?? 2);
        const count = await keys.pruneRetired(days * 86_400);
        console.log(`deleted ${count} retired key(s)`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command: ${positionals.join(' ')}`);
    }
  } finally {
    await closeRevocations();
    await db.close();
    await closeRedis();
  }
}

class UsageError extends Error {}

/**
 * What `npm start` left in its data folder, for commands run beside it with no configuration: its
 * database (DATA_DIR, as for npm start) and the key that seals its signing keys (dev-secrets.json),
 * so a key rotated here is sealed like the others.
 */
function embeddedDefaults(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const databaseUrl = env.DATABASE_URL ?? `pglite:${path.join(env.DATA_DIR ?? 'data', 'pglite')}`;
  if (env.KEY_ENCRYPTION_KEY || !databaseUrl.startsWith('pglite:') || databaseUrl === 'pglite:memory') return { ...env, DATABASE_URL: databaseUrl };
  const secrets = path.join(path.dirname(path.resolve(databaseUrl.slice('pglite:'.length))), 'dev-secrets.json');
  let keyEncryptionKey: string | undefined;
  try {
    keyEncryptionKey = (JSON.parse(fs.readFileSync(secrets, 'utf8')) as { keyEncryptionKey?: string }).keyEncryptionKey;
  } catch {
    // no npm start data folder here
  }
  return { ...env, DATABASE_URL: databaseUrl, KEY_ENCRYPTION_KEY: keyEncryptionKey };
}

/** What the MCP servers listening on Redis said; nothing when none was listening. */
function confirmations({ notified, confirmed }: RevocationDelivery): string {
  if (notified === 0) return '';
  if (confirmed === notified) return `; confirmed by ${confirmed} MCP server(s)`;
  return `; confirmed by ${confirmed} MCP server(s). ${unconfirmedNotice({ notified, confirmed })}`;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/cli/admin.js')) {
  runAdminCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      if (err instanceof NotFound || err instanceof ServiceClientError) console.error(err.message);
      else if (err instanceof UsageError) console.error(`${err.message}\n\n${USAGE}`);
      else if (err instanceof ConfigError) console.error(err.message);
      else console.error(`error: ${(err as Error).message}`);
      process.exit(err instanceof UsageError ? 2 : 1);
    },
  );
}
