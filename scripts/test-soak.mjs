#!/usr/bin/env node
// `pnpm test:soak`: the bounded soak and the fault scenarios (slow, so apart from `npm test`).
import { build, checkNode, ensureInstalled, pnpm } from './lib.mjs';

checkNode();
ensureInstalled();
build();
process.exit(pnpm(['--filter', '@mcp-gw/e2e', 'run', 'test:soak']));
