#!/usr/bin/env bash
# Configures and builds everything (agent, BPF objects, lab tool, tests) in ./build with
# Ninja, through ccache. The cache lives in ~/.cache/ccache and is keyed on paths relative
# to the checkout (CCACHE_BASEDIR, no hashed working directory), so a fresh clone elsewhere
# — as CI makes — still hits it.
set -euo pipefail
cd "$(dirname "$0")/.."

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$PWD
export CCACHE_NOHASHDIR=1
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
ninja -C build -j "$(nproc)"
