# syntax=docker/dockerfile:1

# --- build: the whole project with its dev dependencies; compiles TypeScript into dist/. The test
# suite runs here too: docker build --target build -t bridge-test . && docker run --rm bridge-test npm test
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# --- production dependencies only (prepare finds no compiler there and skips the build) ---
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/build.mjs ./scripts/build.mjs
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ---
FROM node:20-bookworm-slim
# WORKERS: Node 20 counts the host's CPUs, not the container's `--cpus`; on a large host the default
# (one worker per CPU, each with DB_POOL_SIZE connections) would exceed Postgres' max_connections.
# Set it to the CPUs the container gets.
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/data \
    TZ=Asia/Shanghai \
    WORKERS=2
WORKDIR /app
# Code stays root-owned (the service cannot change it); only /data belongs to the `node` user
# (uid 1000), which runs the bridge and, without DATABASE_URL, its embedded Postgres. A bind mount
# at /data must belong to uid 1000 too (start-up says so, naming DATA_DIR, when it does not).
RUN mkdir -p /data && chown node:node /data
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY scripts/build.mjs ./scripts/build.mjs
COPY public ./public
# The replay fixtures, so an integration test can run inside the image (npm run replay -- fixtures …).
COPY fixtures ./fixtures
USER node
VOLUME ["/data"]
# 8080: pushes and the admin page (hospital network); 8443 when CALLBACK_PORT=8443: only the WeChat
# callback, the one port to publish to the internet.
EXPOSE 8080 8443
# Asks /healthz on HOST:PORT (127.0.0.1 when HOST is 0.0.0.0), the address the bridge listens on.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 CMD ["node", "dist/src/cli/healthcheck.js"]
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "--max-old-space-size=1024", "dist/src/main.js"]
