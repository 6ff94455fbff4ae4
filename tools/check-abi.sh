#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compare the ABI of a -g build's libtpa.so with the committed baseline.
#   tools/check-abi.sh BUILD_DIR            fail on any abidiff difference
#   tools/check-abi.sh --update BUILD_DIR   rewrite abi/libtpa.abi (docs/abi.md)
# Builds nothing: BUILD_DIR must be a debug-info build, e.g.
#   meson setup build-abi -Dbuildtype=debugoptimized && ninja -C build-abi
# Needs abidw/abidiff (Debian abigail-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
update=0
if [ "${1:-}" = --update ]; then update=1; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [--update] BUILD_DIR" >&2; exit 2; }
build=$1
so=$build/lib/libtpa.so
baseline=abi/libtpa.abi
suppr=abi/libtpa.suppr
[ -f "$so" ] || { echo "check-abi: no $so (build it first)" >&2; exit 2; }
for t in abidw abidiff; do
  command -v "$t" > /dev/null || { echo "check-abi: $t missing (apt-get install abigail-tools)" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Only what the exported symbols reach and include/tpa/ defines; no machine
# paths (corpus, compilation dir, source locations, DT_NEEDED of the
# dependencies' versions), content-hashed type ids so unrelated edits do not
# renumber the file.
abidw --no-corpus-path --no-comp-dir-path --no-show-locs --no-elf-needed \
      --type-id-style hash --exported-interfaces-only \
      --headers-dir "$PWD/include/tpa" --drop-private-types \
      --suppressions "$suppr" "$so" --out-file "$tmp/raw.abi"
# Translation-unit paths are relative to the build dir: keep them from lib/.
sed -E "s#path='([^']*/)?(lib/[^']*)'#path='\\2'#" "$tmp/raw.abi" > "$tmp/new.abi"
if [ "$update" = 1 ]; then
  cp "$tmp/new.abi" "$baseline"
  echo "check-abi: wrote $baseline"
  exit 0
fi
rc=0
abidiff "$baseline" "$tmp/new.abi" > "$tmp/report" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
  cat "$tmp/report"
  echo "check-abi: abidiff exited $rc: the ABI differs from $baseline" >&2
  echo "check-abi: an intentional additive change is described in docs/abi.md" >&2
  exit 1
fi
echo "check-abi: ABI matches $baseline"
