#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One command for a newcomer: install the build dependencies, build libtpa,
# and run the shipped default job (the small model in tests/fixtures/tiny
# on the sample sentences in examples/data).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
tpa=build/tools/tpa/tpa
model=tests/fixtures/tiny
data=examples/data/sst2-sample.tsv
echo; echo "== tpa info $model"; "$tpa" info "$model"
echo; echo "== tpa predict (logits per example)"; "$tpa" predict --model "$model" --task sst2 --data "$data"
echo; echo "== tpa eval (metrics as JSON)"; "$tpa" eval --model "$model" --task sst2 --data "$data"
