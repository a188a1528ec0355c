# syntax=docker/dockerfile:1
#
# conn (@conn/cli), the Interledger connector, configured by CONNECTOR_* variables as ilp-connector v23 is.
#
#   docker build -t conn .
#   docker run --rm --init -p 127.0.0.1:7768:7768 \
#     -e CONNECTOR_ILP_ADDRESS=test.example \
#     -e CONNECTOR_ACCOUNTS='{"alice":{"relation":"child","plugin":"ilp-plugin-btp","assetCode":"USD","assetScale":9,
#          "options":{"listener":{"port":7768,"secret":"change-me"}}}}' \
#     conn
#
# Inside a container, listeners must bind all interfaces to be reachable through a published port (the
# embedded default with no CONNECTOR_ACCOUNTS listens on 127.0.0.1 only). The admin API binds 127.0.0.1 unless
# CONNECTOR_ADMIN_API_HOST says otherwise; if you set it to 0.0.0.0, also set CONNECTOR_ADMIN_API_TOKEN and
# publish it on the host's loopback only (-p 127.0.0.1:7780:7780): it can add accounts and move balances.
# Balances that survive restarts: CONNECTOR_STORE=level CONNECTOR_STORE_PATH=/data/conn with a volume on /data.

# ---- build: install with the lockfile, compile, and deploy @conn/cli with its production dependencies ----
FROM node:20-slim AS build
ENV CI=true TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 NPM_CONFIG_UPDATE_NOTIFIER=false
RUN npm i -g pnpm@10.34.9
WORKDIR /src
# The lockfile alone is enough to fetch every package into pnpm's store: this layer stays cached until the
# lockfile changes, whatever happens to the sources.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile --offline
RUN pnpm exec tsc -b
# A self-contained tree: @conn/cli (bin, dist) and node_modules with its production dependencies, the
# workspace packages copied in (not linked), at the versions of the lockfile. pnpm 10's deploy makes its
# lockfile from the workspace's only when inject-workspace-packages is on; it is turned on for this command
# alone (in the workspace config it would make every workspace package a copy during development, and the
# install above would no longer match the lockfile). `--legacy` would resolve versions afresh instead.
RUN pnpm deploy --config.inject-workspace-packages=true --offline --filter @conn/cli --prod /out

# ---- runtime: node and the deployed tree, run as the unprivileged `node` user ----
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out /app
RUN mkdir /data && chown node:node /data
USER node
# 7768: the conventional BTP listener port (embedded default; configured listeners use their own).
# 7780: the admin API (CONNECTOR_ADMIN_API=true). Documentation only: publish what your configuration uses.
EXPOSE 7768 7780
# the bin itself (its shebang starts node with the flags conn runs with)
ENTRYPOINT ["/app/bin/conn.js"]
