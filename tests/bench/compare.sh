#!/bin/bash
# Compares berthd (from the build tree) with Debian's containerd 1.6 (CRI plugin) on the same
# CRI calls, interleaved in one berth-bench run: `info` (Version, Status) and `image` (a cold
# PullImage of a ~200 MiB image in 5 layers from a loopback registry, ImageStatus, ListImages,
# RemoveImage). Prints the table with berth/containerd ratios and writes JSON.
#
# Usage (root): tests/bench/compare.sh [--build DIR] [--berthd PATH] [--count N] [--json FILE]
#               [--layers N] [--layer-mib MIB]
# Everything it starts runs from one temp dir (private configs, roots, state and sockets) and
# is stopped by pid at exit; mounts under the temp dir are unmounted and the dir removed. The
# only change outside it: `apt-get install containerd` when containerd is missing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../../build"
count=3
json="$PWD/berth-compare.json"
layers=4
layer_mib=50
berthd=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --berthd) berthd=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --layer-mib) layer_mib=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--count N] [--json FILE] [--layers N] [--layer-mib MIB]" >&2
       exit 2 ;;
  esac
done
build=$(cd "$build" && pwd)
json=$(realpath -m "$json")
[[ $(id -u) == 0 ]] || { echo "compare.sh: run as root" >&2; exit 1; }
berthd=${berthd:-$build/server/berthd}
[[ -x "$berthd" ]] || { echo "compare.sh: no berthd at $berthd" >&2; exit 1; }
for binary in tests/bench/berth-bench tests/bench/berth-bench-image; do
  [[ -x "$build/$binary" ]] || {
    echo "compare.sh: $build/$binary missing; make -C $build berthd berth-bench berth-bench-image" >&2
    exit 1
  }
done
if ! command -v containerd >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y containerd >/dev/null
fi

work=$(mktemp -d /tmp/berth-compare.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  # containerd's overlay snapshots and anything else mounted under the temp dir, deepest first.
  awk -v dir="$work/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r mount; do umount -l "$mount" || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"

wait_for() {  # wait_for PATH SECONDS WHAT LOG
  for _ in $(seq $(( $2 * 10 ))); do [[ -e "$1" ]] && return 0; sleep 0.1; done
  echo "compare.sh: $3 did not come up; its log:" >&2
  tail -n 30 "$4" >&2 || true
  exit 1
}

echo "== building the image ($layers x $layer_mib MiB + busybox) and a loopback registry" >&2
"$build/tests/bench/berth-bench-image" --info "$work/image.json" --layers "$layers" \
  --layer-mib "$layer_mib" 2>"$work/image.log" &
pids+=($!)
wait_for "$work/image.json" 600 berth-bench-image "$work/image.log"
field() { sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$work/image.json"; }
registry=$(field registry)
image=$(field image)
compressed=$(field compressed_bytes)

echo "== berthd" >&2
mkdir -p "$work/berth/cni"
cat >"$work/berth/registries.conf" <<CONF
[[registry]]
location = "$registry"
insecure = true
CONF
cat >"$work/berth/berth.conf" <<CONF
[berth.network]
network_dir = "$work/berth/cni"
[berth.image]
registries_conf = "$work/berth/registries.conf"
registries_conf_dir = ""
global_auth_file = ""
CONF
"$berthd" --root "$work/berth/root" --runroot "$work/berth/run" \
  --config "$work/berth/berth.conf" --config-dir "" --log-level info 2>"$work/berth/berthd.log" &
berthd_pid=$!
pids+=("$berthd_pid")
wait_for "$work/berth/run/berth.sock" 30 berthd "$work/berth/berthd.log"

echo "== containerd $(containerd --version | awk '{print $3}')" >&2
c="$work/containerd"
mkdir -p "$c/cni"
cat >"$c/config.toml" <<CONF
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$c/containerd.sock"
[ttrpc]
  address = "$c/containerd.sock.ttrpc"
[debug]
  address = "$c/debug.sock"
  level = "warn"
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$c/cni"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$registry"]
    endpoint = ["http://$registry"]
CONF
containerd --config "$c/config.toml" 2>"$c/containerd.log" &
containerd_pid=$!
pids+=("$containerd_pid")
wait_for "$c/containerd.sock" 30 containerd "$c/containerd.log"
sleep 1  # the CRI plugin registers its services after the socket appears

echo "== berth-bench: $image ($compressed compressed bytes), count $count, interleaved" >&2
"$build/tests/bench/berth-bench" \
  --endpoint "unix://$work/berth/run/berth.sock" --label berth --daemon-pid "$berthd_pid" \
  --pod-process berth-mon \
  --endpoint "unix://$c/containerd.sock" --label containerd --daemon-pid "$containerd_pid" \
  --pod-process containerd-shim-runc-v2 \
  --scenario info --scenario image --count "$count" --image "$image" \
  --image-compressed-bytes "$compressed" --json "$json"
echo "(ops: p50/p90 ms, ratio of p50 - below 1 means berth is faster; metrics: mean, MiB or" \
  "MiB/s - a throughput ratio above 1 means berth is faster)"
echo "host: $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo);" \
  "$(date -u +%F)"
echo "JSON: $json"
