#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `meson test --wrapper` for tests whose process is an uninstrumented
# program that loads the ASan-built libtpa.so itself (the python suite:
# ctypes in the system python). The library needs the ASan runtime to be
# in the process before it: preload clang's shared runtime. The leak check
# is turned off for this process only, because the interpreter's own
# allocations (kept until exit by design) would be reported; libtpa's leaks
# are checked by the C tests, which exercise the same functions.
# Used by tools/sanitize.sh (docs/testing.md).
set -euo pipefail
rt=$("${CC:-clang}" -print-file-name="libclang_rt.asan-$(uname -m).so")
if [ ! -f "$rt" ]; then
  echo "preload-asan: ${CC:-clang} has no shared ASan runtime ($rt)" >&2
  exit 1
fi
export LD_PRELOAD="$rt${LD_PRELOAD:+:$LD_PRELOAD}"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
exec "$@"
