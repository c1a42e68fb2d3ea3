# The gw gateway: built with pnpm in one stage, run from the built bundle alone (deploy/assemble-bundle.sh) in the
# next, as the unprivileged `node` user. deploy/smoke-bundle.sh starts that bundle the way this image does (CI runs
# it), since there is no container runtime where the tests run.
#
#   docker build -t gw .
#   docker run -p 8787:8787 -e GW_MASTER_KEY=change-me gw
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
ARG PNPM_VERSION=11.28.11
RUN npm install --global --no-audit --no-fund "pnpm@${PNPM_VERSION}"
WORKDIR /src
# The lockfile alone decides what is downloaded: this layer is reused until it changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile \
  && pnpm exec turbo run build --filter=@gw/gateway... --filter=@gw/console \
  && sh deploy/assemble-bundle.sh /out

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# HOST: listen on every interface of the container (gateway.yaml says 127.0.0.1 for a laptop).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8787 \
    GW_CONFIG=/app/gateway.yaml
WORKDIR /app
# Owned by root and not writable by the process; only ./data (SQLite ledger, spill file) is.
COPY --from=build /out /app
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8787
VOLUME ["/app/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8787) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node runs as PID 1 and handles SIGTERM itself: it drains for up to server.drainTimeoutMs, then exits.
CMD ["node", "--max-semi-space-size=16", "--heap-growing-percent=80", "dist/main.js"]
