#!/usr/bin/env node
// `npm run build | typecheck | lint`: the same turbo task over every package, on a machine with only
// Node and npm (dependencies are installed first; the exact pnpm is put on PATH for turbo).
import { checkNode, ensureInstalled, turbo } from './lib.mjs';

const [task, ...rest] = process.argv.slice(2);
checkNode();
ensureInstalled();
process.exit(turbo(task, rest));
