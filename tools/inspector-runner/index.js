// Paths to the MCP Inspector's command-line client (mcpdo) and to the Node 22 binary it requires
// (its engines field asks for Node >= 22.19).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const node22 = path.join(here, 'node_modules', '.bin', 'node');
export const mcpdoCli = path.join(here, 'node_modules', '@modelcontextprotocol', 'inspector', 'clients', 'mcpdo', 'build', 'mcp-bin.js');
