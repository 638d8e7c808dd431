#!/usr/bin/env bash
# Installs the Debian 12 packages weft needs to build, test and run its demo; installs only
# what is missing, and refreshes the package lists once first only in that case.
set -euo pipefail

# Build: compilers, BPF toolchain, and the libraries the agent and the operator link
# (libcurl: the operator's Kubernetes API client).
readonly BUILD_PACKAGES=(
  clang llvm libbpf-dev bpftool
  g++ cmake ninja-build ccache pkg-config
  libabsl-dev libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  prometheus-cpp-dev catch2 libssl-dev libnghttp2-dev libasio-dev nlohmann-json3-dev
  libyaml-cpp-dev libspdlog-dev libbenchmark-dev libcurl4-openssl-dev
)
# Run and test: the lab (namespaces, nginx backends, curl, jq), promtool for /metrics,
# tcpdump for the lab guard, tshark to read what crosses the lab's wire, the openssl CLI the
# identity tests check certificates with, and the benchmark's load generators and baselines.
readonly RUNTIME_PACKAGES=(
  iproute2 nginx-light curl jq prometheus tcpdump tshark openssl wrk haproxy iperf3
)

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

main() {
  local missing=() pkg
  for pkg in "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#BUILD_PACKAGES[@]} build and ${#RUNTIME_PACKAGES[@]} runtime packages are installed"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || { echo "deps: missing ${missing[*]}; run as root to install them" >&2; exit 1; }
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

main "$@"
