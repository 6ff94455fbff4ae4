#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2013 # literal backquotes; one include name per line
# usage: check_layers.sh SOURCE_ROOT
# Each layer of lib/ includes only its own headers and those of the layers
# below it. The order is read from the layer table of docs/design.md (its
# `lib/NAME/` cells, top to bottom), so the document and the code cannot
# drift apart. Public headers (tpa/...) may be included anywhere.
# Prints "N passed, N failed".
set -u
cd "$1" || exit 2
order=$(sed -n 's/^| *[a-z]* *| *`lib\/\([a-z]*\)\/` *|.*/\1/p' docs/design.md)
[ -n "$order" ] || { echo "no layer table in docs/design.md"; echo "0 passed, 1 failed"; exit 1; }
rank() { echo "$order" | grep -n -x "$1" | cut -d: -f1; }
passed=0
failed=0
for layer in $order; do
  mine=$(rank "$layer")
  bad=""
  for f in lib/"$layer"/*.c lib/"$layer"/*.h; do
    [ -f "$f" ] || continue
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z]*\)\/.*/\1/p' "$f" | sort -u); do
      [ "$inc" = tpa ] && continue
      theirs=$(rank "$inc")
      if [ -z "$theirs" ]; then
        bad="$bad$f includes $inc/, which is not a layer of docs/design.md
"
      elif [ "$theirs" -gt "$mine" ]; then
        bad="$bad$f ($layer) includes $inc/, a layer above it
"
      fi
    done
  done
  if [ -z "$bad" ]; then
    passed=$((passed + 1))
    echo "ok   $layer includes only itself and the layers below"
  else
    failed=$((failed + 1))
    echo "FAIL $layer:"
    printf '%s' "$bad" | sed 's/^/     /'
  fi
done
for d in lib/*/; do
  d=${d#lib/}
  d=${d%/}
  if [ -z "$(rank "$d")" ]; then
    failed=$((failed + 1))
    echo "FAIL lib/$d/ is missing from the layer table of docs/design.md"
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
