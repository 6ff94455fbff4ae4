#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One command for a newcomer: install the build dependencies, build libtpa,
# and run the main job: `tpa run`, the whole TPA pipeline (importance,
# pruning, rank-varied LoRA, merge, export) on the small default model and
# task that ship in share/default/, then print its report.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
out=${1:-tpa-run-out}
echo; echo "== tpa run --out $out (the default model and task)"
build/tools/tpa/tpa run --out "$out"
echo; cat "$out/report.md"
