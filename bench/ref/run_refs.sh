#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Reference timings that libtpa's int8 benchmark is compared against, side
# by side in one run: BERT-base sequence classification (and its pruned
# variant: 100 of 144 heads, intermediate 1536), batch 32 x seq 128, on
# the CPU with 2 threads:
#
#   ort   <variant>-f32            ONNX Runtime (onnxruntime-node), f32 graph
#   ort   <variant>-int8           ONNX Runtime, graph rewritten as
#                                  quantize_dynamic does (export_onnx.py)
#   torch <variant>-f32            PyTorch f32
#   torch <variant>-int8-onednn    torch.ao.quantization.quantize_dynamic,
#   torch <variant>-int8-qnnpack   on each quantized engine
#
# each printed as "<tool> <name> ms_per_batch=<median> seq_per_s=<...>".
# Lines starting with "#" or "onnx " are context (machine load, versions,
# the exported graphs and their logit checks).
#
#   bash bench/ref/run_refs.sh [--reps N] [--warmup N] [--quick]
#        [--variants base,pruned] [--threads 2] [--batch 32] [--seq 128]
#        [--keep DIR] [--no-openblas]
#
#   --quick        tiny model (2 layers, hidden 256), 2 reps: a smoke test
#   --keep DIR     write the ONNX models to DIR (outside the repository)
#                  and keep them; default: a temporary directory, removed
#   --no-openblas  leave torch on whatever BLAS it loads (see below)
#
# It installs nothing system-wide. What it fetches goes to a cache
# directory outside the repository, ${LIBTPA_BENCH_CACHE:-${XDG_CACHE_HOME:-
# $HOME/.cache}/libtpa-bench}:
#   * onnxruntime-node, when node cannot already load it:
#     npm install --prefix CACHE onnxruntime-node (with
#     ONNXRUNTIME_NODE_INSTALL=skip: its install script would otherwise try
#     to download CUDA binaries from outside the npm registry; the CPU
#     binaries are inside the npm package);
#   * OpenBLAS, when torch's f32 matmul runs on Debian's generic
#     (reference) libblas3, some 30x slower than OpenBLAS, which would make
#     the torch f32 figure meaningless: `apt-get download
#     libopenblas0-pthread` and `dpkg -x` into CACHE/openblas, then the
#     torch runs alone get LD_LIBRARY_PATH pointing there. Nothing is
#     installed with dpkg and the system's BLAS alternative is untouched.
# Python: $PYTHON, else /usr/bin/python3 (Debian's python3-torch and
# python3-onnx), else python3.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${LIBTPA_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libtpa-bench}

REPS=5
WARMUP=1
QUICK=0
VARIANTS=base,pruned
THREADS=2
BATCH=32
SEQ=128
KEEP=""
OPENBLAS=1
REPS_SET=0

usage() { sed -n '4,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; REPS_SET=1; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --variants) VARIANTS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --seq) SEQ=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    --no-openblas) OPENBLAS=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_refs.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$REPS" "$WARMUP" "$THREADS" "$BATCH" "$SEQ"; do
  case "$n" in ''|*[!0-9]*) echo "run_refs.sh: not a count: $n" >&2; exit 2 ;; esac
done
QUICK_ARG=()
VOCAB=30522
if [ "$QUICK" = 1 ]; then
  QUICK_ARG=(--quick)
  VOCAB=1000
  [ "$REPS_SET" = 1 ] || REPS=2
fi

# ---------------------------------------------------------------- python
PY=""
for cand in ${PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import torch, onnx' 2>/dev/null; then
    PY=$cand
    break
  fi
done
if [ -z "$PY" ]; then
  echo "run_refs.sh: no python with torch and onnx (apt-get install python3-torch python3-onnx)" >&2
  exit 1
fi

# ------------------------------------------------------- onnxruntime-node
command -v node >/dev/null || { echo "run_refs.sh: node is needed" >&2; exit 1; }
export NODE_PATH="$CACHE/node_modules${NODE_PATH:+:$NODE_PATH}"
if ! (cd / && node -e 'require("onnxruntime-node")' >/dev/null 2>&1); then
  echo "# installing onnxruntime-node into $CACHE" >&2
  mkdir -p "$CACHE"
  ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$CACHE" --no-audit --no-fund \
    --loglevel=error onnxruntime-node >&2
  (cd / && node -e 'require("onnxruntime-node")') || {
    echo "run_refs.sh: onnxruntime-node still cannot be loaded" >&2; exit 1; }
fi
ORT_VERSION=$(cd / && node -e 'console.log(require("onnxruntime-node/package.json").version)' 2>/dev/null || echo unknown)

# --------------------------------------------------------------- OpenBLAS
blas_of() {  # what threadpoolctl sees behind torch: openblas-Zen, reference, unknown
  env "$@" "$PY" -c '
import torch
try:
    import threadpoolctl
except ImportError:
    print("unknown"); raise SystemExit
b = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
print("%s-%s" % (b[0].get("internal_api"), b[0].get("architecture")) if b else "reference")'
}
TORCH_ENV=()
BLAS=$(blas_of)
if [ "$OPENBLAS" = 1 ] && [ "$BLAS" = reference ]; then
  lib=$(find "$CACHE/openblas/root" -name libblas.so.3 -path '*openblas-pthread*' 2>/dev/null | head -n1 || true)
  if [ -z "$lib" ]; then
    echo "# torch uses the reference BLAS: fetching libopenblas0-pthread into $CACHE/openblas (not installed)" >&2
    mkdir -p "$CACHE/openblas"
    if (cd "$CACHE/openblas" && rm -f ./*.deb && apt-get download -q libopenblas0-pthread >&2 2>/dev/null \
        && dpkg -x libopenblas0-pthread_*.deb root); then
      lib=$(find "$CACHE/openblas/root" -name libblas.so.3 -path '*openblas-pthread*' | head -n1 || true)
    fi
  fi
  if [ -n "$lib" ]; then
    cand=(LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
    b=$(blas_of "${cand[@]}" 2>/dev/null || true)
    case "$b" in
      openblas*) TORCH_ENV=("${cand[@]}"); BLAS=$b ;;
      *) echo "# the fetched OpenBLAS does not load here ($b)" >&2 ;;
    esac
  fi
fi
if [ "${BLAS%%-*}" = reference ]; then
  echo "# WARNING: torch f32 runs on the reference BLAS: its figures are not a fair reference" >&2
fi

# ---------------------------------------------------------------- models
if [ -n "$KEEP" ]; then
  mkdir -p "$KEEP"
  WORK=$(cd "$KEEP" && pwd)
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/libtpa-ref.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) uptime:$(uptime | sed 's/.*up/ up/')"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //') nproc=$(nproc)"
echo "# onnxruntime-node $ORT_VERSION; torch $("$PY" -c 'import torch; print(torch.__version__)'); torch blas=$BLAS; python $PY"
echo "# batch=$BATCH seq=$SEQ threads=$THREADS reps=$REPS warmup=$WARMUP$([ "$QUICK" = 1 ] && echo ' quick (tiny model)')"

env ${TORCH_ENV[@]+"${TORCH_ENV[@]}"} "$PY" "$HERE/export_onnx.py" "$WORK" --variants "$VARIANTS" \
  ${QUICK_ARG[@]+"${QUICK_ARG[@]}"}

# ---------------------------------------------------------------- timing
IFS=, read -r -a VLIST <<<"$VARIANTS"
for v in "${VLIST[@]}"; do
  for kind in f32 int8; do
    node "$HERE/ort_bench.js" "$WORK/$v-$kind.onnx" --batch "$BATCH" --seq "$SEQ" \
      --threads "$THREADS" --reps "$REPS" --warmup "$WARMUP" --vocab "$VOCAB"
  done
  pruned=()
  [ "$v" = pruned ] && pruned=(--pruned)
  env ${TORCH_ENV[@]+"${TORCH_ENV[@]}"} "$PY" "$HERE/torch_bench.py" --threads "$THREADS" \
    --reps "$REPS" --warmup "$WARMUP" --batch "$BATCH" --seq "$SEQ" \
    ${pruned[@]+"${pruned[@]}"} ${QUICK_ARG[@]+"${QUICK_ARG[@]}"}
done
echo "# done $(date -u +%Y-%m-%dT%H:%M:%SZ) uptime:$(uptime | sed 's/.*up/ up/')"
