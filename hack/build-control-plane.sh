#!/usr/bin/env bash
# Builds the control-plane binaries envtest needs (kube-apiserver and etcd), and a kubectl of
# the same version for the demo, from source through the Go module proxy, because
# setup-envtest's prebuilt downloads cannot be reached here. The result is cached in
# $OUT_DIR; a second run with the binaries present does nothing.
#
# Usage: hack/build-control-plane.sh [OUT_DIR]
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="${1:-$ROOT/bin/k8s/$K8S_VERSION-$(go env GOOS)-$(go env GOARCH)}"
mkdir -p "$OUT_DIR"

log() { printf '[control-plane] %s\n' "$*" >&2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

build_kube_apiserver() {
  if [[ -x "$OUT_DIR/kube-apiserver" && -x "$OUT_DIR/kubectl" ]]; then
    log "kube-apiserver and kubectl v$K8S_VERSION already built"
    return
  fi
  log "building kube-apiserver v$K8S_VERSION from k8s.io/kubernetes (several minutes when cold)"
  local dir="$work/apiserver"
  mkdir -p "$dir"
  (
    cd "$dir"
    go mod init example.invalid/build-kube-apiserver >/dev/null 2>&1
    go mod edit -require="k8s.io/kubernetes@v$K8S_VERSION"
    # k8s.io/kubernetes replaces every staging module with a path inside its own tree; a
    # module that requires it must point each of those at the published v0.x release.
    local modfile
    modfile="$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" |
      sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
    local staging
    staging="$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$modfile")"
    [[ -n "$staging" ]] || { log "no staging replacements found in $modfile"; exit 1; }
    local m
    for m in $staging; do
      go mod edit -replace="$m=$m@v0.${K8S_VERSION#1.}"
    done
    printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' >tools.go
    go mod tidy >/dev/null
    local cmd
    for cmd in kube-apiserver kubectl; do
      [[ -x "$OUT_DIR/$cmd" ]] && continue
      # Build beside the target and rename, so that a running binary is never overwritten.
      CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$OUT_DIR/.$cmd.tmp" \
        "k8s.io/kubernetes/cmd/$cmd"
      mv "$OUT_DIR/.$cmd.tmp" "$OUT_DIR/$cmd"
    done
  )
  log "kube-apiserver and kubectl built"
}

build_etcd() {
  if [[ -x "$OUT_DIR/etcd" ]]; then
    log "etcd v$ETCD_VERSION already built"
    return
  fi
  log "building etcd v$ETCD_VERSION from go.etcd.io/etcd/server/v3"
  local dir="$work/etcd"
  mkdir -p "$dir"
  (
    cd "$dir"
    go mod init example.invalid/build-etcd >/dev/null 2>&1
    go mod edit -require="go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
    local m
    for m in go.etcd.io/etcd/api/v3 go.etcd.io/etcd/client/pkg/v3 go.etcd.io/etcd/client/v3 \
      go.etcd.io/etcd/pkg/v3; do
      go mod edit -replace="$m=$m@v$ETCD_VERSION"
    done
    printf 'package tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go
    go mod tidy >/dev/null
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$OUT_DIR/.etcd.tmp" go.etcd.io/etcd/server/v3
    mv "$OUT_DIR/.etcd.tmp" "$OUT_DIR/etcd"
  )
  log "etcd built"
}

build_etcd
build_kube_apiserver
echo "$OUT_DIR"
