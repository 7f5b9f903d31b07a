#!/usr/bin/env bash
# Holds internal/connstring's URI parser against libpq's own PQconninfoParse: the table of
# URIs, libpq's reading of each rewritten URI, and the differential fuzz target's seeds. It
# installs Debian's libpq-dev when its header is missing (as root, as CI runs), and with
# FUZZTIME set (e.g. FUZZTIME=2m) also fuzzes Parse against libpq for that long.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

export PATH="/usr/local/go/bin:$PATH"
export CGO_ENABLED=1

need_pkgs=()
[[ -f /usr/include/postgresql/libpq-fe.h ]] || need_pkgs+=(libpq-dev)
command -v gcc >/dev/null || need_pkgs+=(gcc)
if ((${#need_pkgs[@]})); then
  if ((EUID != 0)); then
    echo "missing ${need_pkgs[*]}: run apt-get install -y ${need_pkgs[*]} as root" >&2
    exit 1
  fi
  echo "installing: ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}"
fi

go test -tags libpq -count=1 ./internal/connstring/...

if [[ -n "${FUZZTIME:-}" ]]; then
  go test -tags libpq -run '^$' -fuzz '^FuzzParseMatchesLibpq$' -fuzztime "$FUZZTIME" \
    ./internal/connstring/
fi
