#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl and etcd from the Go module proxy into $2 (a cache folder).
# k8s.io/kubernetes and etcd's server cannot be `go install`ed (their go.mod has replace directives), so each
# is built from a small module of ours that requires it, mapping the staging modules to their published tags.
set -euo pipefail
KUBE_VERSION=${1:?kube version, e.g. v1.36.3}
ETCD_VERSION=${2:?etcd version, e.g. v3.6.16}
OUT=${3:?output folder}
WORK="$OUT/src"
mkdir -p "$WORK/kube" "$WORK/etcd" "$OUT/bin"
export GOFLAGS=-mod=mod CGO_ENABLED=0
staging_tag="v0.${KUBE_VERSION#v1.}"

KUBE_CMDS=(kube-apiserver kube-controller-manager kubectl)
missing=()
for cmd in "${KUBE_CMDS[@]}"; do
  [ -x "$OUT/bin/$cmd" ] || missing+=("k8s.io/kubernetes/cmd/$cmd")
done

if [ "${#missing[@]}" -gt 0 ]; then
  cd "$WORK/kube"
  [ -f go.mod ] || go mod init lagscale.local/controlplane >/dev/null 2>&1
  go mod download k8s.io/kubernetes@"$KUBE_VERSION"
  kmod=$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBE_VERSION/go.mod
  {
    echo "module lagscale.local/controlplane"
    echo
    echo "go $(awk '/^go /{print $2; exit}' "$kmod")"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    awk '/=> \.\/staging\/src\//{print "\t" $1 " => " $1 " '"$staging_tag"'"}' "$kmod"
    echo ")"
  } > go.mod
  cat > tools.go <<'GO'
//go:build tools

package controlplane

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  go mod tidy >/dev/null 2>&1 || go get "${missing[@]}"
  echo "building ${missing[*]##*/} $KUBE_VERSION (several minutes on first run)" >&2
  go build -trimpath -ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION" \
    -o "$OUT/bin/" "${missing[@]}"
fi

if [ ! -x "$OUT/bin/etcd" ]; then
  cd "$WORK/etcd"
  [ -f go.mod ] || go mod init lagscale.local/etcd >/dev/null 2>&1
  cat > main.go <<'GO'
// Command etcd runs etcd's own entry point, built from the published server module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go get go.etcd.io/etcd/server/v3@"$ETCD_VERSION" >/dev/null
  go mod tidy >/dev/null
  echo "building etcd $ETCD_VERSION" >&2
  go build -trimpath -ldflags="-s -w" -o "$OUT/bin/etcd" .
fi
echo "$OUT/bin"
