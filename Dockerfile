# syntax=docker/dockerfile:1
# autoloop in a container. Build: docker build -t autoloop .
# Run the demo: docker run --rm -e AUTOLOOP_TOKEN=$(openssl rand -hex 16) -p 8080:8080 -v autoloop-data:/data autoloop
# Your own loops: mount a config and point AUTOLOOP_CONFIG at it (deploy/README.md).
#
# Three stages: `build` compiles the TypeScript to dist/ (typescript is a dev
# dependency); `builder` installs the production dependencies, every optional
# feature included (deploy/docker/image-manifest.mjs), and compiles
# better-sqlite3's native addon (python3, make, g++ and Node's headers); the
# runtime image gets dist/ and node_modules, no compiler and no TypeScript
# compile at start.

# The current LTS line; any supported line builds (--build-arg NODE_IMAGE=node:22-bookworm-slim).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY vendor ./vendor
COPY scripts ./scripts
COPY src ./src
# No install scripts: dist/ needs no native addon, only `npm run build`.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm run build

FROM ${NODE_IMAGE} AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY vendor ./vendor
COPY deploy/docker/image-manifest.mjs ./deploy/docker/
# Build the addon from source against this image's Node (headers in /usr/local),
# so nothing but the npm registry is fetched. --ignore-scripts skips `prepare`
# (the build stage made dist/); the rebuild runs better-sqlite3's own.
ENV npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local
RUN node deploy/docker/image-manifest.mjs \
 && npm install --package-lock-only --ignore-scripts --no-audit --no-fund \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 \
 && node -e "new (require('better-sqlite3'))(':memory:').close()"

FROM ${NODE_IMAGE}
# tini as PID 1: forwards SIGTERM to node and reaps the orphans command acts leave.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    AUTOLOOP_CONFIG=/app/deploy/docker/autoloop.yaml
COPY --from=builder /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json package-lock.json autoloop.yaml ./
COPY bin ./bin
COPY examples ./examples
COPY deploy/docker ./deploy/docker
# /data holds the store of the image's config; the `node` user (uid 1000) owns it.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8080
# The first SIGTERM drains in-flight items for shutdown.grace (30 s by default):
# give `docker stop` more than that (docker stop -t 40, or stop_grace_period in compose).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.AUTOLOOP_HEALTH_URL || 'http://127.0.0.1:8080/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/autoloop.js"]
CMD ["start", "--foreground"]
