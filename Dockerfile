# The operator's image, for those who build with Docker (docker build -t IMG .). Without a
# Docker engine, `make image` builds an equivalent image from scratch with hack/image.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) -t xpander-db-operator:dev .

FROM golang:1.26 AS builder
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src

# Modules first, in a layer of their own, so that a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download

COPY main.go ./
COPY api/ api/
COPY internal/ internal/

# Static (no cgo), with no build paths or VCS state in the binary. timetzdata embeds Go's zone
# database, so spec.timeZone works even on a base without /usr/share/zoneinfo.
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -buildvcs=false \
      -tags timetzdata -ldflags "-s -w -X main.version=${VERSION}" -o /out/manager .

# distroless/static: CA certificates, tzdata, /etc/passwd with nonroot (65532), and no shell.
FROM gcr.io/distroless/static:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.source="https://github.com/xpander-ai/xpander-db-operator" \
      org.opencontainers.image.title="xpander-db-operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
WORKDIR /
COPY --from=builder /out/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
