#!/usr/bin/env bash
# Build local stand-ins for krakend/builder:<v> and krakend/builder:<v>-linux-generic.
# No registry can be pulled here, so both are made from a debootstrapped Debian 12 with the
# release's exact Go and the cross compilers. The Alpine stand-in makes `gcc` a musl compiler
# (as it is on Alpine) and ships `aarch64-linux-musl-gcc`, so the product's recipes run unchanged.
# The images carry this host's CA bundle: `go` in a container fetches modules through the same
# TLS as the host does. They are labelled with this script's digest and rebuilt when it changes.
# Usage: builder-images.sh VERSION GO_VERSION   (DOCKER_HOST must point at the engine)
set -euo pipefail
version=$1 go=$2
repo=${KT_BUILDER_REPO:-local/krakend-builder}
recipe=$(sha256sum "$0" | cut -c1-16)
labels=$(docker image inspect -f '{{index .Config.Labels "krakend-tasks.recipe"}}' \
  "$repo:$version" "$repo:$version-linux-generic" 2>/dev/null || true)
if [ "$labels" = "$(printf '%s\n%s' "$recipe" "$recipe")" ]; then exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! docker image inspect local/bookworm:base >/dev/null 2>&1; then
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$work/rootfs" -c . | docker import - local/bookworm:base >/dev/null
  rm -rf "$work/rootfs"
fi
GOTOOLCHAIN="go$go" go version >/dev/null
toolchain="$(go env GOMODCACHE)/golang.org/toolchain@v0.0.1-go$go.linux-amd64"
mkdir -p "$work/ctx"
cp -a "$toolchain" "$work/ctx/go"
chmod -R u+w "$work/ctx/go"
cp /etc/ssl/certs/ca-certificates.crt "$work/ctx/ca-certificates.crt"
cat > "$work/ctx/Dockerfile" <<DOCKERFILE
FROM local/bookworm:base
RUN dpkg --add-architecture arm64 && apt-get update -q \
 && apt-get install -y -q --no-install-recommends gcc libc6-dev binutils-gold musl-tools \
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross musl:arm64 musl-dev:arm64 ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
COPY go /usr/local/go
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV PATH=/go/bin:/usr/local/go/bin:\$PATH GOPATH=/go GOTOOLCHAIN=local
LABEL krakend-tasks.recipe=$recipe
WORKDIR /go/src/app
DOCKERFILE
docker build -q --network host -t "$repo:$version-linux-generic" "$work/ctx" >/dev/null
mkdir -p "$work/alpine"
cat > "$work/alpine/Dockerfile" <<DOCKERFILE
FROM $repo:$version-linux-generic
RUN printf '#!/bin/sh\nexec x86_64-linux-gnu-gcc "\$@" -specs /usr/lib/x86_64-linux-musl/musl-gcc.specs\n' > /usr/local/bin/gcc \
 && printf '#!/bin/sh\nexec aarch64-linux-gnu-gcc "\$@" -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs\n' > /usr/local/bin/aarch64-linux-musl-gcc \
 && chmod +x /usr/local/bin/gcc /usr/local/bin/aarch64-linux-musl-gcc
DOCKERFILE
docker build -q --network host -t "$repo:$version" "$work/alpine" >/dev/null
echo "built $repo:$version and $repo:$version-linux-generic" >&2
