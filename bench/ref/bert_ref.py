#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""HF BertForSequenceClassification's math as a plain torch.nn.Module, for
the reference benchmarks (ONNX Runtime and PyTorch) that libtpa's int8
benchmark is compared against. HF transformers is not needed.

The module is the same math as tests/fixtures/torch_bert.py (eval mode,
dropout off): word + position + token type embeddings, LayerNorm eps
1e-12, post-LN blocks with additive mask (1 - mask) * finfo(float32).min,
erf GELU, tanh pooler on token 0, linear classifier. It is written with
nn.Linear / nn.Embedding / nn.LayerNorm modules named as HF names them
(so its state_dict keys are HF's "bert.*" names, and
torch.ao.quantization.quantize_dynamic finds the nn.Linear layers).

Variants (head dim is always 64):
  base    12 layers, hidden 768, 12 heads, intermediate 3072, vocab 30522,
          512 positions, 2 token types, 2 labels
  pruned  the same with 44 of the 144 heads removed (layers 0, 3, 6, 9
          keep 9 heads, the other eight keep 8: 100 heads) and intermediate
          1536 in every layer (FFN keep 0.5): only the Q/K/V out, attention
          output in, intermediate out and output in sizes change
  --quick a tiny model (2 layers, hidden 256, 4 heads, intermediate 512,
          vocab 1000) for smoke tests

Weights: seeded normal(0, 0.02) for every weight and bias (biases too, so
that they take part in the checks), LayerNorm gamma 1, beta 0. Inputs:
seeded random token ids, all-ones attention mask, token types 0.

  bert_ref.py [--pruned] [--quick] [--layers L] [--batch B] [--seq S] [--check]

prints the shapes and parameter count; --check also compares the module's
logits with tests/fixtures/torch_bert.py's bert_logits (float64) when that
file is there.
"""
import argparse
import math
import os
import sys

import torch
from torch import nn

SEED = 20240915
INPUT_SEED = 7

BASE = dict(layers=12, hidden=768, heads=12, inter=3072, vocab=30522, max_pos=512,
            type_vocab=2, labels=2)
QUICK = dict(layers=2, hidden=256, heads=4, inter=512, vocab=1000, max_pos=512,
             type_vocab=2, labels=2)
FFN_KEEP = 0.5


def config(quick=False, layers=None):
    cfg = dict(QUICK if quick else BASE)
    if layers:
        cfg["layers"] = layers
    return cfg


def pruned_heads(cfg):
    """{layer: [removed original head indices]}: with 12 heads, layers
    0, 3, 6, 9 lose 3 heads and the others 4 (144 -> 100 over 12 layers);
    other head counts lose the same fraction (at least one head is kept).
    The removed heads are spread over the layer (every third/fourth one);
    which ones does not matter for random weights, only the sizes do."""
    h = cfg["heads"]
    out = {}
    for l in range(cfg["layers"]):
        lose = 3 if l % 3 == 0 else 4
        n = min(h - 1, max(0, round(h * lose / 12)))
        step = h / n if n else 0
        out[l] = sorted({int(i * step) for i in range(n)})
    return out


def layer_shapes(cfg, pruned=False):
    """[(kept_heads, intermediate)] per layer."""
    rm = pruned_heads(cfg) if pruned else {}
    inter = int(cfg["inter"] * FFN_KEEP) if pruned else cfg["inter"]
    return [(cfg["heads"] - len(rm.get(l, [])), inter) for l in range(cfg["layers"])]


class SelfAttention(nn.Module):
    def __init__(self, hidden, n_heads, d):
        super().__init__()
        self.n_heads, self.d = n_heads, d
        self.query = nn.Linear(hidden, n_heads * d)
        self.key = nn.Linear(hidden, n_heads * d)
        self.value = nn.Linear(hidden, n_heads * d)

    def forward(self, x, ext):
        b, s = x.shape[0], x.shape[1]

        def split(t):
            return t.view(b, s, self.n_heads, self.d).permute(0, 2, 1, 3)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d) + ext
        probs = torch.softmax(scores, dim=-1)
        return torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(b, s, self.n_heads * self.d)


class SelfOutput(nn.Module):
    def __init__(self, n_in, hidden):
        super().__init__()
        self.dense = nn.Linear(n_in, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class Attention(nn.Module):
    def __init__(self, hidden, n_heads, d):
        super().__init__()
        self.self = SelfAttention(hidden, n_heads, d)
        self.output = SelfOutput(n_heads * d, hidden)

    def forward(self, x, ext):
        return self.output(self.self(x, ext), x)


class Intermediate(nn.Module):
    def __init__(self, hidden, inter):
        super().__init__()
        self.dense = nn.Linear(hidden, inter)

    def forward(self, x):
        return nn.functional.gelu(self.dense(x))  # erf GELU, HF's "gelu"


class Layer(nn.Module):
    def __init__(self, hidden, n_heads, d, inter):
        super().__init__()
        self.attention = Attention(hidden, n_heads, d)
        self.intermediate = Intermediate(hidden, inter)
        self.output = SelfOutput(inter, hidden)

    def forward(self, x, ext):
        a = self.attention(x, ext)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, hidden, d, shapes):
        super().__init__()
        self.layer = nn.ModuleList([Layer(hidden, nh, d, inter) for nh, inter in shapes])

    def forward(self, x, ext):
        for layer in self.layer:
            x = layer(x, ext)
        return x


class Embeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden"]
        self.word_embeddings = nn.Embedding(cfg["vocab"], h)
        self.position_embeddings = nn.Embedding(cfg["max_pos"], h)
        self.token_type_embeddings = nn.Embedding(cfg["type_vocab"], h)
        self.LayerNorm = nn.LayerNorm(h, eps=1e-12)

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = self.word_embeddings(ids) + self.token_type_embeddings(types)
        x = x + self.position_embeddings(pos)
        return self.LayerNorm(x)


class Pooler(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class BertModel(nn.Module):
    def __init__(self, cfg, shapes):
        super().__init__()
        d = cfg["hidden"] // cfg["heads"]
        self.embeddings = Embeddings(cfg)
        self.encoder = Encoder(cfg["hidden"], d, shapes)
        self.pooler = Pooler(cfg["hidden"])

    def forward(self, ids, mask, types):
        x = self.embeddings(ids, types)
        ext = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(torch.float32).min
        return self.pooler(self.encoder(x, ext))


class BertForSequenceClassification(nn.Module):
    """forward(input_ids, attention_mask, token_type_ids) -> logits [B, labels]."""

    def __init__(self, cfg, shapes):
        super().__init__()
        self.bert = BertModel(cfg, shapes)
        self.classifier = nn.Linear(cfg["hidden"], cfg["labels"])

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.classifier(self.bert(input_ids, attention_mask, token_type_ids))


def build(quick=False, pruned=False, layers=None, seed=SEED):
    """(model in eval mode, cfg, shapes). Same seed and variant give the
    same weights in every process."""
    cfg = config(quick, layers)
    shapes = layer_shapes(cfg, pruned)
    model = BertForSequenceClassification(cfg, shapes)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".LayerNorm." in name:
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            else:
                p.normal_(0.0, 0.02, generator=g)
    model.eval()
    return model, cfg, shapes


def make_inputs(cfg, batch, seq, seed=INPUT_SEED):
    """(input_ids, attention_mask, token_type_ids), int64: seeded random ids,
    all-ones mask, token types 0."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, cfg["vocab"], (batch, seq), generator=g, dtype=torch.long)
    return ids, torch.ones(batch, seq, dtype=torch.long), torch.zeros(batch, seq, dtype=torch.long)


def describe(cfg, shapes, model):
    heads = sum(nh for nh, _ in shapes)
    n = sum(p.numel() for p in model.parameters())
    return ("layers=%d hidden=%d heads_kept=%d/%d per_layer=%s intermediate=%s params=%d"
            % (cfg["layers"], cfg["hidden"], heads, cfg["heads"] * cfg["layers"],
               ",".join(str(nh) for nh, _ in shapes), ",".join(sorted({str(i) for _, i in shapes})), n))


def check_against_fixture(model, cfg, shapes, pruned, batch, seq):
    """Max |logit difference| between this module (float64) and
    tests/fixtures/torch_bert.py's bert_logits, or None without that file."""
    fx = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures")
    if not os.path.isfile(os.path.join(fx, "torch_bert.py")):
        return None
    sys.path.insert(0, fx)
    try:
        import torch_bert
    finally:
        sys.path.pop(0)
    ids, mask, types = make_inputs(cfg, batch, seq)
    m64 = model.double()
    w = {k: v for k, v in m64.state_dict().items()}
    with torch.inference_mode():
        mine = m64(ids, mask, types)
        ref = torch_bert.bert_logits(w, ids, types, mask, cfg["heads"], cfg["layers"],
                                     pruned=pruned_heads(cfg) if pruned else None)
    model.float()
    return (mine - ref).abs().max().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pruned", action="store_true", help="44 heads removed, intermediate 1536")
    ap.add_argument("--quick", action="store_true", help="tiny model for smoke tests")
    ap.add_argument("--layers", type=int, default=None, help="override the layer count")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seq", type=int, default=16)
    ap.add_argument("--check", action="store_true",
                    help="compare with tests/fixtures/torch_bert.py (float64)")
    args = ap.parse_args()
    model, cfg, shapes = build(args.quick, args.pruned, args.layers)
    print(("pruned " if args.pruned else "base ") + describe(cfg, shapes, model))
    ids, mask, types = make_inputs(cfg, args.batch, args.seq)
    with torch.inference_mode():
        logits = model(ids, mask, types)
    print("logits[0] =", [round(v, 6) for v in logits[0].tolist()])
    if args.check:
        d = check_against_fixture(model, cfg, shapes, args.pruned, args.batch, args.seq)
        if d is None:
            print("check: tests/fixtures/torch_bert.py not found, skipped")
        else:
            print("check: max |logit - torch_bert.bert_logits| = %.3g (float64)" % d)
            if not d < 1e-9:
                sys.exit("check failed")


if __name__ == "__main__":
    main()
