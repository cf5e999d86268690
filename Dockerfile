# syntax=docker/dockerfile:1
#
# One Dockerfile, two images (targets), built from the repository root:
#
#   docker build --target auth-server -t mcp-gw/auth-server:0.1.0 .
#   docker build --target mcp-server  -t mcp-gw/mcp-server:0.1.0  .
#
# Both apps share the dependency fetch and the turbo build, so one build context and one cache serve
# both images. The runtime images keep the monorepo's layout (/app/apps/<app>/dist,
# /app/packages/*/dist, /app/prisma/migrations): packages/db finds the migrations at
# ../../../prisma/migrations from its dist folder, and the documented commands
# (`node apps/auth-server/dist/main.js`, `node packages/db/dist/cli/migrate.js`) work unchanged.
# The runtime holds only the production dependencies of that one app and its workspace packages
# (deploy/docker/assemble-runtime.sh says why not `pnpm deploy`).
#
# Base image pinned by full version tag: Node 24, an LTS line in support (Node 20 reached its end of
# life in April 2026 and gets no security fixes). CI runs the whole test suite on this exact version
# (.ci/run reads it from here). To pin by digest as well, build with
#   --build-arg NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:<digest>
# (`docker buildx imagetools inspect node:24.21.0-bookworm-slim` prints it).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim
ARG PNPM_VERSION=10.34.0

# ---------------------------------------------------------------------------------------------
# base: Node + pnpm (build stages only; the runtime stages have no package manager)
FROM ${NODE_IMAGE} AS base
ARG PNPM_VERSION
ENV PNPM_HOME=/pnpm \
    CI=true \
    TURBO_TELEMETRY_DISABLED=1 \
    NEXT_TELEMETRY_DISABLED=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1 \
    CHECKPOINT_DISABLE=1
RUN npm install --global --no-fund --no-audit "pnpm@${PNPM_VERSION}" \
 && npm cache clean --force \
 && pnpm config set --global store-dir /pnpm/store
WORKDIR /repo

# ---------------------------------------------------------------------------------------------
# deps: every package of the lockfile in pnpm's store. Only the lockfile is copied, so this layer
# is rebuilt only when dependencies change, not on every source edit.
FROM base AS deps
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch --frozen-lockfile

# ---------------------------------------------------------------------------------------------
# build: full install from the store (offline), Prisma client generation and tsc via turbo.
FROM deps AS build
COPY . .
RUN pnpm install --frozen-lockfile --offline
RUN pnpm exec turbo run build --filter=@mcp-gw/auth-server --filter=@mcp-gw/mcp-server

# ---------------------------------------------------------------------------------------------
# prod-<app>: production dependencies of one app and its workspace packages only, plus the
# compiled output, assembled into /out with the repository's layout by deploy/docker/assemble-runtime.sh
# (the same script the tests run to start the apps from what an image holds).
FROM deps AS prod-auth-server
COPY . .
COPY --from=build /repo/packages/shared/dist packages/shared/dist
COPY --from=build /repo/packages/db/dist packages/db/dist
COPY --from=build /repo/apps/auth-server/dist apps/auth-server/dist
RUN sh deploy/docker/assemble-runtime.sh auth-server /out

FROM deps AS prod-mcp-server
COPY . .
COPY --from=build /repo/packages/shared/dist packages/shared/dist
COPY --from=build /repo/packages/db/dist packages/db/dist
COPY --from=build /repo/apps/mcp-server/dist apps/mcp-server/dist
RUN sh deploy/docker/assemble-runtime.sh mcp-server /out

# ---------------------------------------------------------------------------------------------
# runtime: slim Node, non-root, files owned by root and read-only for the process.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
LABEL org.opencontainers.image.source="https://github.com/example/mcp-ticket-gateway" \
      org.opencontainers.image.licenses="UNLICENSED"
# The official image's unprivileged user (uid/gid 1000).
USER node:node

# ---------------------------------------------------------------------------------------------
# auth-server: the OAuth 2.1 authorization server. Also the migration image:
#   docker run --rm -e DATABASE_URL=... mcp-gw/auth-server:0.1.0 node packages/db/dist/cli/migrate.js
FROM runtime AS auth-server
COPY --from=prod-auth-server /out/ /app/
ENV PORT=4000
EXPOSE 4000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "apps/auth-server/dist/main.js"]

# ---------------------------------------------------------------------------------------------
# mcp-server: the MCP resource server (Streamable HTTP, SSE).
FROM runtime AS mcp-server
COPY --from=prod-mcp-server /out/ /app/
ENV PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "apps/mcp-server/dist/main.js"]
