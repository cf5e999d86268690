// One lint configuration for the workspace (`pnpm lint` runs it in every package through turbo).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The MCP server's layers, top to bottom: each folder imports only folders below it (src/*.ts at the
// top compose them). HTTP edge → era dispatch → 2025-era sessions | 2026-07-28 stateless → SDK seam
// and registration (mcp) → tools, resources, prompts → auth, observability → domain, protocol.
const MCP_SRC = 'apps/mcp-server/src';
const MCP_LAYERS = [
  ['http'],
  ['era'],
  ['sessions', 'stateless'],
  ['mcp'],
  ['tools', 'resources', 'prompts'],
  ['auth', 'observability'],
  ['domain', 'protocol'],
];
const COMPOSITION = ['../app.js', '../main.js', '../index.js', '../services.js'];
const mcpLayerRules = MCP_LAYERS.flatMap((folders, level) =>
  folders.map((folder) => {
    const above = MCP_LAYERS.slice(0, level).flat();
    // Folders of one layer may use each other (prompts embed the ticket resource, all share ToolServices).
    const forbidden = above;
    // Wire shapes are plain JSON types: the layers below the SDK seam may name them (type-only).
    const belowSeam = level > MCP_LAYERS.findIndex((l) => l.includes('mcp'));
    return {
      files: [`${MCP_SRC}/${folder}/**/*.ts`],
      ignores: ['**/*.test.ts'],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              { group: COMPOSITION, message: 'Layers never import the composition root.' },
              ...(forbidden.length
                ? [{ group: forbidden.filter((f) => f !== 'mcp').flatMap((f) => [`../${f}/*`, `../${f}`]), message: `src/${folder} is below these layers: import downward only (see eslint.config.js).` }]
                : []),
              ...(forbidden.includes('mcp') || belowSeam
                ? [{ group: ['../mcp/*'], allowTypeImports: belowSeam, message: `src/${folder} is below the SDK seam (src/mcp): ${belowSeam ? 'type imports of wire shapes only' : 'import downward only'}.` }]
                : []),
              ...(folder === 'mcp' ? [] : [{ group: ['@modelcontextprotocol/*'], message: 'The MCP SDK stays behind src/mcp/ (sdk.ts for 1.x, sdk-v2.ts for 2.x).' }]),
            ],
          },
        ],
      },
    };
  }),
);

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/src/generated/**', '**/test-results/**', '**/test-artifacts/**', 'bench/results/**', '**/*.tmp.mjs', 'data/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Unused names are mistakes, except the deliberate `_`-prefixed ones (destructuring to drop a field).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Tests poke at wire shapes; `any` stays an explicit, visible choice there.
      '@typescript-eslint/no-explicit-any': 'warn',
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  ...mcpLayerRules,
  {
    // The composition root may import every layer, but the SDK only through the seam.
    files: [`${MCP_SRC}/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['@modelcontextprotocol/*'], message: 'The MCP SDK stays behind src/mcp/.' }] }] },
  },
  {
    files: ['**/*.test.ts', '**/test/**', 'e2e/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
