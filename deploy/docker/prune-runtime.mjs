// Drops from an assembled runtime (deploy/docker/assemble-runtime.sh) every installed package the
// app cannot reach, once the links to Prisma's generator-time peers are cut.
//
// `@prisma/client` names `prisma` (the CLI) and `typescript` as optional peers, for `prisma generate`;
// pnpm links an optional peer whenever the workspace has it (prisma/orm#29929), so a production
// install keeps the CLI, TypeScript and what the CLI pulls in (`effect`, `c12`, engines downloaders…),
// about half of each image. The generated client needs only `@prisma/client`'s runtime, and the
// migration runner applies the SQL files itself. The links are removed, not left dangling, so a
// require of either fails at once instead of finding a stale copy.
//
//   node deploy/docker/prune-runtime.mjs <OUT_DIR>
//
// Reachability follows pnpm's layout: a package lives at node_modules/.pnpm/<id>/node_modules/<name>
// and its dependencies are the other entries of that node_modules directory.
import fs from 'node:fs';
import path from 'node:path';

const GENERATOR_PEERS = new Set(['prisma', 'typescript']);

const out = process.argv[2];
if (!out || !fs.existsSync(path.join(out, 'node_modules/.pnpm'))) {
  console.error('usage: prune-runtime.mjs <assembled runtime dir with node_modules/.pnpm>');
  process.exit(64);
}
const store = fs.realpathSync(path.join(out, 'node_modules/.pnpm'));

/** Entries of a node_modules directory, scoped ones (@scope/name) included; dot entries skipped. */
function entries(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((name) => {
    if (name.startsWith('.')) return [];
    if (name.startsWith('@')) return fs.readdirSync(path.join(dir, name)).map((sub) => ({ name: `${name}/${sub}`, at: path.join(dir, name, sub) }));
    return [{ name, at: path.join(dir, name) }];
  });
}

/** The store entry (node_modules/.pnpm/<id>) a package directory belongs to, if it is in the store. */
function storeId(dir) {
  const rel = path.relative(store, dir);
  return rel && !rel.startsWith('..') ? rel.split(path.sep)[0] : undefined;
}

// Generator-time peers are cut wherever they are linked: in the store and in the workspace packages.
const workspaceModules = ['apps', 'packages'].flatMap((top) =>
  fs.existsSync(path.join(out, top)) ? fs.readdirSync(path.join(out, top)).map((p) => path.join(out, top, p, 'node_modules')) : [],
);
let cut = 0;
for (const dir of [...fs.readdirSync(store).map((id) => path.join(store, id, 'node_modules')), ...workspaceModules]) {
  for (const { name, at } of entries(dir)) {
    if (GENERATOR_PEERS.has(name) && fs.lstatSync(at).isSymbolicLink()) {
      fs.unlinkSync(at);
      cut += 1;
    }
  }
}

// Walk from what the workspace packages (and the root) depend on.
const reached = new Set();
const queue = [];
const visit = (at) => {
  let real;
  try {
    real = fs.realpathSync(at);
  } catch {
    return; // a dangling link: nothing to keep
  }
  const id = storeId(real);
  if (!id || reached.has(id)) return;
  reached.add(id);
  queue.push(path.join(store, id, 'node_modules'));
};
for (const dir of [path.join(out, 'node_modules'), ...workspaceModules]) for (const { at } of entries(dir)) visit(at);
while (queue.length) for (const { at } of entries(queue.shift())) visit(at);

let removed = 0;
for (const id of fs.readdirSync(store)) {
  if (id === 'node_modules' || id.startsWith('.') || reached.has(id)) continue;
  fs.rmSync(path.join(store, id), { recursive: true, force: true });
  removed += 1;
}

// What pointed at removed packages: pnpm's hoisted links and the workspace packages' command shims.
let links = 0;
for (const dir of [path.join(store, 'node_modules'), ...workspaceModules]) {
  for (const { at } of entries(dir)) {
    if (fs.lstatSync(at).isSymbolicLink() && !fs.existsSync(at)) {
      fs.unlinkSync(at);
      links += 1;
    }
  }
}
for (const dir of workspaceModules) fs.rmSync(path.join(dir, '.bin'), { recursive: true, force: true });

console.log(`pruned ${out}: ${cut} generator-time peer link(s) cut, ${removed} unreachable package(s) and ${links} dangling link(s) removed, ${reached.size} kept`);
