# syntax=docker/dockerfile:1
# Cairn: multi-stage build on Node 22 LTS (slim). The app runs its TypeScript sources with tsx,
# so there is no build output; the first stage type-checks, the final stage has production
# dependencies only and runs as the unprivileged "node" user.

FROM node:22-slim AS check
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
COPY commands ./commands
COPY test ./test
COPY bench ./bench
COPY .config ./.config
RUN npm run typecheck

FROM node:22-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

FROM node:22-slim
# run_code's sandbox: bubblewrap and Python with matplotlib for charts (prlimit and setpriv come with
# util-linux). bwrap leaves an exited helper per run for PID 1 to reap, which node does not do: tini does.
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap python3 python3-matplotlib tini \
    && rm -rf /var/lib/apt/lists/*
# MALLOC_ARENA_MAX: glibc gives each of LanceDB's worker threads its own malloc arena (up to 8 per
# core), and a bot taking a steady stream of turns kept growing in them; two arenas held it flat
# (bench:soak).
ENV NODE_ENV=production \
    CAIRN_DATA_DIR=/app/memory-data \
    MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json ./
COPY --from=check --chown=root:root /app/src ./src
COPY --from=check --chown=root:root /app/commands ./commands
# The memory database is the only place the app writes; it is a volume owned by the app user.
RUN mkdir -p /app/memory-data && chown node:node /app/memory-data
VOLUME ["/app/memory-data"]
USER node
# tini forwards SIGTERM to the bot (which stops gracefully) and reaps exited processes. Docker's
# default seccomp and AppArmor profiles block the user namespaces bubblewrap needs: run with
# --security-opt seccomp=unconfined --security-opt apparmor=unconfined (or a profile allowing
# CLONE_NEWUSER), or run_code is left out with the reason logged.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "src/bin/cairn.js", "bot"]
