#!/usr/bin/env bash
# Builds every image the test command builds, cached by content, and prints their sizes (the logic is in
# test/stack/containers/; `npm test` and `npm run stack -- up` do the same when a container engine is usable):
# lagscale/{controller,sidecar,demo-producer,demo-consumer,demo-job-worker}:dev and lagscale.local/kafka:<version>,
# on bases made from Debian packages (lagscale.local/debian, lagscale.local/node-base).
#
#   bash scripts/build-images.sh
#   LAGSCALE_NODE_BASE=node:20-bookworm-slim bash scripts/build-images.sh   another base, where it can be pulled
#
# With Docker instead of podman, build one image by hand: docker build -f controller/Dockerfile -t lagscale/controller:dev .
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx tsx test/stack/containers/build-images.ts "$@"
