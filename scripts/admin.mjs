#!/usr/bin/env node
// `npm run admin -- <command>`: the authorization server's admin CLI, built first when needed.
import fs from 'node:fs';
import path from 'node:path';
import { build, checkNode, ensureInstalled, root, run } from './lib.mjs';

const cli = path.join(root, 'apps/auth-server/dist/cli/admin.js');
checkNode();
ensureInstalled();
if (!fs.existsSync(cli)) build();
process.exit(run(process.execPath, [cli, ...process.argv.slice(2)], { cwd: root }));
