#!/usr/bin/env bash
# Makes a Go toolchain image from the Go installed on this machine, without a
# registry: the base image an offline grading machine offers for students'
# Dockerfiles that compile Go (examples/lab-85-student-image, and the real
# build test packages/cluster/test/images.real.test.ts).
#
#   scripts/go-toolchain-image.sh [tag]    default: labgrader-examples/go-toolchain:<go version>
#
# The image has the toolchain in /usr/local/go (on PATH), GOTOOLCHAIN=local (a
# build never downloads another toolchain), CGO_ENABLED=0 (static binaries for
# FROM scratch) and a writable /tmp for the build cache. Nothing else: no
# shell, so Dockerfiles use the exec form (RUN ["go", "build", ...]).
# Prints the tag. Idempotent: an existing image of the same Go is kept.
set -euo pipefail
version=$(go env GOVERSION)
tag=${1:-labgrader-examples/go-toolchain:${version#go}}
if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; exit 0; fi
goroot=$(go env GOROOT)
empty=$(mktemp -d)
trap 'rm -rf "$empty"' EXIT
mkdir -m 1777 "$empty/tmp"
# One stream: /tmp, then GOROOT as /usr/local/go (without its tests and docs).
tar --numeric-owner --owner=0 --group=0 -cf - \
  -C "$empty" tmp \
  -C "$goroot" --exclude=./test --exclude=./doc --exclude=./api \
  --transform 's,^\./,usr/local/go/,;s,^\.$,usr/local/go,' . |
  docker import \
    --change 'ENV PATH=/usr/local/go/bin:/usr/bin:/bin' \
    --change 'ENV GOTOOLCHAIN=local CGO_ENABLED=0 GOCACHE=/tmp/go-build GOPATH=/tmp/go HOME=/tmp' \
    --change 'WORKDIR /src' \
    --change "LABEL org.opencontainers.image.description=\"Go ${version#go} toolchain from the grading machine\"" \
    - "$tag" >/dev/null
echo "$tag"
