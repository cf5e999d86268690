// The deployment files (Dockerfile, docker-compose.yaml, deploy/, k8s/, .env.example) parsed and
// checked against the apps' own configuration schemas. No container engine or cluster is needed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const root = path.resolve(import.meta.dirname, '../..');
const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');

type Obj = Record<string, any>;
interface ConfigSchema {
  shape: Record<string, unknown>;
  safeParse(env: Record<string, string | undefined>): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } };
}

// The apps' zod schemas, from source (the variables each app actually reads).
let authSchema: ConfigSchema;
let mcpSchema: ConfigSchema;
let authVars: Set<string>;
let mcpVars: Set<string>;
const MIGRATE_VARS = new Set(['DATABASE_URL', 'NODE_ENV']); // packages/db/src/cli/migrate.ts reads DATABASE_URL only

beforeAll(async () => {
  const auth = await import(pathToFileURL(path.join(root, 'apps/auth-server/src/config.ts')).href);
  const mcp = await import(pathToFileURL(path.join(root, 'apps/mcp-server/src/config.ts')).href);
  authSchema = auth.schema;
  mcpSchema = mcp.configSchema;
  authVars = new Set(Object.keys(authSchema.shape));
  mcpVars = new Set(Object.keys(mcpSchema.shape));
});

// ---------------------------------------------------------------------------------------------
// helpers

/** Secret-looking variable names: values must never be literals in committed files. */
const isSecretName = (name: string) => /KEY|SECRET|PASSWORD|TOKEN|COOKIE_KEYS|REDISCLI_AUTH/i.test(name) && name !== 'NGINX_ENVSUBST_FILTER';
const INTERPOLATION = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}/g;

/** Compose interpolation: `${VAR:-default}` → default, `${VAR}` / `${VAR:?msg}` → the value from `env`. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(INTERPOLATION, (_m, name: string, op: string | undefined, arg: string | undefined) => {
    const v = env[name];
    if (op?.endsWith('-')) return v === undefined || (op === ':-' && v === '') ? (arg ?? '') : v;
    if (op?.endsWith('?') && (v === undefined || v === '')) throw new Error(`${name} is required: ${arg}`);
    return v ?? '';
  });
}

/** An image reference is pinned when it has a digest or a tag other than `latest`. */
function isPinned(image: string): boolean {
  const ref = image.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}/g, '$1');
  if (/\$\{/.test(ref)) return false;
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return true;
  const lastSegment = ref.slice(ref.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  if (colon < 0) return false;
  const tag = lastSegment.slice(colon + 1);
  return tag !== '' && tag !== 'latest';
}

/** `postgresql://user:password@host/db`: the password part, when there is one. */
function urlPassword(value: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^@/]*)@/i.exec(value);
  if (!m) return undefined;
  const userinfo = m[1]!;
  // The first ':' outside a ${VAR:-default} interpolation separates user and password.
  let depth = 0;
  for (let i = 0; i < userinfo.length; i++) {
    if (userinfo.startsWith('${', i)) depth++;
    else if (userinfo[i] === '}' && depth > 0) depth--;
    else if (userinfo[i] === ':' && depth === 0) return userinfo.slice(i + 1);
  }
  return undefined;
}
/** The whole value is one `${VAR}`, `${VAR:?message}` or `${VAR:-}` (a non-empty default would be a literal). */
function isWholeInterpolation(v: string): boolean {
  const m = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?:(:?[-?+])([^}]*))?\}$/.exec(v);
  if (!m) return false;
  const [, op, arg] = m;
  if (op === undefined || op.endsWith('?')) return true;
  return op.endsWith('-') && arg === '';
}

// --- compose ---------------------------------------------------------------------------------
const composeText = () => read('docker-compose.yaml');
const compose = () => parse(composeText(), { merge: true }) as Obj;
const services = () => compose().services as Record<string, Obj>;
function envOf(service: Obj): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e: string) => [e.split('=')[0], e.split('=').slice(1).join('=')]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v ?? '')]));
}
/** Every string (keys and values) of the parsed compose file: where interpolation happens (not comments). */
const composeStrings = (node: unknown): string[] =>
  typeof node === 'string'
    ? [node]
    : Array.isArray(node)
      ? node.flatMap(composeStrings)
      : node && typeof node === 'object'
        ? Object.entries(node).flatMap(([k, v]) => [k, ...composeStrings(v)])
        : [];
const healthTest = (service: Obj): string => [service.healthcheck?.test ?? []].flat().join(' ');

/** `.env.example` as a map (comments and blanks skipped). */
function envExample(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of read('.env.example').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}
/** .env.example with its empty secrets filled the way an operator would (valid formats). */
function filledEnv(): Record<string, string> {
  const env = envExample();
  for (const [k, v] of Object.entries(env)) {
    if (v !== '') continue;
    if (k === 'KEY_ENCRYPTION_KEY') env[k] = crypto.randomBytes(32).toString('base64');
    else if (k === 'DEMO_PASSWORD') env[k] = 'a-long-password';
    else if (isSecretName(k)) env[k] = crypto.randomBytes(16).toString('hex');
  }
  return env;
}

// --- k8s -------------------------------------------------------------------------------------
const kustomization = () => parse(read('k8s/kustomization.yaml')) as Obj;
function k8sObjects(): Obj[] {
  const files = kustomization().resources as string[];
  return files.flatMap((f) =>
    parseAllDocuments(read(path.join('k8s', f)))
      .map((d) => d.toJS() as Obj)
      .filter(Boolean),
  );
}
const k8sOf = (kind: string) => k8sObjects().filter((o) => o.kind === kind);
const k8sNamed = (kind: string, name: string) => {
  const found = k8sOf(kind).find((o) => o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in k8s/`);
  return found;
};
const podSpec = (o: Obj): Obj => o.spec.template.spec;
const APPS = [
  { app: 'auth-server', port: 4000, vars: () => authVars, schema: () => authSchema },
  { app: 'mcp-server', port: 3000, vars: () => mcpVars, schema: () => mcpSchema },
] as const;

/** The environment a container receives: envFrom ConfigMaps + env (secretKeyRef values filled). */
function containerEnv(container: Obj, secretValue: (key: string) => string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, k8sNamed('ConfigMap', from.configMapRef.name).data);
    if (from.secretRef) throw new Error('envFrom a whole Secret hands every key to every app; name the keys');
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.secretKeyRef) env[e.name] = secretValue(e.valueFrom.secretKeyRef.key);
    else if (e.valueFrom?.configMapKeyRef) env[e.name] = k8sNamed('ConfigMap', e.valueFrom.configMapKeyRef.name).data[e.valueFrom.configMapKeyRef.key];
  }
  return env;
}
const fakeSecret = (key: string) =>
  ({
    KEY_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    COOKIE_KEYS: crypto.randomBytes(32).toString('base64'),
    DATABASE_URL: 'postgresql://u:p@db:5432/mcpgw',
    REDIS_URL: 'redis://:p@redis:6379',
    DEMO_PASSWORD: 'a-long-password',
  })[key] ?? 'x';

// --- nginx -----------------------------------------------------------------------------------
interface Directive {
  name: string;
  args: string[];
  block?: Directive[];
}
/** A small nginx configuration parser: directives, arguments (quotes kept whole), nested blocks. */
function parseNginx(text: string): Directive[] {
  const tokens: string[] = [];
  // Words may hold ${VAR} template placeholders (substituted by the nginx image at start).
  const re = /#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|((?:\$\{[^}]*\}|[^\s{};"'#])(?:\$\{[^}]*\}|[^\s{};])*)/g;
  for (const m of text.matchAll(re)) {
    if (m[0].startsWith('#')) continue;
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4]!);
  }
  let i = 0;
  const block = (): Directive[] => {
    const out: Directive[] = [];
    while (i < tokens.length) {
      if (tokens[i] === '}') {
        i++;
        return out;
      }
      const words: string[] = [];
      while (i < tokens.length && tokens[i] !== ';' && tokens[i] !== '{') words.push(tokens[i++]!);
      const [name, ...args] = words;
      if (tokens[i] === '{') {
        i++;
        out.push({ name: name!, args, block: block() });
      } else {
        i++;
        out.push({ name: name!, args });
      }
    }
    return out;
  };
  return block();
}
const nginx = () => parseNginx(read('deploy/nginx.conf'));
const all = (ds: Directive[] | undefined, name: string) => (ds ?? []).filter((d) => d.name === name);
const one = (ds: Directive[] | undefined, name: string) => all(ds, name)[0];
/** A directive's value in a location, inherited from its server block when not set there. */
const effective = (location: Directive, server: Directive, name: string) => one(location.block, name) ?? one(server.block, name);
const serverNamed = (host: string) => {
  const s = all(nginx(), 'server').find((d) => one(d.block, 'server_name')?.args.includes(host));
  if (!s) throw new Error(`no nginx server block for ${host}`);
  return s;
};
const locationOf = (server: Directive, ...args: string[]) => all(server.block, 'location').find((l) => l.args.join(' ') === args.join(' '));
const upstreamServers = (name: string) =>
  all(one(nginx().filter((d) => d.name === 'upstream' && d.args[0] === name), 'upstream')?.block, 'server').map((d) => d.args[0]);
const seconds = (v: string) => {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(v);
  if (!m) return NaN;
  return Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as Record<string, number>)[m[2] ?? 's']!;
};

// --- Dockerfile ------------------------------------------------------------------------------
interface Stage {
  from: string;
  name?: string;
  lines: string[];
}
function dockerfile(): { args: Record<string, string>; stages: Stage[] } {
  const text = read('Dockerfile').replace(/\\\n/g, ' ');
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      stages.push({ from: from[1]!, name: from[2], lines: [] });
      continue;
    }
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)/i.exec(line);
    if (arg && stages.length === 0) args[arg[1]!] = arg[2]!;
    stages.at(-1)?.lines.push(line);
  }
  return { args, stages };
}
/** A stage's instructions including those of the stages it is built FROM. */
function stageLines(stages: Stage[], name: string): string[] {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no Dockerfile stage ${name}`);
  const parent = stages.find((s) => s.name === stage.from);
  return [...(parent ? stageLines(stages, parent.name!) : []), ...stage.lines];
}

// =============================================================================================

describe('Dockerfile', () => {
  it('pins every base image (tag that is not latest, or a digest), ARG defaults resolved', () => {
    const { args, stages } = dockerfile();
    const names = new Set(stages.map((s) => s.name).filter(Boolean));
    expect(stages.length).toBeGreaterThan(2);
    for (const stage of stages) {
      if (names.has(stage.from)) continue; // FROM an earlier stage
      const image = stage.from.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, n: string) => args[n] ?? `<unset ${n}>`);
      expect(isPinned(image), `FROM ${stage.from} → ${image}`).toBe(true);
      expect(image).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it('runs a Node LTS line still in support, the exact version CI tests on', () => {
    const image = dockerfile().args.NODE_IMAGE!;
    const version = /^node:(\d+)\.(\d+)\.(\d+)-/.exec(image);
    expect(version, image).not.toBeNull();
    const major = Number(version![1]);
    // Even majors are the LTS lines; 20 and older are past their end of life (Node 20: April 2026).
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(22);
    // .ci/run takes the version from the Dockerfile and runs the test command with that Node.
    const ci = read('.ci/run');
    expect(ci).toMatch(/IMAGE_NODE_VERSION=.*ARG NODE_IMAGE=node:/);
    expect(ci).toMatch(/"node-linux-\$IMAGE_NODE_ARCH@\$IMAGE_NODE_VERSION"/);
    expect(ci).toMatch(/PATH="\$IMAGE_NODE_BIN:\$PATH" npm test\n/);
  });

  it('builds with a frozen lockfile and turbo; each prod stage assembles its app with the runtime script', () => {
    const text = read('Dockerfile');
    expect(text).toMatch(/pnpm fetch --frozen-lockfile/);
    expect(text).toMatch(/pnpm install --frozen-lockfile/);
    expect(text).toMatch(/turbo run build/);
    for (const { app } of APPS) {
      const lines = stageLines(dockerfile().stages, `prod-${app}`);
      expect(lines).toContain(`RUN sh deploy/docker/assemble-runtime.sh ${app} /out`);
      for (const dist of ['packages/shared/dist', 'packages/db/dist', `apps/${app}/dist`]) {
        expect(lines).toContain(`COPY --from=build /repo/${dist} ${dist}`);
      }
    }
    // What the script does with them is tested by running it (runtime-image.test.ts).
    expect(read('deploy/docker/assemble-runtime.sh')).toMatch(/install --prod --frozen-lockfile --offline --filter-prod "@mcp-gw\/\$app\.\.\."/);
  });

  for (const { app, port } of APPS) {
    it(`${app} target: non-root, NODE_ENV=production, EXPOSE ${port}, HEALTHCHECK /live, runs dist/main.js`, () => {
      const lines = stageLines(dockerfile().stages, app);
      const users = lines.filter((l) => /^USER\s/i.test(l));
      expect(users.length).toBeGreaterThan(0);
      expect(users.at(-1)).not.toMatch(/^USER\s+(root|0)(:|$|\s)/i);
      expect(lines.some((l) => /^ENV\b.*\bNODE_ENV=production\b/.test(l))).toBe(true);
      expect(lines.some((l) => /^ENV\b.*\bHOST=0\.0\.0\.0\b/.test(l))).toBe(true);
      expect(lines).toContain(`EXPOSE ${port}`);
      expect(lines.some((l) => /^ENV\b.*\bPORT=(\d+)/.exec(l)?.[1] === String(port))).toBe(true);
      const health = lines.find((l) => /^HEALTHCHECK\b/.test(l));
      expect(health).toMatch(/\/live\b/);
      expect(lines.find((l) => /^CMD\b/.test(l))).toBe(`CMD ["node", "apps/${app}/dist/main.js"]`);
      // Only runtime files are copied into the final image: the assembled /out of its prod stage.
      const own = dockerfile().stages.find((s) => s.name === app)!;
      for (const copy of own.lines.filter((l) => /^COPY\b/.test(l))) expect(copy).toMatch(new RegExp(`--from=prod-${app} /out/`));
    });
  }

  it('the auth-server image carries the migration runner and prisma/migrations in the layout it resolves', () => {
    const script = read('deploy/docker/assemble-runtime.sh');
    expect(script).toMatch(/packages\/db\/dist\b/);
    expect(script).toMatch(/prisma\/migrations\b/);
    // packages/db resolves the migrations at <dist>/../../../prisma/migrations.
    const migrate = read('packages/db/src/migrate.ts');
    expect(migrate).toMatch(/'\.\.\/\.\.\/\.\.\/prisma\/migrations'/);
    expect(fs.existsSync(path.join(root, 'packages/db/src/cli/migrate.ts'))).toBe(true);
    expect(fs.readdirSync(path.join(root, 'prisma/migrations')).length).toBeGreaterThan(0);
  });

  it('.dockerignore keeps host dependencies, build output, git and secrets out of the context', () => {
    const ignore = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['**/node_modules', '**/dist', '.git', '.env']) expect(ignore).toContain(entry);
  });
});

describe('docker-compose.yaml', () => {
  it('every service has a healthcheck, except the one-shot migrate', () => {
    for (const [name, service] of Object.entries(services())) {
      if (name === 'migrate') continue;
      expect(service.healthcheck, name).toBeDefined();
      expect(service.healthcheck.disable, name).not.toBe(true);
      expect(healthTest(service).length, name).toBeGreaterThan(0);
    }
  });

  it('every image is pinned', () => {
    for (const [name, service] of Object.entries(services())) {
      expect(service.image, name).toBeTypeOf('string');
      expect(isPinned(service.image), `${name}: ${service.image}`).toBe(true);
    }
    expect(services().postgres!.image).toMatch(/^postgres:/);
    expect(services().redis!.image).toMatch(/^redis:/);
    expect(services()['otel-collector']!.image).toMatch(/^otel\/opentelemetry-collector-contrib:/);
    expect(services().nginx!.image).toMatch(/^nginx:/);
  });

  it('has no secret literals: secrets are ${VAR} interpolations from .env, with no default', () => {
    expect(composeText()).not.toMatch(/^\s*env_file:.*\.env\.example/m);
    for (const [name, service] of Object.entries(services())) {
      for (const [key, value] of Object.entries(envOf(service))) {
        if (isSecretName(key)) expect(isWholeInterpolation(value) || value === '', `${name}.${key}=${value}`).toBe(true);
        const password = urlPassword(value);
        if (password !== undefined) expect(isWholeInterpolation(password), `${name}.${key}: password of ${value}`).toBe(true);
      }
    }
  });

  it('.env.example lists every ${VAR} the compose file references, and holds no secret values', () => {
    const referenced = new Set(composeStrings(compose()).flatMap((v) => [...v.matchAll(INTERPOLATION)].map((m) => m[1]!)));
    const listed = envExample();
    expect(referenced.size).toBeGreaterThan(5);
    for (const name of referenced) expect(Object.keys(listed), name).toContain(name);
    for (const [key, value] of Object.entries(listed)) if (isSecretName(key)) expect(value, key).toBe('');
    expect(read('.env.example')).toMatch(/KEY_ENCRYPTION_KEY=\n/);
    expect(read('.env.example')).toMatch(/openssl rand -base64 32/);
  });

  it('each app is given only variables its configuration reads, and that configuration is valid in production', () => {
    const env = filledEnv();
    const apps: Record<string, { vars: Set<string>; schema?: ConfigSchema }> = {
      'auth-server': { vars: authVars, schema: authSchema },
      'mcp-1': { vars: mcpVars, schema: mcpSchema },
      'mcp-2': { vars: mcpVars, schema: mcpSchema },
      migrate: { vars: MIGRATE_VARS },
    };
    for (const [name, { vars, schema }] of Object.entries(apps)) {
      const service = services()[name]!;
      expect(service.env_file, `${name} must not receive the whole .env`).toBeUndefined();
      const declared = envOf(service);
      for (const key of Object.keys(declared)) expect([...vars], `${name} sets ${key}`).toContain(key);
      if (!schema) continue;
      const resolved = Object.fromEntries(Object.entries(declared).map(([k, v]) => [k, interpolate(v, env)]));
      const parsed = schema.safeParse(resolved);
      expect(parsed.success, `${name}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
      expect(resolved.NODE_ENV).toBe('production');
      expect(resolved.HOST).toBe('0.0.0.0');
    }
    const auth = Object.fromEntries(Object.entries(envOf(services()['auth-server']!)).map(([k, v]) => [k, interpolate(v, env)]));
    const mcp = Object.fromEntries(Object.entries(envOf(services()['mcp-1']!)).map(([k, v]) => [k, interpolate(v, env)]));
    expect(auth.ISSUER).toMatch(/^https:\/\//);
    expect(mcp.AUTH_ISSUER).toBe(auth.ISSUER);
    expect(mcp.MCP_RESOURCE_URL).toBe(auth.MCP_RESOURCE_URL);
    expect(auth.KEY_ENCRYPTION_KEY).toBeTruthy();
    expect(auth.REDIS_URL).toMatch(/^redis:\/\//);
    expect(mcp.REDIS_URL).toBe(auth.REDIS_URL);
  });

  it('ports: PORT, exposed port, healthcheck and proxy upstreams agree', () => {
    const s = services();
    for (const [name, port] of [['auth-server', 4000], ['mcp-1', 3000], ['mcp-2', 3000]] as const) {
      expect(envOf(s[name]!).PORT, name).toBe(String(port));
      expect((s[name]!.expose ?? []).map(String), name).toContain(String(port));
      expect(healthTest(s[name]!), name).toContain(`http://127.0.0.1:${port}/live`);
      expect(s[name]!.ports, `${name} is reached through nginx only`).toBeUndefined();
    }
    expect(upstreamServers('mcp_servers')).toEqual(['mcp-1:3000', 'mcp-2:3000']);
    expect(upstreamServers('auth_servers')).toEqual(['auth-server:4000']);
    for (const name of ['postgres', 'redis', 'otel-collector', 'migrate']) expect(s[name]!.ports, name).toBeUndefined();
  });

  it('healthchecks: apps hit /live, postgres pg_isready, redis redis-cli ping', () => {
    const s = services();
    expect(healthTest(s.postgres!)).toMatch(/pg_isready/);
    expect(healthTest(s.redis!)).toMatch(/redis-cli ping/);
    for (const name of ['auth-server', 'mcp-1', 'mcp-2']) expect(healthTest(s[name]!)).toMatch(/\/live/);
  });

  it('migrate runs the migration command with the auth-server image; the apps start after it and after healthy postgres/redis', () => {
    const s = services();
    expect(s.migrate!.command).toEqual(['node', 'packages/db/dist/cli/migrate.js']);
    expect(s.migrate!.image).toBe(s['auth-server']!.image);
    expect(s.migrate!.restart).toBe('no');
    expect(s.migrate!.depends_on.postgres.condition).toBe('service_healthy');
    for (const name of ['auth-server', 'mcp-1', 'mcp-2']) {
      const deps = s[name]!.depends_on;
      expect(deps.migrate.condition, name).toBe('service_completed_successfully');
      expect(deps.postgres.condition, name).toBe('service_healthy');
      expect(deps.redis.condition, name).toBe('service_healthy');
    }
  });

  it('two MCP replicas of the same image run behind nginx', () => {
    const s = services();
    expect(s['mcp-1']!.image).toMatch(/mcp-server/);
    expect(s['mcp-2']!.image).toBe(s['mcp-1']!.image);
    expect(s['mcp-1']!.command).toEqual(['node', 'apps/mcp-server/dist/main.js']);
    expect(s['auth-server']!.command).toEqual(['node', 'apps/auth-server/dist/main.js']);
    const mounts: string[] = s.nginx!.volumes;
    expect(mounts.some((v) => v.startsWith('./deploy/nginx.conf:'))).toBe(true);
    for (const name of ['auth-server', 'mcp-1', 'mcp-2']) expect(s.nginx!.depends_on[name].condition).toBe('service_healthy');
    expect(envOf(s['mcp-1']!).OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4318');
    expect(s['otel-collector']!.volumes.some((v: string) => v.startsWith('./deploy/otel-collector.yaml:'))).toBe(true);
  });
});

describe('deploy/nginx.conf', () => {
  const mcpHost = '${MCP_HOST}';
  const authHost = '${AUTH_HOST}';

  it('proxies /mcp to both replicas with SSE-friendly settings and forwarded headers', () => {
    const server = serverNamed(mcpHost);
    expect(one(server.block, 'listen')?.args).toContain('ssl');
    const mcp = locationOf(server, '=', '/mcp');
    expect(mcp).toBeDefined();
    expect(one(mcp!.block, 'proxy_pass')?.args).toEqual(['http://mcp_servers']);
    expect(effective(mcp!, server, 'proxy_buffering')?.args).toEqual(['off']);
    expect(effective(mcp!, server, 'proxy_http_version')?.args).toEqual(['1.1']);
    expect(seconds(effective(mcp!, server, 'proxy_read_timeout')!.args[0]!)).toBeGreaterThanOrEqual(600);
    expect(seconds(effective(mcp!, server, 'proxy_send_timeout')!.args[0]!)).toBeGreaterThanOrEqual(600);
    const headers = Object.fromEntries(all(server.block, 'proxy_set_header').map((d) => [d.args[0]!.toLowerCase(), d.args[1]]));
    expect(headers.host).toBe('$host');
    expect(headers['x-forwarded-for']).toBe('$proxy_add_x_forwarded_for');
    expect(headers['x-forwarded-proto']).toBe('$scheme');
    expect(headers['x-forwarded-host']).toBe('$host');
  });

  it('serves the protected resource metadata from the MCP replicas and keeps /metrics private', () => {
    const server = serverNamed(mcpHost);
    const prm = locationOf(server, '/.well-known/oauth-protected-resource');
    expect(one(prm?.block, 'proxy_pass')?.args).toEqual(['http://mcp_servers']);
    const fallback = locationOf(server, '/');
    expect(one(fallback?.block, 'return')?.args).toEqual(['404']);
  });

  it('proxies the authorization server on its own server block, with forwarded headers (TRUST_PROXY)', () => {
    const server = serverNamed(authHost);
    expect(one(server.block, 'listen')?.args).toContain('ssl');
    const loc = locationOf(server, '/');
    expect(one(loc?.block, 'proxy_pass')?.args).toEqual(['http://auth_servers']);
    const headers = Object.fromEntries(all(loc!.block, 'proxy_set_header').map((d) => [d.args[0]!.toLowerCase(), d.args[1]]));
    expect(headers.host).toBe('$host');
    expect(headers['x-forwarded-proto']).toBe('$scheme');
    expect(headers['x-forwarded-for']).toBe('$proxy_add_x_forwarded_for');
    expect(envOf(services()['auth-server']!).TRUST_PROXY).toBe('true');
  });

  it('the MCP upstream is round-robin, without client stickiness (sessions continue on any replica)', () => {
    const upstream = nginx().find((d) => d.name === 'upstream' && d.args[0] === 'mcp_servers')!;
    for (const sticky of ['hash', 'ip_hash', 'sticky', 'least_conn', 'random']) expect(one(upstream.block, sticky), sticky).toBeUndefined();
    expect(all(upstream.block, 'server').map((d) => d.args[0])).toEqual(['mcp-1:3000', 'mcp-2:3000']);
  });

  it('the template only substitutes the two host names', () => {
    const env = envOf(services().nginx!);
    expect(env.NGINX_ENVSUBST_FILTER).toBe('^(MCP_HOST|AUTH_HOST)$');
    const vars = new Set([...read('deploy/nginx.conf').matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]));
    expect([...vars].sort()).toEqual(['AUTH_HOST', 'MCP_HOST']);
  });
});

describe('deploy/nginx-one-host.conf (the gateway under one host\'s paths)', () => {
  const conf = () => parseNginx(read('deploy/nginx-one-host.conf'));
  const server = () => all(conf(), 'server').find((d) => one(d.block, 'server_name')?.args.includes('${PUBLIC_HOST}'))!;
  const issuer = 'https://${PUBLIC_HOST}/oauth';
  const resource = 'https://${PUBLIC_HOST}/tickets/mcp';

  it('routes the issuer path and the documents RFC 8414 and RFC 9728 put at the root to the right server', async () => {
    const { resourceMetadataUrl } = await import(pathToFileURL(path.join(root, 'apps/mcp-server/src/config.ts')).href);
    const issuerPath = '/oauth';
    const wanted: [string[], string][] = [
      [[`${issuerPath}/`], 'http://auth_servers'],
      [['=', `/.well-known/oauth-authorization-server${issuerPath}`], 'http://auth_servers'],
      [['=', `/.well-known/openid-configuration${issuerPath}`], 'http://auth_servers'],
      [['=', new URL(resource.replace('${PUBLIC_HOST}', 'h')).pathname], 'http://mcp_servers'],
      [['=', new URL(resourceMetadataUrl(resource.replace('${PUBLIC_HOST}', 'h'))).pathname], 'http://mcp_servers'],
    ];
    for (const [args, upstream] of wanted) {
      const loc = locationOf(server(), ...args);
      expect(loc, args.join(' ')).toBeDefined();
      expect(one(loc!.block, 'proxy_pass')?.args, args.join(' ')).toEqual([upstream]);
    }
    expect(effective(locationOf(server(), '=', '/tickets/mcp')!, server(), 'proxy_buffering')?.args).toEqual(['off']);
    expect(one(locationOf(server(), '/')?.block, 'return')?.args).toEqual(['404']);
  });

  it('its variables are valid configuration for both apps', () => {
    const env = { ISSUER: issuer.replace('${PUBLIC_HOST}', 'gateway.example.com'), MCP_RESOURCE_URL: resource.replace('${PUBLIC_HOST}', 'gateway.example.com'), TRUST_PROXY: 'true' };
    expect(authSchema.safeParse(env).success).toBe(true);
    expect(mcpSchema.safeParse({ ...env, AUTH_ISSUER: env.ISSUER }).success).toBe(true);
    const headers = Object.fromEntries(all(server().block, 'proxy_set_header').map((d) => [d.args[0]!.toLowerCase(), d.args[1]]));
    expect(headers['x-forwarded-proto']).toBe('$scheme');
    expect(headers['x-forwarded-host']).toBe('$host');
  });
});

describe('deploy/otel-collector.yaml', () => {
  it('receives OTLP over HTTP and exports to the debug exporter', () => {
    const config = parse(read('deploy/otel-collector.yaml')) as Obj;
    expect(config.receivers.otlp.protocols.http.endpoint).toBe('0.0.0.0:4318');
    expect(Object.keys(config.exporters)).toContain('debug');
    expect(config.service.pipelines.traces.receivers).toContain('otlp');
    expect(config.service.pipelines.traces.exporters).toContain('debug');
  });
});

describe('k8s/', () => {
  it('every listed resource exists; the Secret template is not applied by kustomize', () => {
    const files = kustomization().resources as string[];
    for (const f of files) expect(fs.existsSync(path.join(root, 'k8s', f)), f).toBe(true);
    expect(files).not.toContain('secret.example.yaml');
    expect(k8sOf('Secret')).toEqual([]);
    expect(kustomization().namespace).toBe('mcp-gw');
    expect(k8sOf('Namespace').map((n) => n.metadata.name)).toEqual(['mcp-gw']);
  });

  it('every image is pinned (manifests and the kustomization images override)', () => {
    const images = [...k8sOf('Deployment'), ...k8sOf('Job')].flatMap((o) => [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers].map((c: Obj) => c.image as string));
    expect(images.length).toBeGreaterThanOrEqual(3);
    for (const image of images) expect(isPinned(image), image).toBe(true);
    for (const override of kustomization().images ?? []) {
      expect(override.newTag ?? override.digest, override.name).toBeTruthy();
      if (override.newTag) expect(String(override.newTag)).not.toBe('latest');
    }
  });

  for (const { app, port, vars, schema } of APPS) {
    describe(`${app} Deployment`, () => {
      const deployment = () => k8sNamed('Deployment', app);
      const container = () => podSpec(deployment()).containers.find((c: Obj) => c.name === app);

      it('probes: readiness /ready, liveness /live, on the container port named by PORT', () => {
        const c = container();
        const named = Object.fromEntries(c.ports.map((p: Obj) => [p.name, p.containerPort]));
        expect(named.http).toBe(port);
        expect(c.readinessProbe.httpGet.path).toBe('/ready');
        expect(c.livenessProbe.httpGet.path).toBe('/live');
        for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe].filter(Boolean)) {
          const p = probe.httpGet.port;
          expect(typeof p === 'number' ? p : named[p]).toBe(port);
        }
        const env = containerEnv(c, fakeSecret);
        expect(env.PORT).toBe(String(port));
        const service = k8sNamed('Service', app);
        const sp = service.spec.ports[0];
        expect(typeof sp.targetPort === 'number' ? sp.targetPort : named[sp.targetPort]).toBe(port);
        expect(service.spec.selector).toEqual(deployment().spec.selector.matchLabels);
      });

      it('resources, non-root, read-only root filesystem, no capabilities', () => {
        const pod = podSpec(deployment());
        const c = container();
        expect(c.resources.limits.cpu).toBeTruthy();
        expect(c.resources.limits.memory).toBeTruthy();
        expect(c.resources.requests.cpu).toBeTruthy();
        expect(c.resources.requests.memory).toBeTruthy();
        expect(c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot).toBe(true);
        expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
        expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
        expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
        expect(c.command).toEqual(['node', `apps/${app}/dist/main.js`]);
      });

      it('replicas are spread (topologySpreadConstraints or podAntiAffinity), with a PodDisruptionBudget', () => {
        const pod = podSpec(deployment());
        expect(pod.topologySpreadConstraints?.length || pod.affinity?.podAntiAffinity).toBeTruthy();
        const pdbs = k8sOf('PodDisruptionBudget').filter((p) =>
          Object.entries(p.spec.selector.matchLabels).every(([k, v]) => pod.metadata?.labels?.[k] === v || deployment().spec.template.metadata.labels[k] === v),
        );
        expect(pdbs.length).toBe(1);
        expect(pdbs[0]!.spec.minAvailable ?? pdbs[0]!.spec.maxUnavailable).toBeDefined();
      });

      it('is given only variables its configuration reads; secrets by secretKeyRef; valid in production', () => {
        const c = container();
        for (const e of c.env ?? []) {
          expect([...vars()], e.name).toContain(e.name);
          if (isSecretName(e.name) || e.name === 'DATABASE_URL' || e.name === 'REDIS_URL') {
            expect(e.value, `${e.name} must come from a Secret`).toBeUndefined();
            expect(e.valueFrom?.secretKeyRef?.name, e.name).toBe('mcp-gw-secrets');
          }
        }
        for (const from of c.envFrom ?? []) {
          const data = k8sNamed('ConfigMap', from.configMapRef.name).data as Record<string, string>;
          for (const [key, value] of Object.entries(data)) {
            expect([...vars()], `${from.configMapRef.name}.${key}`).toContain(key);
            expect(isSecretName(key), `${key} is a secret, not ConfigMap data`).toBe(false);
            expect(urlPassword(value), key).toBeUndefined();
          }
        }
        const env = containerEnv(c, fakeSecret);
        const parsed = schema().safeParse(env);
        expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
        expect(env.NODE_ENV).toBe('production');
        expect(env.HOST).toBe('0.0.0.0');
      });
    });
  }

  it('auth-server runs 2 replicas; mcp-server at least 2 through its HPA (CPU, 2 to 10)', () => {
    expect(k8sNamed('Deployment', 'auth-server').spec.replicas).toBe(2);
    const mcp = k8sNamed('Deployment', 'mcp-server');
    const hpa = k8sOf('HorizontalPodAutoscaler');
    expect(hpa.length).toBe(1);
    expect(hpa[0]!.spec.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'mcp-server' });
    expect(hpa[0]!.spec.minReplicas).toBe(2);
    expect(hpa[0]!.spec.maxReplicas).toBe(10);
    expect(hpa[0]!.spec.metrics.some((m: Obj) => m.type === 'Resource' && m.resource.name === 'cpu')).toBe(true);
    expect(mcp.spec.replicas === undefined || mcp.spec.replicas >= 2).toBe(true);
  });

  it('the issuer and resource URLs agree between the apps', () => {
    const auth = k8sNamed('ConfigMap', 'auth-server-config').data;
    const mcp = k8sNamed('ConfigMap', 'mcp-server-config').data;
    expect(auth.ISSUER).toMatch(/^https:\/\//);
    expect(mcp.AUTH_ISSUER).toBe(auth.ISSUER);
    expect(mcp.MCP_RESOURCE_URL).toBe(auth.MCP_RESOURCE_URL);
    expect(auth.TRUST_PROXY).toBe('true');
  });

  it('Ingress: TLS for both hosts, the issuer host to auth-server, the MCP path to mcp-server, SSE-friendly', () => {
    const auth = k8sNamed('ConfigMap', 'auth-server-config').data;
    const issuer = new URL(auth.ISSUER);
    const resource = new URL(auth.MCP_RESOURCE_URL);
    const ingresses = k8sOf('Ingress');
    const route = (host: string, urlPath: string) => {
      for (const ing of ingresses)
        for (const rule of ing.spec.rules)
          if (rule.host === host)
            for (const p of rule.http.paths)
              if (p.pathType === 'Exact' ? p.path === urlPath : urlPath === p.path || urlPath.startsWith(p.path.replace(/\/?$/, '/')) || p.path === '/')
                return { ingress: ing, backend: p.backend.service };
      return undefined;
    };
    const toAuth = route(issuer.host, '/.well-known/oauth-authorization-server');
    expect(toAuth?.backend.name).toBe('auth-server');
    const toMcp = route(resource.host, resource.pathname);
    expect(toMcp?.backend.name).toBe('mcp-server');
    expect(route(resource.host, `/.well-known/oauth-protected-resource${resource.pathname}`)?.backend.name).toBe('mcp-server');
    expect(route(resource.host, '/metrics')).toBeUndefined();
    for (const { ingress, host } of [
      { ingress: toAuth!.ingress, host: issuer.host },
      { ingress: toMcp!.ingress, host: resource.host },
    ]) {
      const tls = (ingress.spec.tls ?? []).find((t: Obj) => t.hosts.includes(host));
      expect(tls?.secretName, host).toBeTruthy();
    }
    const annotations = toMcp!.ingress.metadata.annotations;
    expect(annotations['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(600);
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(600);
    // Sessions continue on any pod: no client-address hashing or cookie affinity.
    expect(annotations['nginx.ingress.kubernetes.io/upstream-hash-by']).toBeUndefined();
    expect(annotations['nginx.ingress.kubernetes.io/affinity']).toBeUndefined();
    expect(k8sNamed('Service', 'mcp-server').spec.sessionAffinity ?? 'None').toBe('None');
    for (const ing of ingresses) for (const rule of ing.spec.rules) for (const p of rule.http.paths) {
      const svc = k8sNamed('Service', p.backend.service.name);
      expect(svc.spec.ports.map((sp: Obj) => sp.name), p.backend.service.name).toContain(p.backend.service.port.name);
    }
  });

  it('the migration Job runs the migration command with the auth-server image and DATABASE_URL from the Secret', () => {
    const jobs = k8sOf('Job');
    expect(jobs.length).toBe(1);
    const pod = podSpec(jobs[0]!);
    const c = pod.containers[0];
    expect(c.command).toEqual(['node', 'packages/db/dist/cli/migrate.js']);
    const authImage = podSpec(k8sNamed('Deployment', 'auth-server')).containers[0].image;
    expect(c.image).toBe(authImage);
    expect(pod.restartPolicy).toBe('Never');
    for (const e of c.env) expect([...MIGRATE_VARS]).toContain(e.name);
    expect(c.env.find((e: Obj) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef.name).toBe('mcp-gw-secrets');
    expect(c.securityContext.runAsNonRoot ?? pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.resources.limits.memory).toBeTruthy();
  });

  it('the Secret template holds placeholders only, for every key the workloads reference', () => {
    const [secret] = parseAllDocuments(read('k8s/secret.example.yaml')).map((d) => d.toJS() as Obj);
    expect(secret!.kind).toBe('Secret');
    expect(secret!.metadata.name).toBe('mcp-gw-secrets');
    expect(secret!.data).toBeUndefined();
    const values = secret!.stringData as Record<string, string>;
    for (const [key, value] of Object.entries(values)) {
      const password = urlPassword(value);
      if (password !== undefined) expect(password, key).toBe('change-me');
      else expect(value, key).toBe('change-me');
    }
    const referenced = new Set(
      [...k8sOf('Deployment'), ...k8sOf('Job')].flatMap((o) =>
        podSpec(o).containers.flatMap((c: Obj) => (c.env ?? []).map((e: Obj) => e.valueFrom?.secretKeyRef?.key).filter(Boolean)),
      ),
    );
    expect([...referenced].sort()).toEqual(Object.keys(values).sort());
    for (const key of ['KEY_ENCRYPTION_KEY', 'COOKIE_KEYS', 'DATABASE_URL', 'REDIS_URL']) expect(Object.keys(values)).toContain(key);
  });
});

describe("README's Configuration table", () => {
  /** Variable name → the App column ("auth", "mcp", "both"), from the table's first two columns. */
  function documented(): Map<string, string> {
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('\n## Configuration'), readme.indexOf('\n## ', readme.indexOf('\n## Configuration') + 1));
    const rows = new Map<string, string>();
    for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
      const [names, app] = line.split('|').slice(1, 3).map((c) => c.trim());
      for (const [, name] of names!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) rows.set(name!, app!);
    }
    return rows;
  }

  it('names every variable each app reads, under the app that reads it, and nothing else', () => {
    const rows = documented();
    const problems: string[] = [];
    for (const name of new Set([...authVars, ...mcpVars])) {
      const expected = authVars.has(name) && mcpVars.has(name) ? 'both' : authVars.has(name) ? 'auth' : 'mcp';
      if (!rows.has(name)) problems.push(`${name}: not documented (${expected})`);
      else if (rows.get(name) !== expected) problems.push(`${name}: documented for "${rows.get(name)}", read by ${expected}`);
    }
    for (const name of rows.keys()) if (!authVars.has(name) && !mcpVars.has(name)) problems.push(`${name}: documented, read by no app`);
    expect(problems).toEqual([]);
  });
});
