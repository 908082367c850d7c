#!/usr/bin/env bash
# Builds lagscale/controller:dev and lagscale/sidecar:dev with podman (CONTAINER_ENGINE=docker works too)
# and prints their sizes.
#
#   bash scripts/build-images.sh                 base: lagscale.local/node-base (made here if missing)
#   BASE=node:20-alpine bash scripts/build-images.sh   base: the official Node.js image, where it can be pulled
#
# Without a reachable image registry the base is made from Debian packages: a bookworm minbase root
# (debootstrap) with this machine's Node.js 20 and npm (Debian 12's own nodejs is 18), imported as
# lagscale.local/node-base:<node version>. Builds use the host network (no bridge addresses).
set -euo pipefail
ENGINE=${CONTAINER_ENGINE:-podman}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [ -z "${BASE:-}" ]; then
  node_version=$(node -p 'process.versions.node')
  BASE=lagscale.local/node-base:$node_version
  if ! "$ENGINE" image exists "$BASE" 2>/dev/null; then
    echo "making $BASE from Debian packages (debootstrap, about a minute)" >&2
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase bookworm "$rootfs" >/dev/null
    node_bin=$(command -v node)
    node_lib=$(dirname "$(dirname "$node_bin")")/lib/node_modules
    install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
    mkdir -p "$rootfs/usr/local/lib/node_modules"
    cp -a "$node_lib/npm" "$rootfs/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
    # what a runtime image does not need
    rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* \
      "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    tar -C "$rootfs" -c . | "$ENGINE" import --change 'CMD ["node"]' - "$BASE" >/dev/null
  fi
fi

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# npm in the build stages trusts what npm here trusts (a registry behind a TLS-inspecting proxy): the CA
# file is mounted for the build only (podman), never copied into an image
mounts=()
cafile=$(npm config get cafile 2>/dev/null || true)
if [ "$ENGINE" = podman ] && [ -f "$cafile" ]; then
  npmrc=$(mktemp)
  echo "cafile=/etc/ssl/certs/build-ca.crt" >"$npmrc"
  mounts=(-v "$cafile:/etc/ssl/certs/build-ca.crt:ro" -v "$npmrc:/usr/local/etc/npmrc:ro")
fi
build() { # name dockerfile
  local started=$SECONDS
  "$ENGINE" build --network host --pull=never "${mounts[@]}" --build-arg "BASE=$BASE" \
    --build-arg "GIT_COMMIT=$commit" -f "$2" -t "$1" . >&2
  echo "built $1 in $((SECONDS - started)) s" >&2
}
build lagscale/controller:dev controller/Dockerfile
build lagscale/sidecar:dev sidecar/Dockerfile
"$ENGINE" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^(localhost/)?(lagscale/(controller|sidecar):dev|lagscale.local/node-base)'
