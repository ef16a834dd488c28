#!/usr/bin/env bash
# Installs the dependencies, builds Berth, installs it under /usr/local and starts berthd
# with its embedded defaults (no configuration file needed), then runs a demo pod: a busybox
# web server built from the host's busybox-static and imported offline.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "quickstart.sh: run as root: sudo ./deploy/quickstart.sh" >&2
  exit 1
fi
./deploy/install-deps.sh
./deploy/build.sh release
cmake --install build --prefix /usr/local >/dev/null

# A default CNI network when the node has none.
if ! ls /etc/cni/net.d/*.conflist /etc/cni/net.d/*.conf /etc/cni/net.d/*.json >/dev/null 2>&1; then
  install -d -m 0755 /etc/cni/net.d
  install -m 0644 deploy/10-berth-bridge.conflist /etc/cni/net.d/10-berth-bridge.conflist
  echo "installed /etc/cni/net.d/10-berth-bridge.conflist (bridge berth0, 10.85.0.0/16)"
fi

socket=/run/berth/berth.sock
pidfile=/run/berth/berthd.pid
if [ -d /run/systemd/system ]; then
  install -m 0644 deploy/berthd.service /etc/systemd/system/berthd.service
  systemctl daemon-reload
  systemctl enable berthd >/dev/null
  systemctl restart berthd
else
  # No systemd here: run berthd in the background, replacing one we started before.
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill -TERM "$(cat "$pidfile")"
    for _ in $(seq 1 100); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
  fi
  install -d -m 0711 /run/berth
  nohup /usr/local/bin/berthd >>/var/log/berthd.log 2>&1 &
  echo $! >"$pidfile"
fi

for _ in $(seq 1 100); do
  [ -S "$socket" ] && /usr/local/bin/berthctl --endpoint "unix://$socket" version >/dev/null 2>&1 && break
  sleep 0.1
done
if ! /usr/local/bin/berthctl --endpoint "unix://$socket" version; then
  echo "berthd did not come up; see /var/log/berthd.log (or journalctl -u berthd)" >&2
  exit 1
fi

# The demo: a busybox web server image built here (offline) and imported, run in a pod.
# A second run replaces the pod of the first.
BERTHCTL=/usr/local/bin/berthctl BERTH_SOCKET="$socket" ./deploy/demo.sh
pod=$(/usr/local/bin/berthctl --endpoint "unix://$socket" pods --name berth-demo -q | head -n 1)
container=$(/usr/local/bin/berthctl --endpoint "unix://$socket" ps -q --pod "$pod" | head -n 1)

cat <<MSG

berthd is running on unix://$socket (log: /var/log/berthd.log, or journalctl -u berthd).

  berthctl info                      # status and effective configuration
  berthd config                      # the configuration as TOML (edit /etc/berth/berth.conf)
  crictl --runtime-endpoint unix://$socket info
  berthctl logs $container             # the demo web server's log
  berthctl rmp -f $pod                 # remove the demo pod

Point the kubelet at it:
  containerRuntimeEndpoint: unix://$socket     (KubeletConfiguration)
  cgroupDriver: cgroupfs
MSG
