// Prisma's CLI, set up to work without its native engines (none can be downloaded here):
// the schema engine runs as WebAssembly through a driver adapter. Used at development time
// to generate the client and to diff migrations; the apps apply migrations themselves.
import path from 'node:path';
import { defineConfig } from 'prisma/config';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(import.meta.dirname, '../../prisma/schema.prisma'),
  migrations: { path: path.join(import.meta.dirname, '../../prisma/migrations') },
  async adapter() {
    const url = process.env.DATABASE_URL;
    if (url && /^postgres(ql)?:/.test(url)) {
      const { PrismaPg } = await import('@prisma/adapter-pg');
      return new PrismaPg({ connectionString: url });
    }
    const { PGlite } = await import('@electric-sql/pglite');
    const { PrismaPGlite } = await import('pglite-prisma-adapter');
    return new PrismaPGlite(new PGlite());
  },
});
