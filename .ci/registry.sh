#!/usr/bin/env bash
# Start two real registries (Debian's docker-registry) on free loopback ports, one open and one
# behind htpasswd, and put the multi-arch KrakenD image (amd64 from $KT_KRAKEND_IMAGE, arm64 made
# with buildah from the arm64 musl KrakenD, one manifest list over both) and the builder images in
# the open one. The Docker engine treats 127.0.0.0/8 as insecure: no daemon setting is needed.
# Prints the variables the tests read, for `eval`:
#   KT_REGISTRY            the open registry (host:port)
#   KT_AUTH_REGISTRY       the registry that needs a login; KT_AUTH_REGISTRY_USER / _PASSWORD (test only)
#   KT_REGISTRY_PIDS       the registries' pids, to stop them
# Needs DOCKER_HOST, KT_KRAKEND_DIR and KT_KRAKEND_IMAGE (.ci/krakend.sh) and the builder images.
set -euo pipefail
version=2.13.8
builder=${KT_BUILDER_REPO:-local/krakend-builder}
root=${KT_REGISTRY_ROOT:-/tmp/kt-registry}
mkdir -p "$root"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

serve() {  # serve NAME [htpasswd]: start one registry, print host:port once it answers
  local name=$1 auth=${2:-} port
  port=$(free_port)
  mkdir -p "$root/$name"
  {
    echo "version: 0.1"
    echo "log: { level: error, accesslog: { disabled: true } }"
    echo "storage: { filesystem: { rootdirectory: $root/$name/data }, delete: { enabled: true } }"
    echo "http: { addr: 127.0.0.1:$port }"
    if [ -n "$auth" ]; then echo "auth: { htpasswd: { realm: krakend-tasks, path: $auth } }"; fi
  } >"$root/$name/config.yml"
  nohup docker-registry serve "$root/$name/config.yml" >"$root/$name/log" 2>&1 &
  echo $! >"$root/$name/pid"
  for _ in $(seq 50); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/v2/"; then echo "127.0.0.1:$port"; return 0; fi
    sleep 0.2
  done
  cat "$root/$name/log" >&2
  echo "docker-registry $name did not start" >&2
  return 1
}

open=$(serve open)
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
htpasswd -Bbn krakend-tasks "$password" >"$root/htpasswd"
auth=$(serve auth "$root/htpasswd")

# the multi-arch KrakenD image: the amd64 image .ci/krakend.sh made, an arm64 one of the same shape
docker tag "$KT_KRAKEND_IMAGE" "$open/krakend:$version-amd64"
docker push -q "$open/krakend:$version-amd64" >/dev/null
export STORAGE_DRIVER=vfs
c=$(buildah from --arch arm64 scratch)
m=$(buildah mount "$c")
mkdir -p "$m/lib" "$m/usr/bin" "$m/etc/krakend" "$m/etc/ssl/certs"
cp -L /usr/lib/aarch64-linux-musl/libc.so "$m/lib/ld-musl-aarch64.so.1"
ln -s ld-musl-aarch64.so.1 "$m/lib/libc.musl-aarch64.so.1"
cp "$KT_KRAKEND_DIR/krakend-arm64-alpine" "$m/usr/bin/krakend"
cp /etc/ssl/certs/ca-certificates.crt "$m/etc/ssl/certs/"
echo '{ "version": 3 }' >"$m/etc/krakend/krakend.json"
buildah umount "$c" >/dev/null
buildah config --arch arm64 --os linux --user 1000 --workingdir /etc/krakend --entrypoint '["/usr/bin/krakend"]' \
  --cmd 'run -c /etc/krakend/krakend.json' --port 8080 "$c"
buildah commit -q "$c" "kt-krakend-arm64:$version" >/dev/null
buildah rm "$c" >/dev/null
buildah push -q --tls-verify=false "kt-krakend-arm64:$version" "docker://$open/krakend:$version-arm64"
buildah manifest rm kt-krakend-list >/dev/null 2>&1 || true
buildah manifest create kt-krakend-list >/dev/null
for arch in amd64 arm64; do
  buildah manifest add --tls-verify=false kt-krakend-list "docker://$open/krakend:$version-$arch" >/dev/null
done
buildah manifest push -q --all --format v2s2 --tls-verify=false kt-krakend-list "docker://$open/krakend:$version"
buildah manifest rm kt-krakend-list >/dev/null
buildah rmi -q "kt-krakend-arm64:$version" >/dev/null 2>&1 || true

# the builder images, pulled from the registry by the builds as a user's are
for tag in "$version" "$version-linux-generic"; do
  docker tag "$builder:$tag" "$open/krakend/builder:$tag"
  docker push -q "$open/krakend/builder:$tag" >/dev/null
  docker rmi "$open/krakend/builder:$tag" >/dev/null  # the tests pull it back, as a user's build does
done
echo "export KT_REGISTRY=$open KT_AUTH_REGISTRY=$auth KT_AUTH_REGISTRY_USER=krakend-tasks KT_AUTH_REGISTRY_PASSWORD=$password"
echo "export KT_REGISTRY_PIDS='$(cat "$root/open/pid") $(cat "$root/auth/pid")'"
