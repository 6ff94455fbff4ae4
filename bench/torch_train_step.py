#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The PyTorch side of bench_train: one training step of a plain-torch
BertForSequenceClassification at the same shapes, threads and step as
libtpa's benchmark, timed, with the process's peak RSS.

  torch_train_step.py [--mode lora|full|both] [--reps N] [--batch B]
                      [--seq S] [--rank R] [--threads T] [--layers L]

A step is zero_grad, forward with dropout 0.1 (HF's config), cross-entropy,
backward and an AdamW step (weight decay 0.01 on weights, not on biases or
LayerNorm). "lora": rank-R LoRA (alpha 2R, A Kaiming-uniform, B zero, as
PEFT) on query, key, value and attention output dense; only LoRA A/B, every
LayerNorm and the classifier require grad, so torch computes no gradient
of a frozen weight. "full": every parameter trainable, no LoRA.

Each mode runs in a child process of its own, so that its peak RSS
(resource.getrusage ru_maxrss) is that mode's alone. Every mode prints one
machine-readable line that bench_train parses:

  TORCH_TRAIN mode=lora mean_s=... best_s=... peak_rss_mib=... ...

Weights are seeded normal(0, 0.02) (HF's initializer_range); the values do
not change the speed. Before timing, the script checks that the BLAS
library torch uses computes a matmul correctly (against float64), since
OpenBLAS kernels are picked from the CPU model and some machines hide it:
the kernel is printed as blas=... (threadpoolctl, when installed).
"""

import argparse
import math
import os
import resource
import subprocess
import sys
import time

H, HEADS, INTER, VOCAB, MAXPOS, TYPES, LABELS = 768, 12, 3072, 30522, 512, 2, 2
DROPOUT = 0.1


def build_model(torch, layers, rank, lora):
    nn = torch.nn
    F = torch.nn.functional

    class LoRALinear(nn.Module):
        """y = x W^T + b + (alpha / r) B A x, PEFT's initialisation."""

        def __init__(self, n_in, n_out, r):
            super().__init__()
            self.base = nn.Linear(n_in, n_out)
            self.r = r
            if r:
                self.lora_a = nn.Parameter(torch.empty(r, n_in))
                self.lora_b = nn.Parameter(torch.zeros(n_out, r))
                nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
                self.scale = (2.0 * r) / r  # alpha / r, alpha = 2r (PEFT default here)

        def forward(self, x):
            y = self.base(x)
            if self.r:
                y = y + F.linear(F.linear(x, self.lora_a), self.lora_b) * self.scale
            return y

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            r = rank if lora else 0
            self.q, self.k, self.v = LoRALinear(H, H, r), LoRALinear(H, H, r), LoRALinear(H, H, r)
            self.o = LoRALinear(H, H, r)
            self.ln1 = nn.LayerNorm(H, eps=1e-12)
            self.i = nn.Linear(H, INTER)
            self.f = nn.Linear(INTER, H)
            self.ln2 = nn.LayerNorm(H, eps=1e-12)
            self.drop = nn.Dropout(DROPOUT)

        def forward(self, x, ext_mask):
            b, s, _ = x.shape
            dh = H // HEADS

            def heads(t):
                return t.view(b, s, HEADS, dh).transpose(1, 2)

            q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(dh) + ext_mask
            probs = self.drop(F.softmax(scores, dim=-1))
            ctx = torch.matmul(probs, v).transpose(1, 2).reshape(b, s, H)
            x = self.ln1(x + self.drop(self.o(ctx)))
            return self.ln2(x + self.drop(self.f(F.gelu(self.i(x)))))

    class Bert(nn.Module):
        def __init__(self):
            super().__init__()
            self.word = nn.Embedding(VOCAB, H)
            self.pos = nn.Embedding(MAXPOS, H)
            self.typ = nn.Embedding(TYPES, H)
            self.emb_ln = nn.LayerNorm(H, eps=1e-12)
            self.drop = nn.Dropout(DROPOUT)
            self.layers = nn.ModuleList([Layer() for _ in range(layers)])
            self.pool = nn.Linear(H, H)
            self.cls = nn.Linear(H, LABELS)

        def forward(self, ids, types, mask):
            pos = torch.arange(ids.shape[1]).unsqueeze(0)
            x = self.drop(self.emb_ln(self.word(ids) + self.pos(pos) + self.typ(types)))
            ext = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
            for layer in self.layers:
                x = layer(x, ext)
            pooled = torch.tanh(self.pool(x[:, 0]))
            return self.cls(self.drop(pooled))

    model = Bert()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                continue  # PEFT's initialisation, set above
            if "ln" in name:
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            else:
                p.normal_(0.0, 0.02)
    if lora:
        for name, p in model.named_parameters():
            p.requires_grad_("lora_" in name or "ln" in name or name.startswith("cls."))
    return model


def blas_kernel():
    try:
        import threadpoolctl

        for info in threadpoolctl.threadpool_info():
            if info.get("user_api") == "blas":
                return "%s-%s" % (info.get("internal_api"), info.get("architecture"))
    except Exception:  # threadpoolctl missing or failing: not essential
        pass
    return "unknown"


def check_blas(torch):
    """A wrong BLAS kernel would make the timing meaningless: fail loudly."""
    g = torch.Generator().manual_seed(1)
    a = torch.randn(256, 768, generator=g)
    w = torch.randn(384, 768, generator=g)
    ref = a.double() @ w.double().t()
    err = (torch.nn.functional.linear(a, w).double() - ref).abs().max().item()
    if not err < 1e-3:
        sys.exit("torch_train_step: the BLAS matmul is wrong (max error %g)" % err)


def run_mode(args):
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(1234)
    check_blas(torch)
    lora = args.mode == "lora"
    model = build_model(torch, args.layers, args.rank, lora)
    model.train()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in trainable if n.endswith("weight") and "ln" not in n]
    no_decay = [p for n, p in trainable if not (n.endswith("weight") and "ln" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=5e-4 if lora else 2e-5,
    )
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(5, VOCAB, (args.batch, args.seq), generator=g)
    ids[:, 0] = 2
    types = (torch.arange(args.seq) >= args.seq // 2).long().expand(args.batch, -1)
    mask = torch.ones(args.batch, args.seq, dtype=torch.long)
    labels = torch.randint(0, LABELS, (args.batch,), generator=g)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(ids, types, mask), labels)
        loss.backward()
        opt.step()
        return loss.item()

    step()  # warm-up: allocator, optimizer state
    times = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    n_train = sum(p.numel() for _, p in trainable)
    n_total = sum(p.numel() for p in model.parameters())
    print(
        "TORCH_TRAIN mode=%s mean_s=%.4f best_s=%.4f peak_rss_mib=%.1f reps=%d batch=%d seq=%d "
        "rank=%d layers=%d threads=%d trainable=%d params=%d torch=%s blas=%s"
        % (args.mode, sum(times) / len(times), min(times), rss, args.reps, args.batch, args.seq,
           args.rank if lora else 0, args.layers, torch.get_num_threads(), n_train, n_total,
           torch.__version__, blas_kernel()),
        flush=True,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=["lora", "full", "both"], default="both")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--layers", type=int, default=12)
    args = ap.parse_args()
    if args.reps < 1 or args.batch < 1 or not 1 <= args.seq <= MAXPOS or args.rank < 1:
        ap.error("bad --reps/--batch/--seq/--rank")
    if args.mode != "both":
        run_mode(args)
        return
    # One child per mode: ru_maxrss only grows, so a shared process would
    # report the larger mode's peak for both.
    for mode in ("lora", "full"):
        cmd = [sys.executable, os.path.abspath(__file__), "--mode", mode]
        for k in ("reps", "batch", "seq", "rank", "threads", "layers"):
            cmd += ["--" + k, str(getattr(args, k))]
        rc = subprocess.call(cmd)
        if rc != 0:
            sys.exit(rc)


if __name__ == "__main__":
    main()
