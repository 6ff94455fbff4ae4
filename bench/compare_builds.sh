#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# usage: bench/compare_builds.sh BUILD_A BUILD_B [ROUNDS]
#
# The inference, training and pruning benchmarks of two build directories
# side by side in one run, e.g. Debian's oneDNN 2.6 against 3.8:
#   meson setup build-dnnl3 -Ddnnl_dir=../shared/onednn/3.8.0 && ninja -C build-dnnl3
#   OMP_NUM_THREADS=2 bench/compare_builds.sh build build-dnnl3 2
# Each round runs bench_infer, bench_train (LoRA and full fine-tuning, no
# PyTorch) and bench_prune of both builds, the order of the builds flipping
# every round so that both see the same drift in machine load; all runs
# read one seeded BERT-base checkpoint. Prints each figure's mean over the
# rounds for both builds and their ratio B / A (for times, > 1 means B is
# slower). The raw outputs stay in the printed directory.
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  sed -n 3,14p "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
a=$1
b=$2
rounds=${3:-2}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
for build in "$a" "$b"; do
  for prog in bench_infer bench_train bench_prune; do
    [ -x "$build/bench/$prog" ] || { echo "no $build/bench/$prog: build it first" >&2; exit 2; }
  done
done
out=$(mktemp -d /tmp/tpa-compare-XXXXXX)
model=$out/bert-base
version() { "$1/tools/tpa/tpa" --version | sed 's/^tpa [^ ]* (//; s/)$//'; }

run_build() { # BUILD TAG ROUND
  local build=$1 tag=$2 r=$3
  echo "round $r, $tag ($build): bench_infer, bench_train, bench_prune" >&2
  "$build/bench/bench_infer" --keep "$model" > "$out/infer.$tag.$r"
  "$build/bench/bench_train" --keep "$model" --no-torch > "$out/train.$tag.$r"
  "$build/bench/bench_prune" --keep "$model" --no-rss --no-widths > "$out/prune.$tag.$r"
}

echo "uptime at the start: $(uptime)" >&2
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then
    run_build "$a" A "$r"
    run_build "$b" B "$r"
  else
    run_build "$b" B "$r"
    run_build "$a" A "$r"
  fi
done
echo "uptime at the end: $(uptime)" >&2

# The COLUMN-th number after LABEL. bench_train prints a "  LoRA step"
# and a "  full fine-tuning step" table; SECTION picks one ("" for none).
figure() { # FILE SECTION LABEL COLUMN
  awk -v sec="$2" -v label="$3" -v col="$4" '
    /^  [A-Za-z -]+ step$/ { insec = ($0 == "  " sec " step") }
    (sec == "" || insec) && index($0, "  " label) == 1 && !done {
      n = split(substr($0, 3 + length(label)), f, " ")
      print f[col]; done = 1 }' "$1"
}
mean_of() { # KIND TAG SECTION LABEL COLUMN
  local sum=0 v
  for r in $(seq 1 "$rounds"); do
    v=$(figure "$out/$1.$2.$r" "$3" "$4" "$5")
    [ -n "$v" ] || { echo "compare_builds: no '$4' in $out/$1.$2.$r" >&2; exit 1; }
    sum=$(awk -v s="$sum" -v v="$v" 'BEGIN { print s + v }')
  done
  awk -v s="$sum" -v n="$rounds" 'BEGIN { printf "%.3f", s / n }'
}
row() { # TITLE KIND SECTION LABEL COLUMN
  local va vb
  va=$(mean_of "$2" A "$3" "$4" "$5")
  vb=$(mean_of "$2" B "$3" "$4" "$5")
  awk -v t="$1" -v a="$va" -v b="$vb" 'BEGIN { printf "| %s | %s | %s | %.3f |\n", t, a, b, b / a }'
}

echo
echo "A = $a ($(version "$a")), B = $b ($(version "$b")), $rounds rounds, OMP_NUM_THREADS=$OMP_NUM_THREADS"
echo
echo "| figure (mean of $rounds rounds) | A | B | B / A |"
echo "|---|---|---|---|"
row "inference: forward of 32 x 128, s" infer "" "forward time per batch, s" 1
row "inference: model GFLOP/s" infer "" "model GFLOP/s" 1
row "inference: matmul 4096x768x3072 GFLOP/s" infer "" "matmul GFLOP/s 4096x768x3072" 3
row "inference: peak RSS after the first forward, MiB" infer "" "peak RSS after the first forward, MiB" 1
row "LoRA step (32 x 128), s" train "LoRA" "step time (loss, gradients, AdamW), s" 1
row "LoRA step GFLOP/s" train "LoRA" "step GFLOP/s" 1
row "full fine-tuning step (32 x 128), s" train "full fine-tuning" "step time (loss, gradients, AdamW), s" 1
row "full fine-tuning step GFLOP/s" train "full fine-tuning" "step GFLOP/s" 1
row "pruned (44 heads) + merged forward, mean, s" prune "" "forward time per batch, mean, s" 2
row "unpruned forward in bench_prune, mean, s" prune "" "forward time per batch, mean, s" 1
row "pruning speedup / ideal (mean)" prune "" "measured / ideal speedup (mean)" 1
echo
echo "raw outputs: $out"
