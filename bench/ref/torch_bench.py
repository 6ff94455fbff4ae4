#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch reference timings of BERT sequence classification (bert_ref.py):
f32, and torch.ao.quantization.quantize_dynamic (int8 weights of every
nn.Linear, activations quantized per batch at run time) on each quantized
engine this torch has among onednn and qnnpack.

  torch_bench.py [--threads 2] [--reps 10] [--warmup 2] [--pruned]
                 [--batch 32] [--seq 128] [--quick] [--layers L]
                 [--variants f32,int8-onednn,int8-qnnpack]

One line per variant, NAME = <base|pruned>-<variant>:

  torch NAME ms_per_batch=<median ms> seq_per_s=<batch * 1000 / median>

torch.set_num_threads(--threads), torch.inference_mode(), --warmup
untimed forwards, then --reps timed ones; the median is printed. On
stderr: min/max, and each int8 model's max |logit difference| against
f32 on the benchmark batch.

Engines: Debian's torch (1.13) has no fbgemm. "onednn" computes the
dynamic int8 Linear with activations quantized to 7 bits (its
quantize_dynamic path uses reduce_range=True for x86 engines); "qnnpack"
uses full 8-bit activations. An engine the running torch lacks is
reported as "torch NAME skipped=engine-not-available" on stderr.

The f32 model's Linear layers run on whatever libblas.so.3 torch loads:
Debian's python3-torch links the generic BLAS, so the f32 figure is only
meaningful with OpenBLAS behind it (run_refs.sh sees to that). The stderr
line names it (blas=...). The int8 paths do not use BLAS.
"""
import argparse
import contextlib
import copy
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

VARIANTS = ("f32", "int8-onednn", "int8-qnnpack")


def blas_kernel():
    """The BLAS torch's f32 Linear runs on, as threadpoolctl names it
    (e.g. openblas-Zen); "reference" when it finds none (Debian's
    netlib libblas3, some 30x slower: see README.md)."""
    try:
        import threadpoolctl

        for info in threadpoolctl.threadpool_info():
            if info.get("user_api") == "blas":
                return "%s-%s" % (info.get("internal_api"), info.get("architecture"))
        return "reference"
    except Exception:  # threadpoolctl missing or failing: not essential
        return "unknown"


NOISE = ("qnnpack incorrectly ignores reduce_range", "Logging before InitGoogleLogging")


@contextlib.contextmanager
def quiet_glog():
    """torch 1.13's qnnpack dynamic Linear logs a glog warning on every
    call (it ignores reduce_range, i.e. keeps 8-bit activations), which no
    environment variable silences: hold fd 2 in a file meanwhile and pass
    on the other lines."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            for line in tmp.read().decode(errors="replace").splitlines():
                if not any(n in line for n in NOISE):
                    print(line, file=sys.stderr)


def timed(torch, model, inputs, warmup, reps):
    with torch.inference_mode():
        out = None
        for _ in range(warmup):
            out = model(*inputs)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            out = model(*inputs)
            times.append((time.perf_counter() - t0) * 1000.0)
        if out is None:
            out = model(*inputs)
    return times, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--pruned", action="store_true")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--quick", action="store_true", help="tiny model (bert_ref.py --quick)")
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    args = ap.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in VARIANTS:
            ap.error("unknown variant %r (known: %s)" % (v, ", ".join(VARIANTS)))
    if args.reps < 1:
        ap.error("--reps must be >= 1")

    # before torch loads: BLAS threads as torch's
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    import bert_ref

    torch.set_num_threads(args.threads)
    model, cfg, shapes = bert_ref.build(args.quick, args.pruned, args.layers)
    inputs = bert_ref.make_inputs(cfg, args.batch, args.seq)
    tag = "pruned" if args.pruned else "base"
    print("torch_bench.py: torch %s threads=%d blas=%s engines=%s %s %s" % (
        torch.__version__, torch.get_num_threads(), blas_kernel(),
        ",".join(torch.backends.quantized.supported_engines), tag,
        bert_ref.describe(cfg, shapes, model)), file=sys.stderr, flush=True)

    with torch.inference_mode():  # f32 logits, for the int8 models' differences
        ref = model(*inputs)

    for v in variants:
        name = "%s-%s" % (tag, v)
        if v == "f32":
            m = model
        else:
            engine = v.split("-", 1)[1]
            if engine not in torch.backends.quantized.supported_engines:
                print("torch %s skipped=engine-not-available" % name, file=sys.stderr, flush=True)
                continue
            torch.backends.quantized.engine = engine
            m = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear},
                                                       dtype=torch.qint8)
        with quiet_glog() if v != "f32" else contextlib.nullcontext():
            times, out = timed(torch, m, inputs, args.warmup, args.reps)
        med = statistics.median(times)
        print("torch %s ms_per_batch=%.1f seq_per_s=%.2f" % (name, med, args.batch * 1000.0 / med),
              flush=True)
        extra = ""
        if v != "f32":
            extra = " max_diff_vs_f32=%.3g" % (out - ref).abs().max().item()
        print("torch_bench.py: %s min=%.1f max=%.1f ms reps=%d%s"
              % (name, min(times), max(times), len(times), extra), file=sys.stderr, flush=True)
        del m


if __name__ == "__main__":
    main()
