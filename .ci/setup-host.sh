#!/usr/bin/env bash
# Host toolchain for the tests: cross compilers, musl (amd64 and arm64), qemu, Docker engine,
# a registry (docker-registry, buildah for the arm64 image, htpasswd for its login).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# actionlint, which the scaffold's GitHub workflow must pass: built from source through the Go proxy
# (it needs only the machine's Go) while the Debian packages install
linting=""
if ! command -v actionlint >/dev/null 2>&1; then
  GOBIN=/usr/local/bin GOFLAGS=-buildvcs=false go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 &
  linting=$!
fi
need=()
for pkg in gcc-aarch64-linux-gnu libc6-dev-arm64-cross musl-tools qemu-user docker.io debootstrap openssh-server \
    golang-1.19-go docker-registry buildah apache2-utils; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ! dpkg -s musl:arm64 >/dev/null 2>&1; then
  dpkg --add-architecture arm64
  need+=(musl:arm64 musl-dev:arm64)
fi
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# Debian has no aarch64 musl compiler driver; the musl specs of musl:arm64 make one.
cat > /usr/local/bin/aarch64-linux-musl-gcc <<'SH'
#!/bin/sh
exec aarch64-linux-gnu-gcc "$@" -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs
SH
chmod +x /usr/local/bin/aarch64-linux-musl-gcc
if [ -n "$linting" ]; then wait "$linting"; fi
