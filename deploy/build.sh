#!/usr/bin/env bash
# Configures and builds Berth with a CMake preset (default: release) into build/ (or the
# preset's directory). Usage: deploy/build.sh [release|debug|asan]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j"$(nproc)"
