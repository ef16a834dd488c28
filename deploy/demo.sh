#!/usr/bin/env bash
# The quickstart's demo: builds a busybox web server image offline (deploy/demo-image.sh),
# imports it, runs it in a pod named berth-demo (replacing one from an earlier run), fetches
# its page over the pod IP, and shows `berthctl pods` and `berthctl ps`.
# Environment: BERTHCTL (default: berthctl in PATH), BERTH_SOCKET (/run/berth/berth.sock),
# DEMO_DIR (/var/lib/berth-demo), POD_LOG_ROOT (/var/log/pods), DEMO_CGROUP_PARENT (none).
set -euo pipefail
cd "$(dirname "$0")/.."
berthctl=${BERTHCTL:-berthctl}
socket=${BERTH_SOCKET:-/run/berth/berth.sock}
demo_dir=${DEMO_DIR:-/var/lib/berth-demo}
log_dir=${POD_LOG_ROOT:-/var/log/pods}/default_berth-demo_berth-demo-uid
ctl() { "$berthctl" --endpoint "unix://$socket" "$@"; }
install -d -m 0755 "$demo_dir"
./deploy/demo-image.sh "$demo_dir/web.tar" localhost/berth-demo/web:1 >/dev/null
ctl import "$demo_dir/web.tar"
for pod in $(ctl pods --name berth-demo -q); do
  ctl stopp "$pod" >/dev/null
  ctl rmp "$pod" >/dev/null
done
cgroup_line=""
if [ -n "${DEMO_CGROUP_PARENT:-}" ]; then
  cgroup_line=$'\n'"  \"linux\": {\"cgroup_parent\": \"$DEMO_CGROUP_PARENT\"},"
fi
cat >"$demo_dir/pod.json" <<JSON
{
  "metadata": {"name": "berth-demo", "namespace": "default", "uid": "berth-demo-uid"},
  "hostname": "berth-demo",
  "log_directory": "$log_dir",$cgroup_line
  "labels": {"app": "berth-demo"}
}
JSON
cat >"$demo_dir/web.json" <<'JSON'
{
  "metadata": {"name": "web"},
  "image": {"image": "localhost/berth-demo/web:1"},
  "command": ["httpd", "-f", "-p", "80", "-h", "/www"],
  "labels": {"app": "berth-demo"},
  "log_path": "web/0.log"
}
JSON
# berthctl run acts as the kubelet, which makes the pod's log directory.
install -d -m 0755 "$log_dir/web"
container=$(ctl run "$demo_dir/web.json" "$demo_dir/pod.json")
pod=$(ctl pods --name berth-demo -q | head -n 1)
if command -v jq >/dev/null; then
  ip=$(ctl inspectp "$pod" | jq -r '.status.network.ip // empty')
else
  ip=$(ctl inspectp "$pod" | sed -n 's/^ *"ip": "\([0-9.]*\)".*/\1/p' | head -n 1)
fi
echo "demo pod $pod: container $container, pod IP ${ip:-unknown}"
page=""
if [ -n "$ip" ]; then
  for _ in $(seq 1 50); do
    if command -v curl >/dev/null; then
      page=$(curl -fsS --max-time 2 "http://$ip/" 2>/dev/null) && break
    else
      page=$(busybox wget -qO- -T 2 "http://$ip/" 2>/dev/null) && break
    fi
    sleep 0.1
  done
fi
if [ -n "$page" ]; then
  echo "GET http://$ip/ ->"
  echo "$page"
else
  echo "the demo pod did not answer on http://${ip:-?}/ (see: berthctl logs $container)" >&2
fi
echo
ctl pods
echo
ctl ps

