#!/usr/bin/env bash
# Installs everything Berth needs to build, run and test, from Debian 12's archive only.
# Idempotent: when every package is present it does nothing (and needs no network).
set -euo pipefail

BUILD_PACKAGES=(
  cmake g++ make pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libcurl4-openssl-dev libarchive-dev libseccomp-dev libselinux1-dev libssl-dev zlib1g-dev
  libzstd-dev libisal-dev nlohmann-json3-dev libtomlplusplus-dev libspdlog-dev libfmt-dev
  libcli11-dev libboost-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
)
RUNTIME_PACKAGES=(runc containernetworking-plugins iproute2 iptables util-linux)
TEST_PACKAGES=(docker-registry skopeo busybox-static apache2-utils openssl curl jq)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (sudo $0)" >&2
  exit 1
fi

missing=()
for pkg in "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps.sh: all packages present"
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
