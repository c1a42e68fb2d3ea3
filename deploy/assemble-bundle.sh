#!/bin/sh
# Assembles the gateway's runtime bundle into the directory $1, from a checkout where `pnpm build` has run:
# apps/gateway/dist, its production dependencies (node_modules, with the workspace packages' dist), the admin
# console's static files (apps/console/dist, served at /console from ./console) and the shipped gateway.yaml. The
# Dockerfile copies exactly this directory into its runtime image, and deploy/smoke-bundle.sh starts it the way the
# image does.
set -eu
out=${1:?usage: assemble-bundle.sh <output directory>}
cd "$(dirname "$0")/.."
rm -rf "$out"
pnpm --filter @gw/gateway deploy --prod "$out"
# pnpm writes its workspace files next to the package; nothing reads them at runtime.
rm -f "$out/pnpm-lock.yaml" "$out/pnpm-workspace.yaml"
cp gateway.yaml "$out/gateway.yaml"
[ -f apps/console/dist/index.html ] || { echo "assemble-bundle: no apps/console/dist: run pnpm build first" >&2; exit 1; }
cp -R apps/console/dist "$out/console"
