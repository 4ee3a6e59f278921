# rebill's production image: Node.js 24 LTS, the compiled build in dist/, production dependencies
# only, running as the unprivileged `node` user.
#   docker build -t rebill .
#   docker run -e DATABASE_URL=postgres://... -e REBILL_HOST=0.0.0.0 -p 8080:8080 rebill

# Build: compile src/, migrations/ and scripts/ to dist/ with the development dependencies.
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the image has its own Node.js (the `node` devDependency would fetch
# another) and the container talks to a real PostgreSQL (no embedded one to unpack).
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
RUN node scripts/build.mjs

# Runtime: what `npm ci --omit=dev` installs, bin/ (the launcher) and dist/; no sources, no TypeScript.
FROM node:24.21.0-bookworm-slim AS runtime
ENV NODE_ENV=production \
    REBILL_HOST=0.0.0.0 \
    REBILL_PORT=8080 \
    REBILL_DATA_DIR=/var/lib/rebill
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force \
 && mkdir -p /var/lib/rebill && chown node:node /var/lib/rebill
COPY bin ./bin
COPY --from=build /app/dist ./dist
USER node
# 8080: the worker (notices, return page, payment links, /healthz, /metrics). 8081: the built-in
# sandbox gateway, started only when no Oceanpayment account is configured; 8082: the built-in
# Glocash sandbox (its payment page), started with it when no Glocash account is configured.
EXPOSE 8080 8081 8082
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.REBILL_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/rebill.mjs", "worker"]
