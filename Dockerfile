# stampede's image: the built package (dist/, production dependencies) on Node 24, run as a non-root user.
#   docker build -t stampede .
#   docker run -p 8080:8080 -v stampede-data:/data stampede            # embedded mode, data in /data
#   docker run ... -e REDIS_URL=... -e DATABASE_URL=... stampede api   # distributed mode (docker-compose.yml)
ARG NODE_IMAGE=node:24-bookworm-slim

# Build: every dependency, then dist/ from the sources (scripts/prepack.mjs, as `npm pack` does).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN node scripts/prepack.mjs

# Production dependencies only, exactly as locked.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force

# Run: no sources, so bin/stampede.js runs dist/; code owned by root, only /data writable by the process.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
WORKDIR /app
COPY package.json ./
COPY bin bin
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# /readyz: 200 when this process's dependencies answer, 503 while they do not and from the start of a drain.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is the process that gets SIGTERM, and drains (SHUTDOWN_TIMEOUT_MS, 10 s by default).
ENTRYPOINT ["node", "bin/stampede.js"]
CMD ["start"]
