#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the libFuzzer harnesses of fuzz/ with clang + ASan + UBSan and run
# each for SECONDS (default 60), two at a time, each on a scratch copy of
# its committed seed corpus and regression inputs (the committed corpus is
# never grown). Prints one summary line per harness and exits non-zero on
# any crash, leak, timeout, out-of-memory or UBSan report; the failing
# input's path is in the summary and in the harness's log.
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_OUT (scratch and
# logs; default a new directory under ${TMPDIR:-/tmp}), FUZZ_JOBS (2),
# FUZZ_ONLY (space-separated kinds to run, default all), FUZZ_EXTRA_ARGS
# (more libFuzzer flags, e.g. "-jobs=1 -use_value_profile=1"). See
# docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
case "$secs" in
  '' | *[!0-9]*) echo "usage: tools/fuzz.sh [SECONDS]" >&2; exit 2 ;;
esac
build="${FUZZ_BUILD_DIR:-build-fuzz}"
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
jobs="${FUZZ_JOBS:-2}"
out="${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tpa-fuzz-run.XXXXXX")}"
mkdir -p "$out"

# Input size limits per kind (bytes): enough for the seeds plus room to grow.
declare -A max_len=(
  [safetensors]=4096 [weights]=8192 [config]=4096 [tokenizer_config]=1024 [vocab]=8192
  [adapter]=4096 [importance]=4096 [plan]=2048 [tsv]=4096 [csv]=4096 [jsonl]=4096
  [tokenizer_json]=8192 [int8]=8192
)
kinds=(${FUZZ_ONLY:-safetensors weights config tokenizer_config vocab adapter importance plan tsv csv jsonl tokenizer_json int8})

if [ ! -f "$build/build.ninja" ]; then
  echo "== configuring $build (clang, -Dfuzz=true, ASan+UBSan)"
  # No -Dwerror here: warnings are the gcc/clang CI builds' job, and some
  # (e.g. -Wpass-failed under sanitizer instrumentation) only appear here.
  CC=clang meson setup "$build" -Dfuzz=true -Dtests=false \
    -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false > "$out/setup.log" \
    || { cat "$out/setup.log"; exit 1; }
fi
targets=()
for k in "${kinds[@]}"; do targets+=("fuzz/fuzz_$k"); done
echo "== building ${#targets[@]} harnesses in $build"
ninja -C "$build" -j "$jobs" "${targets[@]}" > "$out/build.log" || { tail -50 "$out/build.log"; exit 1; }

# Sanitizer settings: every report is fatal; leaks are checked per input by
# libFuzzer. The sanitizer helper's suppressions (oneDNN/libgomp only) apply
# when present.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
if [ -f tools/sanitizers/lsan.supp ]; then
  export LSAN_OPTIONS="suppressions=$PWD/tools/sanitizers/lsan.supp:print_suppressions=0"
fi
export OMP_NUM_THREADS=1
export TPA_FIXTURES="$PWD/tests/fixtures"

run_one() {
  local k="$1" dir="$out/$1"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp fuzz/corpus/"$k"/* "$dir/corpus/"
  find fuzz/regressions/"$k" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$dir/corpus/" \;
  local rc=0 dict=()
  [ -f "fuzz/dict/$k.dict" ] && dict=(-dict="$PWD/fuzz/dict/$k.dict")
  (cd "$dir" && exec "$build/fuzz/fuzz_$k" corpus -max_total_time="$secs" \
    -max_len="${max_len[$k]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" ${FUZZ_EXTRA_ARGS:-} -artifact_prefix="$dir/artifacts/") > "$dir/log" 2>&1 || rc=$?
  echo "$rc" > "$dir/rc"
}

echo "== fuzzing ${#kinds[@]} harnesses for ${secs}s each, $jobs at a time (logs in $out)"
running=0
for k in "${kinds[@]}"; do
  run_one "$k" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

fail=0
for k in "${kinds[@]}"; do
  dir="$out/$k"
  rc="$(cat "$dir/rc" 2>/dev/null || echo 99)"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1 || true)"
  cov="$( (grep -o 'cov: [0-9]*' "$dir/log" || true) | tail -1 | cut -d' ' -f2)"
  ft="$( (grep -o 'ft: [0-9]*' "$dir/log" || true) | tail -1 | cut -d' ' -f2)"
  rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$dir/log" | tail -1 || true)"
  result=ok
  if [ "$rc" != 0 ]; then
    fail=1
    if grep -q 'ERROR: LeakSanitizer' "$dir/log"; then result=LEAK
    elif grep -q 'ERROR: libFuzzer: timeout' "$dir/log"; then result=TIMEOUT
    elif grep -q 'out-of-memory' "$dir/log"; then result=OOM
    elif grep -q 'runtime error:' "$dir/log"; then result=UBSAN
    elif grep -q 'ERROR: AddressSanitizer' "$dir/log"; then result=ASAN
    else result="FAILED(exit $rc)"
    fi
    art="$(ls -1 "$dir/artifacts" 2>/dev/null | head -1)"
    [ -n "$art" ] && result="$result input=$dir/artifacts/$art"
  fi
  printf '%-17s execs=%-9s cov=%-6s ft=%-6s rss=%sMB %s\n' "$k" "${execs:-?}" "${cov:-?}" \
    "${ft:-?}" "${rss:-?}" "$result"
done
if [ "$fail" != 0 ]; then
  for k in "${kinds[@]}"; do
    if [ "$(cat "$out/$k/rc" 2>/dev/null || echo 99)" != 0 ]; then
      echo "---- $k: last lines of $out/$k/log"
      tail -60 "$out/$k/log"
    fi
  done
  echo "fuzzing found a failure: keep the input in fuzz/regressions/<kind>/ once fixed (docs/fuzzing.md)"
  exit 1
fi
echo "fuzzing: no failures"
