#!/usr/bin/env bash
# Builds helm from the Go module proxy into $2 (a cache folder), once per version: `go install` of its
# published command module (no replace directives), with the ldflags of helm's own Makefile, so that
# `helm version` names the version and `helm template`/`helm lint` assume the Kubernetes minor of the
# client-go helm was built with (v1.20 otherwise).
set -euo pipefail
HELM_VERSION=${1:?helm version, e.g. v3.22.0}
OUT=${2:?output folder}
mkdir -p "$OUT/bin"
if [ ! -x "$OUT/bin/helm" ]; then
  echo "building helm $HELM_VERSION (a few minutes on first run)" >&2
  export GOFLAGS=-mod=mod CGO_ENABLED=0
  go mod download "helm.sh/helm/v3@$HELM_VERSION"
  gomod=$(go env GOMODCACHE)/helm.sh/helm/v3@$HELM_VERSION/go.mod
  client_go=$(awk '$1 == "k8s.io/client-go" {print $2; exit}' "$gomod")
  minor=${client_go#v0.}
  minor=${minor%%.*}
  pkg=helm.sh/helm/v3
  GOBIN="$OUT/bin" go install -trimpath \
    -ldflags="-s -w -X $pkg/internal/version.version=$HELM_VERSION \
      -X $pkg/pkg/lint/rules.k8sVersionMajor=1 -X $pkg/pkg/lint/rules.k8sVersionMinor=$minor \
      -X $pkg/pkg/chartutil.k8sVersionMajor=1 -X $pkg/pkg/chartutil.k8sVersionMinor=$minor" \
    "$pkg/cmd/helm@$HELM_VERSION"
fi
echo "$OUT/bin/helm"
