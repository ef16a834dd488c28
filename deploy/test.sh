#!/usr/bin/env bash
# Installs the dependencies, builds Berth and runs every test (unit and integration) with
# ctest. Needs root: the integration tests start berthd, runc, CNI plugins and a registry.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: run as root: sudo ./deploy/test.sh" >&2
  exit 1
fi
./deploy/install-deps.sh
./deploy/build.sh release
ctest --test-dir build --output-on-failure --timeout 600 -j"$(nproc)" "$@"
