// Paths to the conformance CLI and to the Node 22 binary it requires (it uses fs.globSync).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const node22 = path.join(here, 'node_modules', '.bin', 'node');
export const conformanceCli = path.join(here, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
