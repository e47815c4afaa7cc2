#!/usr/bin/env bash
# Start a private Docker engine (no registry reachable here) and print its DOCKER_HOST.
set -euo pipefail
root=${KT_DOCKER_ROOT:-/tmp/kt-docker}
sock="unix://$root/docker.sock"
if DOCKER_HOST=$sock docker version >/dev/null 2>&1; then echo "$sock"; exit 0; fi
mkdir -p "$root"
nohup dockerd --iptables=false --bridge=none --storage-driver=overlay2 \
  --data-root "$root/data" --exec-root "$root/exec" --pidfile "$root/pid" \
  -H "$sock" >"$root/log" 2>&1 &
for _ in $(seq 60); do
  DOCKER_HOST=$sock docker version >/dev/null 2>&1 && { echo "$sock"; exit 0; }
  sleep 1
done
cat "$root/log" >&2
echo "dockerd did not start" >&2
exit 1
