#!/usr/bin/env bash
# Makes the chart check's tools and prints the path of the one asked for. Both are cached in
# bin/; a second run with the tool present does nothing.
#
#   helm      built from its Go module at $HELM_VERSION with `go install`, which resolves
#             helm's dependencies from helm's own go.mod and leaves ours alone.
#   promtool  unpacked from Debian's prometheus package with dpkg-deb: the package is not
#             installed, so no Prometheus service is set up or started.
#
# Usage: hack/chart/tools.sh helm|promtool
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.21.4}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="$ROOT/bin"

log() { printf '[chart tools] %s\n' "$*" >&2; }

helm_bin() {
  local out="$BIN/helm-$HELM_VERSION"
  if [[ ! -x "$out" ]]; then
    log "building helm $HELM_VERSION from source (a few minutes when the module cache is cold)"
    local tmp
    tmp="$(mktemp -d)"
    # The -X sets what `helm version` reports; go install leaves it at the minor version.
    GOBIN="$tmp" CGO_ENABLED=0 go install \
      -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    mkdir -p "$BIN"
    mv "$tmp/helm" "$out"
    rm -rf "$tmp"
  fi
  echo "$out"
}

promtool_bin() {
  local out="$BIN/promtool"
  if [[ ! -x "$out" ]]; then
    log "unpacking promtool from Debian's prometheus package"
    local tmp
    tmp="$(mktemp -d)"
    (
      cd "$tmp"
      apt-get download prometheus >/dev/null 2>&1 || {
        apt-get update -qq
        apt-get download prometheus
      }
      dpkg-deb -x prometheus_*.deb root
    )
    mkdir -p "$BIN"
    mv "$tmp/root/usr/bin/promtool" "$out"
    rm -rf "$tmp"
  fi
  echo "$out"
}

case "${1:-}" in
  helm) helm_bin ;;
  promtool) promtool_bin ;;
  *) echo "usage: $0 helm|promtool" >&2; exit 2 ;;
esac
