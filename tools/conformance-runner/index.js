// Paths to MCP's conformance suite, to the Node 22 binary it requires (it uses fs.globSync), and to the
// frozen requirement sets it ships (which scenarios a spec revision scores, which it only runs).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const suiteDir = path.join(here, 'node_modules', '@modelcontextprotocol', 'conformance');
export const node22 = path.join(here, 'node_modules', '.bin', 'node');
export const conformanceCli = path.join(suiteDir, 'dist', 'index.js');
/** The suite's own requirement file for a revision: `server`, `client` and `not_scored` lists. */
export const requirementsFile = (revision) => path.join(suiteDir, 'requirements', `${revision}.yaml`);
