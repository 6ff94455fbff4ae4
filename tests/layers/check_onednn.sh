#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# usage: check_onednn.sh SOURCE_ROOT
# oneDNN stays inside lib/nn/: no C file elsewhere includes a oneDNN
# header, calls a dnnl_ function or tests DNNL_VERSION, and inside lib/nn/ only
# nn_pd.h and nn_pd_v2.c / nn_pd_v3.c look at DNNL_VERSION_* (docs/design.md).
# Prints "N passed, N failed".
set -u
cd "$1" || exit 2
passed=0
failed=0
check() { # NAME FINDINGS
  if [ -z "$2" ]; then
    passed=$((passed + 1))
    echo "ok   $1"
  else
    failed=$((failed + 1))
    echo "FAIL $1:"
    echo "$2" | sed 's/^/     /'
  fi
}
outside=$(find lib include tools bench examples tests fuzz -name '*.[ch]' ! -path 'lib/nn/*' \
  -exec grep -Hn -E '#[[:space:]]*include[[:space:]]*[<"](oneapi/)?dnnl|\<dnnl_[a-z0-9_]+|\<DNNL_VERSION' {} +)
check "no oneDNN outside lib/nn/" "$outside"
versioned=$(grep -Hn 'DNNL_VERSION' lib/nn/*.c lib/nn/*.h |
  grep -v -E '^lib/nn/(nn_pd\.h|nn_pd_v[23]\.c):')
check "DNNL_VERSION only in nn_pd.h and nn_pd_v*.c" "$versioned"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
