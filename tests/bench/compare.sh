#!/bin/bash
# Compares berthd (from the build tree) with Debian's containerd 1.6 (CRI plugin) on the same
# CRI calls, interleaved, and both with the physical floor (berth-bench-floor: netns + the same
# CNI chain run by hand; runc on a busybox bundle):
#   - `info` (Version, Status) and `image` (a cold PullImage of a ~200 MiB image in 5 layers
#     from a loopback registry, ImageStatus, ListImages, RemoveImage), --count times;
#   - `pod` (RunPodSandbox, StopPodSandbox, RemovePodSandbox; per-pod monitor memory), --pods
#     times;
#   - `container` (Create/Start/ExecSync/Stop/Remove in one pod, the pod's monitor memory with
#     5 containers, ListContainers with --list-containers), --containers times; when berthd
#     answers UNIMPLEMENTED, containerd alone;
#   - `stream` (ExecSync and streaming Exec of `true`, a --forward-mib download through
#     PortForward and straight from the pod IP), --containers times (not by default);
#   - `scratch` (a pod with one container from nothing to running and back), --scratch times;
#   - `list` (ListPodSandbox, ListContainers, ContainerStatus with --list-pods pods of
#     --list-containers-per-pod containers up), --list-calls times (not by default);
#   - `churn` (--churn-workers workers creating and removing pods with one container for
#     --churn-seconds: pods/s and latency under load; not by default);
#   - `density` (--density-pods pods of --density-containers-per-pod sleeping containers:
#     daemon and per-pod process memory; not by default).
# The pod and container runs read each daemon's memory right after their last call and again
# --idle-seconds later (15; 0: not), once its periodic housekeeping has run: its idle memory.
# Prints one table per run, the table of everything with the berth/containerd and berth/floor
# ratios (table.jq), then the budgets of the issues (budgets.jq), and writes all results as one
# JSON.
#
# Usage (root): tests/bench/compare.sh [--build DIR] [--berthd PATH] [--count N] [--json FILE]
#               [--layers N] [--layer-mib MIB] [--pods N] [--containers N]
#               [--list-containers N] [--scenarios "image pod container scratch" | all]
#               [--forward-mib MIB] [--scratch N] [--list-pods N] [--list-containers-per-pod N]
#               [--list-calls N] [--churn-workers N] [--churn-seconds N] [--churn-rounds N]
#               [--density-pods N] [--density-containers-per-pod N] [--idle-seconds N]
# Everything it starts runs from one temp dir (private configs, roots, state and sockets) and
# is stopped by pid at exit, also when it is interrupted or berth-bench dies: first every
# berth-bench pod is removed through CRI from both daemons, then the daemons are stopped, then
# any monitor, shim or runc container they left is killed; mounts under the temp dir are
# unmounted, the run's bridges deleted and the dir removed. The only change outside it:
# `apt-get install containerd` when containerd is missing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../../build"
count=3
pods=20
containers=20
list_containers=500
scenarios="image pod container scratch"
all_scenarios="image pod container stream scratch list churn density"
forward_mib=1024
scratch=20
list_pods=10
list_containers_per_pod=10
list_calls=200
churn_workers=2
churn_seconds=20
churn_rounds=1
density_pods=20
density_containers=1
idle_seconds=15
json="$PWD/berth-compare.json"
layers=4
layer_mib=50
berthd=""
monitor=""
usage="usage: $0 [--build DIR] [--berthd PATH] [--monitor PATH] [--count N] [--pods N]
  [--containers N] [--list-containers N] [--json FILE] [--layers N] [--layer-mib MIB]
  [--scenarios \"$scenarios\" | all (= $all_scenarios)]
  [--forward-mib MIB] [--scratch N] [--list-pods N] [--list-containers-per-pod N]
  [--list-calls N] [--churn-workers N] [--churn-seconds N] [--churn-rounds N]
  [--density-pods N] [--density-containers-per-pod N] [--idle-seconds N]"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --berthd) berthd=$2; shift 2 ;;
    --monitor) monitor=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --pods) pods=$2; shift 2 ;;
    --containers) containers=$2; shift 2 ;;
    --list-containers) list_containers=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --layer-mib) layer_mib=$2; shift 2 ;;
    --forward-mib) forward_mib=$2; shift 2 ;;
    --scratch) scratch=$2; shift 2 ;;
    --list-pods) list_pods=$2; shift 2 ;;
    --list-containers-per-pod) list_containers_per_pod=$2; shift 2 ;;
    --list-calls) list_calls=$2; shift 2 ;;
    --churn-workers) churn_workers=$2; shift 2 ;;
    --churn-seconds) churn_seconds=$2; shift 2 ;;
    --churn-rounds) churn_rounds=$2; shift 2 ;;
    --density-pods) density_pods=$2; shift 2 ;;
    --density-containers-per-pod) density_containers=$2; shift 2 ;;
    --idle-seconds) idle_seconds=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
[[ $scenarios == all ]] && scenarios=$all_scenarios
for scenario in $scenarios; do
  [[ " $all_scenarios " == *" $scenario "* ]] || { echo "compare.sh: no scenario $scenario" >&2; exit 2; }
done
build=$(cd "$build" && pwd)
json=$(realpath -m "$json")
[[ $(id -u) == 0 ]] || { echo "compare.sh: run as root" >&2; exit 1; }
berthd=${berthd:-$build/server/berthd}
monitor=${monitor:-$(dirname "$(dirname "$berthd")")/conmon/berth-mon}
[[ -x "$berthd" ]] || { echo "compare.sh: no berthd at $berthd" >&2; exit 1; }
[[ -x "$monitor" ]] || { echo "compare.sh: no berth-mon at $monitor" >&2; exit 1; }
for binary in tests/bench/berth-bench tests/bench/berth-bench-floor tests/bench/berth-bench-image; do
  [[ -x "$build/$binary" ]] || {
    echo "compare.sh: $build/$binary missing; cmake --build $build --target berthd berth-mon" \
      "berth-bench berth-bench-floor berth-bench-image" >&2
    exit 1
  }
done
has() { [[ " $scenarios " == *" $1 "* ]]; }
if ! command -v containerd >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y containerd >/dev/null
fi

# Short: berth-mon sockets live under the runroot, and unix socket paths are limited.
work=$(mktemp -d /tmp/bc.XXXXXX)
# Bridge names (at most 15 bytes) and subnets of this run: berthd (and the floor, which runs
# the same conflist) and containerd.
tag=$(( $$ % 100000 ))
berth_bridge="bcb$tag"
containerd_bridge="bcc$tag"
berth_subnet="10.$(( 240 + $$ % 8 )).$(( ($$ / 8) % 256 )).0/24"
containerd_subnet="10.$(( 248 + $$ % 8 )).$(( ($$ / 8) % 256 )).0/24"
# containerd puts pods in /k8s.io/<id> of every cgroup hierarchy; k8s.io is removed at exit
# when this run made it.
k8s_cgroups=()
for dir in /sys/fs/cgroup/*/; do
  [[ -d "$dir/k8s.io" ]] || k8s_cgroups+=("${dir}k8s.io")
done
pids=()
bench_pid=""       # the berth-bench running now
live_endpoints=()  # the daemons started, for the CRI clean-up at exit
cleanup() {
  set +e
  # berth-bench first: on SIGTERM it stops its scenario and removes what that made.
  if [[ -n $bench_pid ]]; then
    kill -TERM "$bench_pid" 2>/dev/null
    for _ in $(seq 1200); do kill -0 "$bench_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$bench_pid" 2>/dev/null
    wait "$bench_pid" 2>/dev/null
  fi
  # Then any berth-bench pod still there (berth-bench was killed, or a removal failed), through
  # CRI while the daemons still run: it stops the containers and releases the pods' networks.
  local endpoint
  for endpoint in "${live_endpoints[@]}"; do
    timeout 300 "$build/tests/bench/berth-bench" --endpoint "$endpoint" --cleanup --timeout 120 \
      || echo "compare.sh: removing the pods left on $endpoint failed" >&2
  done
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  # The shims containerd left (they outlive it by design), by the pids in its state dir.
  local shim
  for shim in $(cat "$work"/containerd/state/io.containerd.runtime.v2.task/*/*/shim.pid \
      2>/dev/null); do
    kill -KILL "$shim" 2>/dev/null || true
  done
  # berth's monitors (they outlive berthd by design), and the containers either runtime left in
  # its private runc root.
  local monitor
  for monitor in $(cat "$work"/br/pods/*/mon.pid 2>/dev/null); do
    kill -KILL "$monitor" 2>/dev/null || true
  done
  local root id
  for root in "$work/br/runc" "$work/containerd/runc/k8s.io"; do
    [[ -d $root ]] || continue
    for id in $(runc --root "$root" list -q 2>/dev/null); do
      runc --root "$root" delete --force "$id" 2>/dev/null || true
    done
  done
  # containerd's overlay snapshots, pinned namespaces and anything else mounted under the temp
  # dir, deepest first.
  awk -v dir="$work/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r mount; do umount -l "$mount" || true; done
  local bridge
  for bridge in "$berth_bridge" "$containerd_bridge"; do
    ip link del "$bridge" 2>/dev/null || true
  done
  local cgroup
  for cgroup in "${k8s_cgroups[@]}"; do rmdir "$cgroup" 2>/dev/null || true; done
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

conflist() {  # conflist NAME BRIDGE SUBNET IPAM_DIR
  cat <<CONF
{
  "cniVersion": "1.0.0",
  "name": "$1",
  "plugins": [
    {"type": "bridge", "bridge": "$2", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$3"}]], "dataDir": "$4"}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CONF
}

serve_image() {  # serve_image NAME ARGS...: a berth-bench-image; its info in $work/NAME.json
  local name=$1
  shift
  "$build/tests/bench/berth-bench-image" --info "$work/$name.json" "$@" 2>"$work/$name.log" &
  pids+=($!)
}
field() { sed -n "s/^ *\"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$work/$1.json"; }

echo "== images: $layers x $layer_mib MiB + busybox, and busybox with Cmd sleep (sandbox and" \
  "container image), each in a loopback registry" >&2
if has image; then
  serve_image big --layers "$layers" --layer-mib "$layer_mib"
fi
serve_image small --layers 0 --repository bench/busybox:1 --cmd /bin/sleep --cmd 2147483647
if has image; then wait_for "$work/big.json" 600 berth-bench-image "$work/big.log"; fi
wait_for "$work/small.json" 120 berth-bench-image "$work/small.log"
registries=()
if has image; then
  registries+=("$(field big registry)")
  image=$(field big image)
  compressed=$(field big compressed_bytes)
fi
registries+=("$(field small registry)")
small_image=$(field small image)

echo "== berthd (bridge $berth_bridge, $berth_subnet)" >&2
mkdir -p "$work/berth/cni"
conflist berth-bench "$berth_bridge" "$berth_subnet" "$work/berth/ipam" \
  >"$work/berth/cni/10-bench.conflist"
for registry in "${registries[@]}"; do
  printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$registry"
done >"$work/berth/registries.conf"
cat >"$work/berth/berth.conf" <<CONF
[berth.runtime]
monitor_path = "$monitor"
[berth.network]
network_dir = "$work/berth/cni"
[berth.image]
registries_conf = "$work/berth/registries.conf"
registries_conf_dir = ""
global_auth_file = ""
CONF

if has pod || has container || has scratch; then
  floor_count=0
  floor_flags=()
  for part in pod:pods:$pods container:containers:$containers scratch:scratch:$scratch; do
    IFS=: read -r scenario flag n <<<"$part"
    if has "$scenario"; then
      floor_flags+=("--$flag" true)
      if (( n > floor_count )); then floor_count=$n; fi
    else
      floor_flags+=("--$flag" false)
    fi
  done
  echo "== the floor (berth-bench-floor, berthd's conflist) ${floor_flags[*]}, count" \
    "$floor_count" >&2
  "$build/tests/bench/berth-bench-floor" --conflist "$work/berth/cni/10-bench.conflist" \
    "${floor_flags[@]}" --count "$floor_count" --json "$work/floor.json"
fi

"$berthd" --root "$work/berth/root" --runroot "$work/br" \
  --config "$work/berth/berth.conf" --config-dir "" --log-level info 2>"$work/berth/berthd.log" &
berthd_pid=$!
pids+=("$berthd_pid")
wait_for "$work/br/berth.sock" 30 berthd "$work/berth/berthd.log"
live_endpoints+=("unix://$work/br/berth.sock")

echo "== containerd $(containerd --version | awk '{print $3}') (bridge $containerd_bridge," \
  "$containerd_subnet)" >&2
c="$work/containerd"
mkdir -p "$c/cni"
conflist containerd-bench "$containerd_bridge" "$containerd_subnet" "$c/ipam" \
  >"$c/cni/10-bench.conflist"
{
  cat <<CONF
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
  sandbox_image = "$small_image"
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
        Root = "$c/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$c/cni"
CONF
  for registry in "${registries[@]}"; do
    printf '  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."%s"]\n' "$registry"
    printf '    endpoint = ["http://%s"]\n' "$registry"
  done
} >"$c/config.toml"
containerd --config "$c/config.toml" 2>"$c/containerd.log" &
containerd_pid=$!
pids+=("$containerd_pid")
wait_for "$c/containerd.sock" 30 containerd "$c/containerd.log"
live_endpoints+=("unix://$c/containerd.sock")
sleep 1  # the CRI plugin registers its services after the socket appears

# Pod processes count only when they use this run's directories (berth-mon has its log open
# under the runroot; the shim works in its bundle under the state dir): pods of other daemons
# on the machine running the same binaries are not counted.
berth_endpoint=(--endpoint "unix://$work/br/berth.sock" --label berth
  --daemon-pid "$berthd_pid" --pod-process "$(realpath "$monitor")" --pod-process-dir "$work/br")
containerd_endpoint=(--endpoint "unix://$c/containerd.sock" --label containerd
  --daemon-pid "$containerd_pid" --pod-process containerd-shim-runc-v2 --pod-process-dir "$c")
# berth-bench in its own session (a terminal's ^C reaches compare.sh alone, whose clean-up then
# stops berth-bench with one SIGTERM), waited for so that a signal interrupts the wait.
bench() {
  setsid "$build/tests/bench/berth-bench" "$@" &
  bench_pid=$!
  local code=0
  wait "$bench_pid" || code=$?
  bench_pid=""
  return "$code"
}

if has image; then
  echo "== berth-bench info, image: $image ($compressed compressed bytes), count $count" >&2
  bench "${berth_endpoint[@]}" "${containerd_endpoint[@]}" --scenario info --scenario image \
    --count "$count" --image "$image" --image-compressed-bytes "$compressed" \
    --json "$work/image-run.json"
fi
if has pod; then
  echo "== berth-bench pod, count $pods" >&2
  bench "${berth_endpoint[@]}" "${containerd_endpoint[@]}" --scenario pod --count "$pods" \
    --idle-seconds "$idle_seconds" --json "$work/pod-run.json"
fi
if has container; then
  echo "== berth-bench container ($small_image), count $containers, ListContainers with" \
    "$list_containers" >&2
  container_flags=(--scenario container --count "$containers" --container-image "$small_image"
    --list-containers "$list_containers" --skip-unimplemented --idle-seconds "$idle_seconds")
  bench "${berth_endpoint[@]}" "${containerd_endpoint[@]}" "${container_flags[@]}" \
    --json "$work/container-run.json"
  if [[ $(jq -r '.skipped.container // empty' "$work/container-run.json") != "" ]]; then
    echo "== berthd lacks container RPCs: the container scenario on containerd alone" >&2
    bench "${containerd_endpoint[@]}" "${container_flags[@]}" \
      --json "$work/container-run.json"
  fi
fi
if has stream; then
  echo "== berth-bench stream ($small_image), count $containers, $forward_mib MiB forwarded" >&2
  bench "${berth_endpoint[@]}" "${containerd_endpoint[@]}" --scenario stream \
    --count "$containers" --container-image "$small_image" \
    --forward-bytes $((forward_mib * 1024 * 1024)) --json "$work/stream-run.json"
fi
if has scratch; then
  echo "== berth-bench scratch ($small_image), count $scratch" >&2
  bench "${berth_endpoint[@]}" "${containerd_endpoint[@]}" --scenario scratch \
    --count "$scratch" --container-image "$small_image" --json "$work/scratch-run.json"
fi
if has list; then
  echo "== berth-bench list ($small_image): $list_pods pods x $list_containers_per_pod" \
    "containers, $list_calls calls" >&2
  bench "${berth_endpoint[@]}" "${containerd_endpoint[@]}" --scenario list \
    --container-image "$small_image" --list-pods "$list_pods" \
    --list-containers-per-pod "$list_containers_per_pod" --list-calls "$list_calls" \
    --json "$work/list-run.json"
fi
if has churn; then
  echo "== berth-bench churn ($small_image): $churn_workers workers, $churn_seconds s," \
    "$churn_rounds round(s)" >&2
  bench "${berth_endpoint[@]}" "${containerd_endpoint[@]}" --scenario churn \
    --container-image "$small_image" --churn-workers "$churn_workers" \
    --churn-seconds "$churn_seconds" --churn-rounds "$churn_rounds" --json "$work/churn-run.json"
fi
if has density; then
  echo "== berth-bench density ($small_image): $density_pods pods of" \
    "$density_containers containers" >&2
  bench "${berth_endpoint[@]}" "${containerd_endpoint[@]}" --scenario density \
    --container-image "$small_image" --density-pods "$density_pods" \
    --density-containers-per-pod "$density_containers" \
    --json "$work/density-run.json"
fi
echo "(ops: p50/p90 ms, ratio of p50 - below 1 means berth is faster; metrics: mean, MiB or" \
  "MiB/s - a throughput ratio above 1 means berth is faster)"

# All runs in one JSON: {"image": ..., "pod": ..., "container": ..., "floor": ...}.
echo '{}' >"$json"
for run in $all_scenarios; do
  [[ -f "$work/$run-run.json" ]] || continue
  jq --arg run "$run" --slurpfile r "$work/$run-run.json" '.[$run] = $r[0]' "$json" >"$json.tmp"
  mv "$json.tmp" "$json"
done
if [[ -f "$work/floor.json" ]]; then
  jq --slurpfile r "$work/floor.json" '.floor = $r[0]' "$json" >"$json.tmp"
  mv "$json.tmp" "$json"
fi

echo
echo "== berth vs containerd vs the floor: every operation and metric ('-' when not measured;" \
  "below 1 means berth is faster or smaller, except for throughputs: MB/s, pods/s)"
jq -r -f "$here/table.jq" "$json"
echo
echo "== budgets (p50 unless named; '-' when not measured)"
jq -r -f "$here/budgets.jq" "$json"
echo "host: $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo);" \
  "$(date -u +%F)"
echo "JSON: $json"
