#!/usr/bin/env bash
# Runs the end-to-end demo (hack/demo/main.go) from the repository root: a local control
# plane, the xpander API stand-in, PostgreSQL over TLS, the operator, and six clients (psql
# three ways, pgx, pgjdbc, node-postgres) that log in with the managed Secret alone. `make
# demo` runs it as it is and `make e2e` with --ci; both build bin/ and the control plane
# first, and the demo builds the clients in hack/consumers itself. It needs go, javac and
# java (openjdk-17-jdk-headless), node and npm (nodejs, npm) and the pgjdbc jar
# (libpostgresql-jdbc-java), besides PostgreSQL. Flags go through to the program: --ci,
# --keep, --workdir DIR, --bin-dir DIR, --assets DIR, --pg-bin-dir DIR, --jdbc-jar FILE.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec go run ./hack/demo "$@"
