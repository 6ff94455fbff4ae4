#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The threads test (tests/threads: inference from several pthreads on one
# shared read-only model, per-thread error messages) under ThreadSanitizer.
#
#   tools/tsan.sh [BUILD_DIR]      (default build-tsan)
#
# Builds only that test, with clang -fsanitize=thread, and runs it with
# OMP_NUM_THREADS=1 so that every OpenMP region (oneDNN's libgomp, libtpa's
# own loops) stays on the calling thread: TSan then checks the test's
# pthreads and libtpa's own synchronisation, without the false reports of
# the uninstrumented OpenMP runtimes (docs/threads.md). Any report fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=${1:-build-tsan}
data=${TPA_SHARED_DATA:-$root/../shared/data}
opts=(-Db_sanitize=thread -Db_lundef=false -Dbuildtype=debugoptimized -Dwerror=true
      -Dtests=true "-Dshared_data=$data")
if [ -f "$dir/build.ninja" ]; then
  meson setup --reconfigure "$dir" "${opts[@]}" > /dev/null
else
  CC=clang meson setup "$dir" "${opts[@]}" > /dev/null
fi
ninja -C "$dir" ${NINJAFLAGS:-} tests/threads/test_threads

export CK_FORK=no
export TPA_FIXTURES=$root/tests/fixtures
export TPA_SHARED_DATA=$data
export OMP_NUM_THREADS=1
# halt_on_error: the first report ends the run with exit code 66.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$root/tools/sanitizers/tsan.supp"
echo "tsan: $dir/tests/threads/test_threads (OMP_NUM_THREADS=1, TSAN_OPTIONS=$TSAN_OPTIONS)"
"$dir/tests/threads/test_threads"
echo "tsan: clean"
