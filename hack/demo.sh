#!/usr/bin/env bash
# Runs the end-to-end demo (hack/demo/main.go) from the repository root: a local control
# plane, the xpander API stand-in, PostgreSQL over TLS, the operator and psql. `make demo`
# runs it as it is and `make e2e` with --ci; both build bin/ and the control plane first.
# Flags go through to the program: --ci, --keep, --workdir DIR, --bin-dir DIR, --assets DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec go run ./hack/demo "$@"
