#!/usr/bin/env bash
# Builds the operator's container image without a Docker engine: a static manager binary, then
# hack/image assembles it from scratch (no base image is pulled) into an OCI layout and a
# `docker load` tarball. The same commit, toolchain and CA bundle give byte-identical output.
#
# Settings, all optional (environment):
#   IMG                the tag the tarball carries        (xpander-db-operator:dev)
#   IMAGE_TAR          where the tarball goes             (bin/xpander-db-operator-image.tar)
#   IMAGE_DIR          where the binary and layout go     (bin/image: manager, oci/)
#   VERSION            stamped into the binary and label  (git describe, else dev)
#   REVISION           the commit label                   (git rev-parse HEAD, else unknown)
#   SOURCE_DATE_EPOCH  the one time stamped on the image  (the commit's time, else 0)
#   GOARCH             the architecture to build for      (this machine's)
#   CA_BUNDLE          the CA certificates to ship        (/etc/ssl/certs/ca-certificates.crt)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

export PATH="/usr/local/go/bin:$PATH"

git_or() { git "$@" 2>/dev/null || true; }

IMG=${IMG:-xpander-db-operator:dev}
IMAGE_TAR=${IMAGE_TAR:-bin/xpander-db-operator-image.tar}
IMAGE_DIR=${IMAGE_DIR:-bin/image}
VERSION=${VERSION:-$(git_or describe --tags --always --dirty)}
VERSION=${VERSION:-dev}
REVISION=${REVISION:-$(git_or rev-parse HEAD)}
REVISION=${REVISION:-unknown}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git_or log -1 --format=%ct)}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
GOARCH=${GOARCH:-$(go env GOARCH)}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

if [[ ! -s $CA_BUNDLE ]]; then
  echo "no CA bundle at $CA_BUNDLE: install Debian's ca-certificates or set CA_BUNDLE" >&2
  exit 1
fi

mkdir -p "$IMAGE_DIR" "$(dirname "$IMAGE_TAR")"

# -trimpath and -buildvcs=false keep the checkout's path and state out of the binary; the
# revision goes into the image's label instead. timetzdata embeds Go's time zone database,
# since the image has no /usr/share/zoneinfo and spec.timeZone needs one.
CGO_ENABLED=0 GOOS=linux GOARCH=$GOARCH go build -trimpath -buildvcs=false -tags timetzdata \
  -ldflags "-s -w -X main.version=$VERSION" -o "$IMAGE_DIR/manager" .

# The assembler is built for this machine, whatever GOARCH the image is for.
(cd hack/image && GOOS= GOARCH= CGO_ENABLED=0 go build -trimpath -o ../../bin/image-builder .)

bin/image-builder build \
  -binary "$IMAGE_DIR/manager" \
  -ca-bundle "$CA_BUNDLE" \
  -tarball "$IMAGE_TAR" \
  -layout "$IMAGE_DIR/oci" \
  -tag "$IMG" \
  -arch "$GOARCH" \
  -version "$VERSION" \
  -revision "$REVISION"
