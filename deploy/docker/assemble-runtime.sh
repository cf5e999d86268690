#!/bin/sh
# Assembles what one app's runtime image holds, in the repository's layout, into OUT_DIR:
# production dependencies of that app and its workspace packages only, their compiled output, the
# Prisma schema and migrations. Run from the repository root with the sources and every `dist` of
# the app and its packages in place, and pnpm's store filled for the lockfile (it installs offline).
#
#   deploy/docker/assemble-runtime.sh <auth-server|mcp-server> <OUT_DIR>
#
# The Dockerfile's prod-<app> stages run it; e2e/test/runtime-image.test.ts runs it too and starts
# the apps from OUT_DIR, so what the images hold is tested where no container can run.
# `pnpm deploy` would flatten the workspace packages into node_modules/.pnpm and break the relative
# path packages/db uses to find prisma/migrations, hence a filtered production install instead.
set -eu

app="${1:?usage: assemble-runtime.sh <app> <out-dir>}"
out="${2:?usage: assemble-runtime.sh <app> <out-dir>}"
case "$app" in
  auth-server | mcp-server) ;;
  *) echo "unknown app: $app" >&2; exit 64 ;;
esac
[ -e "$out" ] && { echo "$out exists; refusing to assemble into it" >&2; exit 73; }
for built in packages/shared/dist/index.js packages/db/dist/index.js "apps/$app/dist/main.js"; do
  [ -f "$built" ] || { echo "$built is missing: build first" >&2; exit 66; }
done

# A full install (or `pnpm fetch`) leaves every package linked: start from empty node_modules.
# --filter-prod follows production dependencies only: with --filter, a workspace package the app
# uses only in its tests (testkit) would be selected and its dependencies installed.
rm -rf node_modules packages/*/node_modules apps/*/node_modules
pnpm install --prod --frozen-lockfile --offline --filter-prod "@mcp-gw/$app..."

mkdir -p "$out"
cp -a --parents \
  package.json node_modules prisma/schema.prisma prisma/migrations \
  packages/shared/package.json packages/shared/dist packages/shared/node_modules \
  packages/db/package.json packages/db/dist packages/db/node_modules \
  "apps/$app/package.json" "apps/$app/dist" "apps/$app/node_modules" \
  "$out/"
# Tests compiled beside the code are not shipped.
find "$out" -path '*/dist/*' -name '*.test.*' -delete
# Prisma's CLI and TypeScript are linked as @prisma/client's optional peers: cut, and with them every
# package nothing at run time reaches (about half of each image).
node deploy/docker/prune-runtime.mjs "$out"
