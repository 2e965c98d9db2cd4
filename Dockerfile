# syntax=docker/dockerfile:1
#
# repost image: repostd (entrypoint) and repostctl, static, on distroless.
#
#   docker buildx build --build-arg VERSION=$(git describe --tags --always) -t repost .
#
# The build flags live in deployments/build.sh, which CI runs too
# (deployments/dockerfile_test.go and build_test.go check the two agree).

# The builder runs on the build machine's platform and cross-compiles for the
# target one (CGO_ENABLED=0 needs no C toolchain for that).
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src

# Modules first: this layer and the module cache survive source edits.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH sh ./deployments/build.sh "${VERSION}" /out

FROM gcr.io/distroless/static-debian12:nonroot
# distroless "nonroot" is uid/gid 65532. Kubernetes cannot check runAsNonRoot
# against a user name, so the manifests also set runAsUser: 65532.
COPY --from=build /out/repostd /out/repostctl /usr/local/bin/
USER nonroot
# Without a NATS URL repostd runs an embedded server under ./data (`repostd demo`):
# the nonroot home is the one writable directory of the image.
WORKDIR /home/nonroot
EXPOSE 8080
ENV REPOST_HTTP_ADDR=:8080
ENTRYPOINT ["/usr/local/bin/repostd"]
