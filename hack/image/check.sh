#!/usr/bin/env bash
# Runs hack/image's own tests, then builds the image tarball into bin/ with hack/image/build.sh and checks it: entrypoint, user
# 65532, no shell, a static and executable /manager, the CA bundle, no secret in the
# environment, and /manager --help run from the image's own files. Then it builds the image a
# second time into another folder and fails unless both builds are byte-identical.
# Set REPRO=0 to skip the second build. Settings for the build are those of build.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

export PATH="/usr/local/go/bin:$PATH"

start=$(date +%s)
IMAGE_TAR=${IMAGE_TAR:-bin/xpander-db-operator-image.tar}
IMAGE_DIR=${IMAGE_DIR:-bin/image}
export IMAGE_TAR IMAGE_DIR
mkdir -p "$IMAGE_DIR"

echo "== hack/image tests"
(cd hack/image && go test -count=1 ./...)

echo "== build"
hack/image/build.sh | tee "$IMAGE_DIR.digests"

echo "== verify"
bin/image-builder verify -tarball "$IMAGE_TAR" -layout "$IMAGE_DIR/oci"

if [[ ${REPRO:-1} != 0 ]]; then
  echo "== build again, to check the output is reproducible"
  again=bin/image-again
  rm -rf "$again"
  IMAGE_TAR=$again/image.tar IMAGE_DIR=$again hack/image/build.sh >"$again.digests"
  # The tarball's own path is printed with its digest; compare the digests alone.
  if ! diff <(awk '{print $1, $2, $3}' "$IMAGE_DIR.digests") <(awk '{print $1, $2, $3}' "$again.digests"); then
    echo "FAIL  two builds of the same inputs differ" >&2
    exit 1
  fi
  cmp "$IMAGE_TAR" "$again/image.tar"
  cmp "$IMAGE_DIR/manager" "$again/manager"
  diff -r "$IMAGE_DIR/oci" "$again/oci"
  echo "ok    a second build is byte-identical (tarball, binary, OCI layout)"
  rm -rf "$again" "$again.digests"
fi

echo "image check passed in $(($(date +%s) - start))s"
