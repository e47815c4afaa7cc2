#!/usr/bin/env bash
# Compile the real KrakenD CE from ../shared/krakend/source exactly as the official release is
# built (GOPATH=/go, the release's Go, cgo, no -trimpath, the release ldflags), for amd64 glibc,
# amd64 musl, arm64 glibc and arm64 musl (these two run under qemu), and make an image of the official image's shape
# (user 1000, /etc/krakend, entrypoint and cmd) from the musl binary.
#
# The binaries are cached outside the checkout by the digest of their inputs (the source, the
# module proxy folder, the build recipe): a second run on the same machine rebuilds nothing.
# Prints the variables the tests read, for `eval`:
#   KT_KRAKEND_DIR     folder with krakend-<target> for the four targets (amd64|arm64)-(generic|alpine)
#   KT_KRAKEND_INTEGRATION  krakend-integration, KrakenD's integration harness (amd64)
#   KT_KRAKEND_IMAGE   the image, when a Docker engine answers (DOCKER_HOST)
# Usage: krakend.sh [--binaries] [--only VARIANTS] [SOURCE_DIR]   (default: ../shared/krakend/source beside
#        the checkout; --binaries: the binaries only, e.g. while the base image is still being made;
#        --only amd64-generic: those variants only, e.g. before the cross compilers are installed)
# Two runs at once take turns (a lock in the cache): the second finds what the first built.
set -euo pipefail
binaries_only="" only=""
if [ "${1:-}" = "--binaries" ]; then binaries_only=yes; shift; fi
if [ "${1:-}" = "--only" ]; then only=$2; binaries_only=yes; shift 2; fi
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "${1:-$here/../../shared/krakend/source}" && pwd)
version=2.13.8 go=1.25.12 alpine_libc="MUSL-1.2.5_(alpine-3.23)"
image=${KT_KRAKEND_IMAGE_REPO:-local/krakend}:$version
cache=${KT_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/krakend-tasks-ci}
variants=(amd64-generic amd64-alpine arm64-generic arm64-alpine)

build() {  # build VARIANT: one binary into $out
  local variant=$1 work=$2 libc cc goarch=amd64 extra=""
  case $variant in
    amd64-generic) cc=gcc; libc=$(cd "$work" && sh find_glibc.sh) ;;
    amd64-alpine) cc=musl-gcc; libc=$alpine_libc; extra="-extldflags=-fuse-ld=bfd" ;;
    arm64-generic) cc=aarch64-linux-gnu-gcc; goarch=arm64; libc=$(cd "$work" && sh find_glibc.sh)
      extra="-extld=aarch64-linux-gnu-gcc -extldflags=-fuse-ld=bfd" ;;
    arm64-alpine) cc=aarch64-linux-musl-gcc; goarch=arm64; libc=$alpine_libc
      extra="-extld=aarch64-linux-musl-gcc -extldflags=-fuse-ld=bfd" ;;
  esac
  echo "compiling KrakenD $version for $variant (libc $libc)" >&2
  (cd "$work" && env GOPATH=/go GOMODCACHE=/go/pkg/mod GOTOOLCHAIN="go$go" GOFLAGS=-buildvcs=false \
    GOPROXY="file://$src/proxy,$(go env GOPROXY)" GONOSUMDB=github.com/krakend,github.com/luraproject \
    CGO_ENABLED=1 CC=$cc GOOS=linux GOARCH=$goarch \
    go build -ldflags="-X github.com/krakend/krakend-ce/v2/pkg.Version=$version \
-X github.com/luraproject/lura/v2/core.KrakendVersion=$version \
-X github.com/luraproject/lura/v2/core.GlibcVersion=$libc $extra" \
    -o "$out/.krakend-$variant.partial" ./cmd/krakend-ce)
  mv "$out/.krakend-$variant.partial" "$out/krakend-$variant"
}

build_integration() {  # krakend-integration into $out (not part of the digest: adding it rebuilt no KrakenD)
  echo "compiling krakend-integration $version" >&2
  (cd "$1" && env GOPATH=/go GOMODCACHE=/go/pkg/mod GOTOOLCHAIN="go$go" GOFLAGS=-buildvcs=false \
    GOPROXY="file://$src/proxy,$(go env GOPROXY)" GONOSUMDB=github.com/krakend,github.com/luraproject \
    go build -o "$out/.krakend-integration.partial" ./cmd/krakend-integration)
  mv "$out/.krakend-integration.partial" "$out/krakend-integration"
}

# the inputs: every file of the source folder, the versions and the recipe (this function's text)
digest=$( (cd "$src" && find . -type f | LC_ALL=C sort | xargs sha256sum; echo "$version $go $alpine_libc"
  declare -f build) | sha256sum | cut -c1-16)
out=$cache/krakend-$version-$digest
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -n "$only" ]; then IFS=, read -r -a variants <<<"$only"; fi
missing=()
for v in "${variants[@]}"; do [ -x "$out/krakend-$v" ] || missing+=("$v"); done
# KrakenD's own integration harness (cmd/krakend-integration), for this host: the yardstick of specs
[ -n "$only" ] || [ -x "$out/krakend-integration" ] || missing+=(integration)
if [ ${#missing[@]} -gt 0 ]; then
  mkdir -p "$out" /go/pkg/mod
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  tar -C "$work" -xzf "$src/krakend-ce-v$version.tar.gz"
  for v in "${missing[@]}"; do
    if [ "$v" = integration ]; then build_integration "$work/krakend-ce-$version"; else build "$v" "$work/krakend-ce-$version"; fi
  done
fi
echo "export KT_KRAKEND_DIR=$out"
echo "export KT_KRAKEND_INTEGRATION=$out/krakend-integration"

# the image: only where a Docker engine answers; rebuilt when the binary (its digest) changes
if [ -n "$binaries_only" ] || ! docker version >/dev/null 2>&1; then exit 0; fi
have=$(docker image inspect -f '{{index .Config.Labels "krakend-tasks.recipe"}}' "$image" 2>/dev/null || true)
if [ "$have" != "$digest" ]; then
  docker image inspect local/bookworm:base >/dev/null 2>&1 \
    || { echo "local/bookworm:base is missing: run .ci/builder-images.sh first" >&2; exit 1; }
  ctx=$(mktemp -d)
  cp "$out/krakend-amd64-alpine" "$ctx/krakend"
  cp -L /usr/lib/x86_64-linux-musl/libc.so "$ctx/libc.musl"  # Debian's musl: the musl loader and libc in one
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM local/bookworm:base
COPY libc.musl /lib/ld-musl-x86_64.so.1
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s /lib/ld-musl-x86_64.so.1 /lib/libc.musl-x86_64.so.1 \
 && echo 'krakend:x:1000:1000::/nonexistent:/usr/sbin/nologin' >>/etc/passwd \
 && echo 'krakend:x:1000:' >>/etc/group \
 && mkdir /etc/krakend && echo '{ "version": 3 }' >/etc/krakend/krakend.json
COPY krakend /usr/bin/krakend
LABEL krakend-tasks.recipe=$digest
USER 1000
WORKDIR /etc/krakend
ENTRYPOINT [ "/usr/bin/krakend" ]
CMD [ "run", "-c", "/etc/krakend/krakend.json" ]
EXPOSE 8000 8090
DOCKERFILE
  docker build -q --network none -t "$image" "$ctx" >/dev/null
  rm -rf "$ctx"
  echo "built image $image" >&2
fi
echo "export KT_KRAKEND_IMAGE=$image"
