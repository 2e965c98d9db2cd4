#!/bin/sh
# build.sh VERSION OUTDIR: the release build of repost, in one place.
#
# The Dockerfile RUNs this script and CI runs it (deployments/build_test.go),
# so the flags below are literally the ones both use. Cross-compile by setting
# GOOS/GOARCH in the environment (the Dockerfile does, from TARGETOS/TARGETARCH).
#
#   CGO_ENABLED=0  static binaries: no libc, run on distroless/static or scratch
#   -trimpath      no build-machine paths in binaries or stack traces
#   -buildvcs=false  no git stamp: the image's build context has no .git, so
#                  CI's binaries equal the image's (and git ownership checks
#                  in CI containers cannot fail the build)
#   -s -w          no symbol table or DWARF (smaller image)
#   -X main.version=VERSION  the version repost_build_info reports
set -eu

usage="usage: deployments/build.sh VERSION OUTDIR"
VERSION="${1:?$usage}"
OUT="${2:?$usage}"

case "$OUT" in /*) ;; *) OUT="$(pwd)/$OUT" ;; esac
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION}" -o "$OUT/" ./cmd/repostd ./cmd/repostctl
