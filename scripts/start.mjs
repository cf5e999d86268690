#!/usr/bin/env node
// `npm start`: installs, builds and starts the whole system on the embedded database
// (authorization server on :4000, MCP server on :3000, data in ./data), printing a demo login.
import path from 'node:path';
import { build, checkNode, ensureInstalled, root, run } from './lib.mjs';

checkNode();
ensureInstalled();
build();
process.exitCode = run(process.execPath, [path.join(root, 'apps/all-in-one/dist/main.js')]);
