#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`tpa merge` end to end and the dense export's layout, read with the
standard-library safetensors reader and HF shape rules of
tests/lora/check_hf_layout.py (imported, not copied).

Usage: check_dense_layout.py TEST_MERGE_EXE TPA_EXE

- `tpa merge` of tests/fixtures/lora/peft-tiny-pruned into
  tests/fixtures/tiny-pruned, compact: config.json keeps pruned_heads, the
  tensors are HF's BertForSequenceClassification state_dict after
  prune_heads, every adapted weight equals W + (alpha/r) B A recomputed
  here in float64 from the two input files (r and alpha resolved with
  PEFT's rank_pattern/alpha_pattern rules), LayerNorms and classifier are
  the adapter's where it has them, everything else is the base's bytes.
- The same with --dense: no pruned_heads, original shapes, each kept head's
  rows/columns equal the compact export's, removed heads exact zeros
  (weights and Q/K/V biases), other tensors the compact export's bytes.
- `TEST_MERGE_EXE --save-dense tiny-pruned DIR` (no merge): equal to the
  unpruned fixture tiny, which tiny-pruned was cut from
  (gen_fixtures.py), with the removed heads zeroed.
- `tpa predict` gives the same logits (1e-5) on both exports and other
  logits than the unmerged base; usage errors exit 2, an adapter for
  another shape exits 1 without creating the output.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lora"))
import check_hf_layout as hf  # noqa: E402

FIX = hf.FIX
DATA = os.environ.get("TPA_SHARED_DATA", "")
PREFIX = "base_model.model."


def floats(entry):
    dtype, shape, raw = entry
    code = {"F32": "f", "F16": "e"}[dtype]
    n = len(raw) // struct.calcsize(code)
    return list(struct.unpack("<%d%s" % (n, code), raw))


def load(d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    return cfg, hf.read_safetensors(os.path.join(d, "model.safetensors"))[1]


def head_dim(cfg):
    return cfg["hidden_size"] // cfg["num_attention_heads"]


def resolve(ac, module):
    rp = hf.peft_pattern(ac["rank_pattern"], module)
    ap = hf.peft_pattern(ac["alpha_pattern"], module)
    r = ac["rank_pattern"][rp] if rp else ac["r"]
    alpha = ac["alpha_pattern"][ap] if ap else ac["lora_alpha"]
    return r, alpha


def check_compact(out, base_dir, adapter_dir):
    bcfg, base = load(base_dir)
    cfg, got = load(out)
    assert cfg["pruned_heads"] == bcfg["pruned_heads"], cfg.get("pruned_heads")
    expect = hf.hf_bert_shapes(cfg)
    assert set(got) == set(expect), set(got) ^ set(expect)
    with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
        ac = json.load(f)
    _, ad = hf.read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    merged = saved = 0
    for name, shape in expect.items():
        dtype, s, raw = got[name]
        assert dtype == "F32" and s == shape, (name, dtype, s, shape)
        module = name.rsplit(".", 1)[0]
        a_key = PREFIX + module + ".lora_A.weight"
        if name.endswith(".weight") and a_key in ad:
            r, alpha = resolve(ac, module)
            A, B = floats(ad[a_key]), floats(ad[PREFIX + module + ".lora_B.weight"])
            assert ad[a_key][1] == (r, shape[1]), (a_key, ad[a_key][1], r)
            W, G = floats(base[name]), floats(got[name])
            rows, cols, scale = shape[0], shape[1], alpha / r
            worst = 0.0
            for o in range(rows):
                for i in range(cols):
                    want = W[o * cols + i] + scale * sum(B[o * r + k] * A[k * cols + i]
                                                         for k in range(r))
                    worst = max(worst, abs(G[o * cols + i] - want) / max(1.0, abs(want)))
            assert worst < 1e-6, (name, worst)
            merged += 1
        elif PREFIX + name in ad:  # modules_to_save copy
            want = floats(ad[PREFIX + name])
            assert floats(got[name]) == want, ("not the adapter's copy", name)
            saved += 1
        else:
            assert raw == base[name][2], ("differs from the base model", name)
    assert merged == sum(1 for k in ad if k.endswith("lora_A.weight")), merged
    return merged, saved


def check_dense(dense_dir, compact_dir):
    """dense_dir against the compact model it expands (same weights)."""
    ccfg, compact = load(compact_dir)
    cfg, dense = load(dense_dir)
    assert "pruned_heads" not in cfg, cfg["pruned_heads"]
    assert cfg["num_attention_heads"] == ccfg["num_attention_heads"]
    expect = hf.hf_bert_shapes(cfg)  # no pruned_heads: full shapes
    assert set(dense) == set(expect), set(dense) ^ set(expect)
    heads, d, H = cfg["num_attention_heads"], head_dim(cfg), cfg["hidden_size"]
    pruned = {int(k): set(v) for k, v in ccfg.get("pruned_heads", {}).items()}
    zeros = 0
    for name, shape in expect.items():
        dtype, s, raw = dense[name]
        assert dtype == "F32" and s == shape, (name, dtype, s, shape)
        parts = name.split(".")
        attn = ".attention.self." in name or name.endswith("attention.output.dense.weight")
        if not attn:
            assert raw == compact[name][2], ("differs from the compact model", name)
            continue
        layer = int(parts[3])
        keep = [h for h in range(heads) if h not in pruned.get(layer, ())]
        D, C = floats(dense[name]), floats(compact[name])
        if name.endswith("attention.output.dense.weight"):  # columns by head
            a = len(keep) * d
            for row in range(H):
                for h in range(heads):
                    got = D[row * heads * d + h * d: row * heads * d + (h + 1) * d]
                    if h in keep:
                        k = keep.index(h)
                        assert got == C[row * a + k * d: row * a + (k + 1) * d], (name, row, h)
                    else:
                        assert got == [0.0] * d, (name, row, h)
                        zeros += d
        else:  # query/key/value weight or bias: rows by head
            per = H if name.endswith(".weight") else 1
            for h in range(heads):
                got = D[h * d * per:(h + 1) * d * per]
                if h in keep:
                    k = keep.index(h)
                    assert got == C[k * d * per:(k + 1) * d * per], (name, h)
                else:
                    assert got == [0.0] * (d * per), (name, h)
                    zeros += d * per
    n_pruned = sum(len(v) for v in pruned.values())
    assert zeros == n_pruned * (3 * (d * H + d) + H * d), (zeros, n_pruned)
    return n_pruned


def predict(tpa, model):
    p = subprocess.run([tpa, "predict", "--model", model, "--task", "sst2", "--data",
                        os.path.join(DATA, "glue", "SST-2", "dev.tsv"), "--limit", "48",
                        "--max-seq-length", "64", "-q"],
                       check=True, capture_output=True, text=True)
    return [float(x) for line in p.stdout.splitlines() for x in line.split("\t")[1:]]


def main():
    test_merge, tpa = sys.argv[1], sys.argv[2]
    base, adapter = os.path.join(FIX, "tiny-pruned"), os.path.join(FIX, "lora", "peft-tiny-pruned")
    with tempfile.TemporaryDirectory() as tmp:
        compact, dense, plain = (os.path.join(tmp, n) for n in ("compact", "dense", "plain"))
        for extra, out in (([], compact), (["--dense"], dense)):
            subprocess.run([tpa, "merge", "--model", base, "--adapter", adapter, "--out", out, "-q"]
                           + extra, check=True)
        merged, saved = check_compact(compact, base, adapter)
        n_pruned = check_dense(dense, compact)
        subprocess.run([test_merge, "--save-dense", "tiny-pruned", plain], check=True)
        check_dense(plain, base)
        # tiny-pruned is tiny with heads removed: the dense export IS tiny
        # with those heads zeroed (check_dense compared it to tiny-pruned).
        _, tiny = load(os.path.join(FIX, "tiny"))
        _, pl = load(plain)
        for name in tiny:
            if ".attention.self." not in name and "attention.output.dense.weight" not in name:
                assert pl[name][2] == tiny[name][2], name

        if DATA:
            a, b, c = predict(tpa, compact), predict(tpa, dense), predict(tpa, base)
            assert len(a) == len(b) == len(c) == 96, (len(a), len(b), len(c))
            diff = max(abs(x - y) for x, y in zip(a, b))
            moved = max(abs(x - y) for x, y in zip(a, c))
            assert diff <= 1e-5, ("dense vs compact logits", diff)
            assert moved > 1e-2, ("the merge changed nothing", moved)

        r = subprocess.run([tpa, "merge", "--model", base, "--out", os.path.join(tmp, "x")],
                           capture_output=True, text=True)
        assert r.returncode == 2 and "--adapter" in r.stderr, (r.returncode, r.stderr)
        r = subprocess.run([tpa, "merge", "--model", base, "--adapter", adapter, "--out",
                            os.path.join(tmp, "x"), "--bogus"], capture_output=True, text=True)
        assert r.returncode == 2, r.returncode
        wrong = os.path.join(tmp, "wrong")
        r = subprocess.run([tpa, "merge", "--model", os.path.join(FIX, "tiny"), "--adapter",
                            adapter, "--out", wrong, "-q"], capture_output=True, text=True)
        assert r.returncode == 1 and r.stderr.startswith("tpa: "), (r.returncode, r.stderr)
        assert not os.path.exists(wrong), "a refused merge created its output"
        texts = []
        for args in (["merge", "--help"], ["merge", "-h"], ["help", "merge"],
                     ["merge", "--help", "--bogus"]):
            r = subprocess.run([tpa] + args, capture_output=True, text=True)
            assert r.returncode == 0 and r.stderr == "", (args, r.returncode, r.stderr)
            assert r.stdout.startswith("Usage: tpa merge"), (args, r.stdout[:40])
            texts.append(r.stdout)
        assert all(t == texts[0] for t in texts), "merge help texts differ"
        for opt in ("--model", "--adapter", "--out", "--dense", "--quiet"):
            assert opt in texts[0], opt
        r = subprocess.run([tpa, "--help"], capture_output=True, text=True)
        assert "\n  merge " in r.stdout, "tpa --help does not list merge"
    print("ok: tpa merge: %d merged weights, %d modules_to_save copies; dense export: "
          "%d removed heads zeroed, kept heads in place" % (merged, saved, n_pruned))


if __name__ == "__main__":
    main()
