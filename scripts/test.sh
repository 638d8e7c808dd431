#!/usr/bin/env bash
# Runs every test: installs missing Debian packages, builds, then runs ctest in ./build
# (unit, bpf and e2e tests; benchmarks excluded). Needs root: the BPF and e2e tests load
# programs and build a lab of network namespaces. Exit status = the tests' result.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "test.sh: run as root (sudo ./scripts/test.sh)" >&2; exit 1; }

./scripts/deps.sh
./scripts/build.sh
cd build
ctest --output-on-failure --timeout 600 -j "$(nproc)" -LE bench
