#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Header hygiene: every public header compiles on its own as strict C99,
# and (when a C++ compiler is given) from a C++ translation unit.
#   check_headers.sh INCLUDE_DIR C_COMPILER... [-- CXX_COMPILER...]
set -euo pipefail
inc=$1
shift
cc=()
cxx=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do cc+=("$1"); shift; done
[ $# -gt 0 ] && shift
cxx=("$@")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
for h in "$inc"/tpa/*.h; do
  name=tpa/$(basename "$h")
  printf '#include <%s>\n' "$name" > "$tmp/one.c"
  n=$((n + 1))
  if ! "${cc[@]}" -std=c99 -pedantic -Werror -Wall -Wextra -I"$inc" -c "$tmp/one.c" -o "$tmp/one.o"; then
    echo "FAIL: $name alone as C99 -pedantic" >&2
    fail=1
  fi
  if [ ${#cxx[@]} -gt 0 ]; then
    cp "$tmp/one.c" "$tmp/one.cpp"
    if ! "${cxx[@]}" -std=c++11 -pedantic -Werror -Wall -Wextra -I"$inc" -c "$tmp/one.cpp" -o "$tmp/one.o"; then
      echo "FAIL: $name alone as C++11 -pedantic" >&2
      fail=1
    fi
  fi
done
[ "$n" -gt 0 ] || { echo "no headers under $inc/tpa" >&2; exit 1; }
# The umbrella header from C++: names resolve with C linkage.
if [ ${#cxx[@]} -gt 0 ]; then
  cat > "$tmp/umbrella.cpp" <<'CPP'
#include <tpa/tpa.h>
extern "C" const char *tpa_version(void);
int main() { return tpa_status_str(TPA_OK) != 0 ? 0 : 1; }
CPP
  "${cxx[@]}" -std=c++11 -pedantic -Werror -Wall -Wextra -I"$inc" -c "$tmp/umbrella.cpp" -o "$tmp/u.o" \
    || { echo "FAIL: tpa/tpa.h from C++" >&2; fail=1; }
  echo "checked $n headers as C99 and C++11"
else
  echo "checked $n headers as C99 (no C++ compiler: C++ skipped)"
fi
exit "$fail"
