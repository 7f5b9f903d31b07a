#!/usr/bin/env bash
# Copies config/crd/bases/*.yaml into the chart and writes the manager ClusterRole's rules
# from config/rbac/role.yaml into the chart's files/, so that the chart installs what
# `make manifests` generates. With --check it changes nothing and fails when the chart is out
# of date (for `make verify`).
#
# Usage: hack/chart/sync.sh [--check]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
case "${1:-}" in
  "") exec go run ./hack/chart sync ;;
  --check) exec go run ./hack/chart sync -check ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
