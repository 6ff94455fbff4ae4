#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer,
# with LeakSanitizer's leak check at every process exit (docs/testing.md).
#
#   tools/sanitize.sh [BUILD_DIR [TEST...]]    (default build-asan, all tests)
#
# (Name tests of one group at a time: python, bench, mpi-* or the rest.)
#
# Builds libtpa, the tpa command and the tests with clang
# -fsanitize=address,undefined (UBSan made fatal: -fno-sanitize-recover=all),
# then runs `meson test`. Any report (ASan, UBSan or a leak) aborts the
# process that made it, so the test fails and the script exits non-zero.
# oneDNN, libgomp, jansson and the other system libraries are not rebuilt:
# ASan still sees their heap through its malloc interceptors, UBSan does not
# look inside them. Leaks are suppressed only as tools/sanitizers/lsan.supp
# says (its header is the policy).
#
# The python suite loads libtpa.so through ctypes into the system python,
# which is not built with ASan: it runs through tools/sanitizers/preload-asan.sh
# (LD_PRELOAD of clang's shared ASan runtime, leak check off for the
# interpreter only). Every other test runs the instrumented executables.
#
# MESON_TESTTHREADS sets how many tests run at once (meson's default: the
# number of cores); NINJAFLAGS is passed to ninja (e.g. -j2).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=${1:-build-asan}
shift || true
data=${TPA_SHARED_DATA:-$root/../shared/data}
export CC=clang # the preloaded runtime and the flags below are clang's

# -Wno-pass-failed: ASan's checks on every load stop clang from vectorizing
# `#pragma omp simd` loops, which it reports as a warning (an optimisation
# remark about the instrumented code, not a defect of the source).
# shellcheck disable=SC2054  # the commas are part of the option value
opts=(-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
      -Dwerror=true -Dtests=true "-Dshared_data=$data"
      "-Dc_args=-fno-sanitize-recover=all -fno-omit-frame-pointer -Wno-pass-failed"
      "-Dc_link_args=-fno-sanitize-recover=all")
if [ -f "$dir/build.ninja" ]; then
  # (`meson configure`: `setup --reconfigure` may keep stale c_args)
  meson configure "$dir" "${opts[@]}" > /dev/null
else
  meson setup "$dir" "${opts[@]}" > /dev/null
fi
# shellcheck disable=SC2086  # NINJAFLAGS is a list of flags
ninja -C "$dir" ${NINJAFLAGS:-}

sup=$root/tools/sanitizers
# ASan: leak check on; abort (not _exit) so that Check's forked children and
# the Python scripts' subprocesses report a signal; strict_string_checks
# checks the whole string argument of str* functions; stack-use-after-return
# and initialization-order checks on.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
# UBSan is already fatal at compile time (-fno-sanitize-recover=all);
# halt_on_error keeps it so for checks added later, print_stacktrace names
# the caller chain. No ubsan.supp: nothing outside libtpa is instrumented.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:report_error_type=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# print_suppressions lists the suppressions that matched (none, today).
export LSAN_OPTIONS="suppressions=$sup/lsan.supp:print_suppressions=1${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

echo "sanitize: $dir (clang -fsanitize=address,undefined -fno-sanitize-recover=all)"
echo "sanitize: ASAN_OPTIONS=$ASAN_OPTIONS"
echo "sanitize: UBSAN_OPTIONS=$UBSAN_OPTIONS"
echo "sanitize: LSAN_OPTIONS=$LSAN_OPTIONS"
# Sanitized code runs 2-3x slower: stretch the timeouts, meson's per test
# and Check's per test case (tcase_set_timeout, 4 s by default), the first
# more so that Check's fire first and name the slow case.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-3}
mt=(meson test -C "$dir" --no-rebuild --print-errorlogs --timeout-multiplier 4)
status=0
# Four groups, each with its own log ($dir/meson-logs/testlog-<group>*.txt):
# - main: every test but the ones below, with the options above;
# - bench: the soak benchmark's smoke test checks that resident memory stays
#   flat, which ASan's quarantine of freed blocks (256 MB by default) defeats
#   by design, so that test runs with quarantine_size_mb=0 (every other check
#   still on; use-after-free in the same code is covered by the main group);
# - mpi: OpenMPI's MPI_Init/MPI_Finalize leave hundreds of blocks allocated
#   in its dlopen'ed plugins (stacks LSan cannot symbolize, so no narrow
#   suppression is possible): the ranks run with detect_leaks=0, ASan and
#   UBSan on; libtpa's code outside MPI calls is leak-checked in main;
# - python: under preload-asan.sh (see above).
group() { # NAME EXTRA_ASAN_OPTIONS [meson test arguments...]
  local name=$1 extra=$2
  shift 2
  ASAN_OPTIONS="$ASAN_OPTIONS${extra:+:$extra}" "${mt[@]}" --logbase "testlog-$name" "$@" \
    || status=$?
}
if [ $# -gt 0 ]; then
  # Named tests or suites: name those of one group only.
  case " $* " in
    *" python "*) group python "" --wrapper "$sup/preload-asan.sh" "$@" ;;
    *" bench-soak-smoke "* | *" bench "*) group bench quarantine_size_mb=0 "$@" ;;
    *" mpi"*) group mpi detect_leaks=0 "$@" ;;
    *) group main "" "$@" ;;
  esac
else
  group main "" --no-suite python --no-suite bench --no-suite mpi
  echo "sanitize: bench suite with ASan's quarantine off (it measures resident memory)"
  group bench quarantine_size_mb=0 --suite bench
  echo "sanitize: mpi suite with the leak check off (OpenMPI's own allocations)"
  group mpi detect_leaks=0 --suite mpi
  echo "sanitize: python suite with clang's ASan runtime preloaded (leak check off for the interpreter)"
  group python "" --suite python --wrapper "$sup/preload-asan.sh"
fi
if [ "$status" -ne 0 ]; then
  echo "sanitize: FAILED (reports: the logs above and $dir/meson-logs/testlog-*.txt)"
  exit "$status"
fi
echo "sanitize: clean"
