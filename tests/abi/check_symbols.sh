#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# usage: check_symbols.sh libtpa.so libtpa.map include/tpa
set -eu
lib=$1 map=$2 inc=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# Defined, dynamic, global symbols of the library (version suffix dropped).
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' \
  | grep -v '^LIBTPA_' | sort -u > "$tmp/exported"
# Names listed in the version script's global sections.
sed -n '/global:/,/local:/p' "$map" | grep -Eo '^[[:space:]]*[a-z_0-9]+;' \
  | tr -d ' ;' | sort -u > "$tmp/map"
# Functions declared TPA_API in the public headers.
grep -h -A3 '^TPA_API' "$inc"/*.h | tr '\n' ' ' | grep -Eo 'tpa_[a-z0-9_]+\(' \
  | tr -d '(' | sort -u > "$tmp/headers"
fail=0
if ! diff -u "$tmp/map" "$tmp/exported" > "$tmp/d1"; then
  echo "exported symbols differ from the version script:"; cat "$tmp/d1"; fail=1
fi
if ! diff -u "$tmp/headers" "$tmp/map" > "$tmp/d2"; then
  echo "public header functions differ from the version script:"; cat "$tmp/d2"; fail=1
fi
if grep -v '^tpa_' "$tmp/exported"; then echo "non-tpa_ symbols exported"; fail=1; fi
n=$(wc -l < "$tmp/exported")
if [ "$fail" -eq 0 ]; then echo "1 passed, 0 failed: $n exported symbols match the version script and headers"; exit 0; fi
echo "0 passed, 1 failed"; exit 1
