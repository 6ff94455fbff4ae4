#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# libtpa's int8 inference next to ONNX Runtime's and PyTorch's, as one
# markdown table. Runs bench_int8 (libtpa f32, int8, pruned-f32,
# pruned-int8), then bench/ref/run_refs.sh (ORT and torch, f32 and
# dynamic int8, base and pruned) with the same batch, sequence length,
# threads, reps and warm-up, collects every
# "<tool> <variant> ms_per_batch=<median> seq_per_s=<...>" line of both and
# prints:
#
#   | tool | variant | ms / batch | seq/s | vs libtpa f32 | vs ORT f32 |
#
# where the two ratios are the row's seq/s over libtpa f32's and over
# "ort base-f32"'s (above 1: faster). libtpa's variants are shown as
# base-f32, base-int8, pruned-f32, pruned-int8, the names run_refs.sh
# uses for the same shapes.
#
#   bash bench/int8_compare.sh [--bench PATH] [--reps N] [--warmup N]
#        [--quick] [--batch B] [--seq S] [--threads T]
#
#   --bench PATH   the bench_int8 executable (default build/bench/bench_int8
#                  under the repository root; a relative PATH is tried from
#                  the current directory, then from the root)
#   --reps N       timed runs per model, median reported (default 5;
#                  --quick: 2)
#   --warmup N     untimed runs first (default 1)
#   --quick        tiny models (a smoke test of about a minute, most of it
#                  run_refs.sh exporting ONNX); batch 4 x seq 32 unless given
#   --batch, --seq default 32 x 128
#   --threads T    OMP_NUM_THREADS for bench_int8 and --threads of
#                  run_refs.sh (default: $OMP_NUM_THREADS, else 2)
#
# Both tools' own output goes to stderr as they run; the table, the
# context lines ("#": machine load before and after, versions) and
# libtpa's speedup, agreement, memory and size lines go to stdout. Time it
# on a quiet machine: with two cores, any other load skews the figures.
# run_refs.sh may install onnxruntime-node and fetch OpenBLAS into a cache
# directory outside the repository (see its header). If either tool fails,
# the table still lists what the other measured and the script says what
# failed and exits 1.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

BENCH=""
REPS=""
WARMUP=1
QUICK=0
BATCH=""
SEQ=""
THREADS=${OMP_NUM_THREADS:-2}

usage() { sed -n '4,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --bench) BENCH=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --batch) BATCH=$2; shift 2 ;;
    --seq) SEQ=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "int8_compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
# The two tools default differently under --quick (run_refs.sh keeps 32 x
# 128): pass every shape explicitly so that both time the same batch.
if [ "$QUICK" = 1 ]; then
  : "${REPS:=2}" "${BATCH:=4}" "${SEQ:=32}"
else
  : "${REPS:=5}" "${BATCH:=32}" "${SEQ:=128}"
fi
for n in "$REPS" "$WARMUP" "$BATCH" "$SEQ" "$THREADS"; do
  case "$n" in ''|*[!0-9]*) echo "int8_compare.sh: not a count: $n" >&2; exit 2 ;; esac
done

if [ -z "$BENCH" ]; then
  BENCH=$ROOT/build/bench/bench_int8
elif [ "${BENCH#/}" = "$BENCH" ] && [ ! -x "$BENCH" ] && [ -x "$ROOT/$BENCH" ]; then
  BENCH=$ROOT/$BENCH
fi
if [ ! -x "$BENCH" ]; then
  echo "int8_compare.sh: no bench_int8 at $BENCH (ninja -C build bench/bench_int8, or --bench PATH)" >&2
  exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/libtpa-int8cmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export OMP_NUM_THREADS=$THREADS
COMMON=(--reps "$REPS" --warmup "$WARMUP" --batch "$BATCH" --seq "$SEQ")
QUICK_ARG=()
[ "$QUICK" = 1 ] && QUICK_ARG=(--quick)

FAILED=()
echo "== $BENCH ${COMMON[*]} ${QUICK_ARG[*]-} (OMP_NUM_THREADS=$THREADS)" >&2
if ! "$BENCH" "${COMMON[@]}" ${QUICK_ARG[@]+"${QUICK_ARG[@]}"} 2>&1 | tee "$TMP/libtpa.out" >&2; then
  FAILED+=("bench_int8 (${BENCH})")
fi
echo "== bench/ref/run_refs.sh ${COMMON[*]} --threads $THREADS ${QUICK_ARG[*]-}" >&2
if ! bash "$HERE/ref/run_refs.sh" "${COMMON[@]}" --threads "$THREADS" \
    ${QUICK_ARG[@]+"${QUICK_ARG[@]}"} 2>&1 | tee "$TMP/refs.out" >&2; then
  FAILED+=("bench/ref/run_refs.sh")
fi

# The rows run_refs.sh prints when everything works; a torch int8 engine
# the local torch lacks is reported as skipped, not as a failure.
EXPECTED="ort base-f32
ort base-int8
torch base-f32
torch base-int8-onednn
torch base-int8-qnnpack
ort pruned-f32
ort pruned-int8
torch pruned-f32
torch pruned-int8-onednn
torch pruned-int8-qnnpack"

awk -v batch="$BATCH" -v seq="$SEQ" -v threads="$THREADS" -v reps="$REPS" \
    -v quick="$QUICK" -v expected="$EXPECTED" '
  function ratio(x, ref) { return ref > 0 ? sprintf("%.2fx", x / ref) : "n/a" }
  # "<tool> <variant> ms_per_batch=<ms> seq_per_s=<s>"
  $3 ~ /^ms_per_batch=[0-9.]+$/ && $4 ~ /^seq_per_s=[0-9.]+$/ && NF == 4 {
    tool = $1; v = $2
    if (tool == "libtpa" && v !~ /^pruned-/) v = "base-" v
    n++; rtool[n] = tool; rvar[n] = v
    rms[n] = substr($3, 14) + 0; rsps[n] = substr($4, 11) + 0
    seen[tool " " v] = 1
    if (tool == "libtpa" && v == "base-f32") lib_f32 = rsps[n]
    if (tool == "ort" && v == "base-f32") ort_f32 = rsps[n]
    next
  }
  / skipped=/ { skipped[$1 " " $2] = $3; next }
  FILENAME ~ /libtpa.out$/ && /^(speedup|agree|rss|size) / { ctx_lib[++nl] = $0; next }
  /^# / { ctx[++nc] = $0; next }
  END {
    printf "## int8 inference: libtpa, ONNX Runtime, PyTorch\n\n"
    printf "batch %d x seq %d, %d threads, median of %d reps%s\n\n", batch, seq, threads, reps,
           quick ? ", tiny models (--quick)" : ", BERT-base shapes"
    printf "| tool | variant | ms / batch | seq/s | vs libtpa f32 | vs ORT f32 |\n"
    printf "| --- | --- | ---: | ---: | ---: | ---: |\n"
    for (i = 1; i <= n; i++)
      printf "| %s | %s | %.1f | %.2f | %s | %s |\n", rtool[i], rvar[i], rms[i], rsps[i],
             ratio(rsps[i], lib_f32), ratio(rsps[i], ort_f32)
    printf "\nRatios: the row'\''s seq/s over the reference'\''s (above 1: faster). "
    if (quick)
      printf "--quick: a smoke test of tiny models, whose shapes differ between the tools "\
             "(see the header lines below); not a comparison.\n\n"
    else
      printf "pruned = 44 of 144 heads removed (100 kept) and half the FFN neurons.\n\n"
    listed = 0
    if (!lib_f32) {
      printf "- libtpa: MISSING (bench_int8 failed; see its output)\n"
      listed = 1
    }
    k = split(expected, exp_rows, "\n")
    for (i = 1; i <= k; i++) {
      if (exp_rows[i] in seen) continue
      if (exp_rows[i] in skipped) printf "- %s: %s\n", exp_rows[i], skipped[exp_rows[i]]
      else printf "- %s: MISSING (run_refs.sh failed or did not run it; see its output)\n", exp_rows[i]
      listed = 1
    }
    if (listed) printf "\n"
    printf "```\n"
    for (i = 1; i <= nl; i++) print ctx_lib[i]
    for (i = 1; i <= nc; i++) print ctx[i]
    printf "```\n"
  }' "$TMP/libtpa.out" "$TMP/refs.out"

if [ ${#FAILED[@]} -gt 0 ]; then
  for f in "${FAILED[@]}"; do echo "int8_compare.sh: FAILED: $f" >&2; done
  exit 1
fi
