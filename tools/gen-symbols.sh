#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Generate debian/libtpa0.symbols from the version script lib/libtpa.map.
#   tools/gen-symbols.sh            rewrite debian/libtpa0.symbols
#   tools/gen-symbols.sh --check    fail if the committed file differs
#   tools/gen-symbols.sh --stdout   print the generated file
# Node LIBTPA_X.Y gives its symbols (and the node itself, which the linker
# exports as LIBTPA_X.Y@LIBTPA_X.Y) the minimum version X.Y.0. Output is
# sorted bytewise, so the same map always gives the same file
# (docs/packaging.md).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="write"
case "${1:-}" in
  "") ;;
  --check) mode="check" ;;
  --stdout) mode="stdout" ;;
  *) echo "usage: $0 [--check|--stdout]" >&2; exit 2 ;;
esac
map=lib/libtpa.map
# The soname's number, from meson.build: libtpa.so.N is packaged as libtpaN.
sov=$(sed -n "s/^tpa_soversion = '\([0-9][0-9]*\)'.*/\1/p" meson.build)
[ -n "$sov" ] || { echo "gen-symbols: no tpa_soversion in meson.build" >&2; exit 1; }
out=debian/libtpa$sov.symbols

generate() {
  printf 'libtpa.so.%s libtpa%s #MINVER#\n' "$sov" "$sov"
  printf '* Build-Depends-Package: libtpa-dev\n'
  # Tokenize the whole script (comments removed) and walk the nodes:
  #   NAME { [global:|local:] sym; ... } [PARENT];
  # Only global names are exported; a wildcard there or an unknown node
  # name cannot be written as a symbol and is an error.
  LC_ALL=C awk '
    { text = text $0 "\n" }
    function fail(msg) { print "gen-symbols: " FILENAME ": " msg > "/dev/stderr"; exit 1 }
    END {
      while ((i = index(text, "/*")) > 0) {
        rest = substr(text, i + 2)
        j = index(rest, "*/")
        if (j == 0) fail("unterminated comment")
        text = substr(text, 1, i - 1) " " substr(rest, j + 2)
      }
      gsub(/[{};:]/, " & ", text)
      n = split(text, tok, /[ \t\n]+/)
      state = "out"; nodes = 0
      for (k = 1; k <= n; k++) {
        t = tok[k]
        if (t == "") continue
        if (state == "out") {
          if (t !~ /^LIBTPA_[0-9]+\.[0-9]+$/) fail("expected a node LIBTPA_X.Y, got \"" t "\"")
          if (tok[k + 1] != "{") fail("expected { after " t)
          if (t in seen) fail("node " t " appears twice")
          seen[t] = 1
          node = t; ver = substr(t, 8) ".0"; k++
          state = "in"; section = "global"; nodes++
          print " " node "@" node " " ver
        } else if (state == "in") {
          if ((t == "global" || t == "local") && tok[k + 1] == ":") { section = t; k++; continue }
          if (t == "}") { state = "after"; continue }
          if (tok[k + 1] != ";") fail("expected ; after " t " in " node)
          k++
          if (section != "global") continue
          if (t !~ /^[A-Za-z_][A-Za-z0-9_]*$/) fail("cannot list \"" t "\" of " node " as a symbol")
          if (t in sym) fail(t " is in " sym[t] " and " node)
          sym[t] = node
          print " " t "@" node " " ver
        } else {
          # After "}": an optional parent node, then ";".
          if (t == ";") { state = "out"; continue }
          if (!(t in seen) || tok[k + 1] != ";") fail("bad parent \"" t "\" of " node)
        }
      }
      if (state != "out") fail("unterminated node " node)
      if (nodes == 0) fail("no LIBTPA_ nodes")
    }' "$map" | LC_ALL=C sort
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
generate > "$tmp"   # fails if awk does (pipefail)
case "$mode" in
  stdout) cat "$tmp" ;;
  write) cp "$tmp" "$out"; echo "gen-symbols: wrote $out" ;;
  check)
    if ! diff -u "$out" "$tmp"; then
      echo "gen-symbols: $out is out of date with $map; run tools/gen-symbols.sh" >&2
      exit 1
    fi
    echo "gen-symbols: $out matches $map" ;;
esac
