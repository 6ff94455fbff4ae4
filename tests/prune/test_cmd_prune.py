# SPDX-License-Identifier: Apache-2.0
"""`tpa prune` as a user runs it, with the standard library only.

Usage: test_cmd_prune.py PATH_TO_TPA (TPA_FIXTURES must be set).

The importance tables are written here by hand, so every expected plan is
worked out from their scores in the comments below, not taken from libtpa.
The outputs are checked as files: plan.json's exact text, config.json's
pruned_heads and the tensor shapes in model.safetensors' header (each
removed head takes 16 rows of query/key/value and 16 columns of
attention.output.dense in the tiny fixture). Logits of pruned models are
checked against PyTorch by the C suite (test_prune).
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

TPA = sys.argv[1]
TINY = os.path.join(os.environ["TPA_FIXTURES"], "tiny")
TINY_PRUNED = os.path.join(os.environ["TPA_FIXTURES"], "tiny-pruned")
FAILED = []

# tiny: 3 layers x 6 heads. Sorted ascending: 2:4 .02, 1:1 .05, 0:3 .08,
# 2:0 .11, 1:5 .14, 0:0 .17, 2:2 .20, then every other head .5 or more.
SCORES = [[0.17, 0.50, 0.60, 0.08, 0.70, 0.80],
          [0.55, 0.05, 0.65, 0.75, 0.85, 0.14],
          [0.11, 0.58, 0.20, 0.68, 0.02, 0.90]]


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILED.append(what)


def write_importance(path, scores, neurons=None):
    layers, heads = len(scores), len(scores[0])
    blocks = [sum(x for x in row if x is not None) for row in scores]
    table = {"layers": layers, "heads": heads, "examples": 8, "tokens": 80,
             "raw": scores, "normalized": scores, "blocks": blocks}
    if neurons:
        table.update(ffn_raw=neurons, ffn_normalized=neurons)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(table, f)


# Neuron scores of tiny's 200 neurons per layer, all distinct: layer l,
# neuron j scores ((37 j + 11 l) mod 200) / 200, so keeping half keeps the
# neurons whose residue is 100 or more.
NEURONS = [[((37 * j + 11 * l) % 200) / 200 for j in range(200)] for l in range(3)]


def ffn_shapes(out, layer):
    h = header(os.path.join(out, "model.safetensors"))
    p = f"bert.encoder.layer.{layer}."
    return (h[p + "intermediate.dense.weight"]["shape"], h[p + "intermediate.dense.bias"]["shape"],
            h[p + "output.dense.weight"]["shape"])


def run(*args):
    p = subprocess.run([TPA, "prune", *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


def q_rows(out, layer):
    h = header(os.path.join(out, "model.safetensors"))
    q = h[f"bert.encoder.layer.{layer}.attention.self.query.weight"]["shape"]
    o = h[f"bert.encoder.layer.{layer}.attention.output.dense.weight"]["shape"]
    check(o == [96, q[0]] and q[1] == 96, f"layer {layer}: query {q}, output.dense {o} agree")
    return q[0]


def main():
    tmp = tempfile.mkdtemp(prefix="tpa-prune-cli-")
    try:
        imp = os.path.join(tmp, "imp.json")
        write_importance(imp, SCORES)

        # --prune-heads 5: 2:4 1:1 0:3 2:0 1:5.
        out = os.path.join(tmp, "n5")
        rc, _, err = run("--model", TINY, "--importance", imp, "--prune-heads", "5", "--out", out)
        check(rc == 0, f"--prune-heads 5 exits 0 ({err.strip()})")
        with open(os.path.join(out, "plan.json"), encoding="utf-8") as f:
            text = f.read()
        check(text == '{"layers": 3, "heads": 6, "pruned_heads": {"0": [3], "1": [1, 5], '
                      '"2": [0, 4]}}\n', f"plan.json text: {text!r}")
        with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        check(cfg.get("pruned_heads") == {"0": [3], "1": [1, 5], "2": [0, 4]},
              f"config.json pruned_heads {cfg.get('pruned_heads')}")
        check([q_rows(out, l) for l in range(3)] == [80, 64, 64], "compact Q/K/V/O shapes")
        check("removed 5 heads" in err and "295706 -> 264746" in err,
              f"summary names heads and exact parameters: {err.strip()}")

        # --threshold .15: strictly below: 2:4 1:1 0:3 2:0 1:5 (0:0 is .17).
        out = os.path.join(tmp, "t15")
        rc, _, err = run("--model", TINY, "--importance", imp, "--threshold", "0.15", "--out", out)
        check(rc == 0, f"--threshold exits 0 ({err.strip()})")
        with open(os.path.join(out, "plan.json"), encoding="utf-8") as f:
            check(json.load(f)["pruned_heads"] == {"0": [3], "1": [1, 5], "2": [0, 4]},
                  "threshold plan")

        # Default count: round(0.3056 * 18) = 6 -> adds 0:0.
        out = os.path.join(tmp, "default")
        rc, _, err = run("--model", TINY, "--importance", imp, "--out", out, "--quiet")
        check(rc == 0 and err == "", f"default count, quiet ({err.strip()})")
        with open(os.path.join(out, "plan.json"), encoding="utf-8") as f:
            check(json.load(f)["pruned_heads"] == {"0": [0, 3], "1": [1, 5], "2": [0, 4]},
                  "default plan (6 heads)")

        # An already-pruned model ({"0": [1, 4], "2": [0, 2, 3, 5]}) and its
        # own table: nulls for absent heads. Layer 2 has only 2:1 .58 and
        # 2:4 .02 left. Sorted scored: 2:4 .02, 1:1 .05, 0:3 .08, 1:5 .14,
        # 0:0 .17, ... --prune-heads 3 takes 2:4, 1:1, 0:3 (layer 2 keeps 2:1).
        pruned = [[0.17, None, 0.60, 0.08, None, 0.80],
                  SCORES[1],
                  [None, 0.58, None, None, 0.02, None]]
        imp2 = os.path.join(tmp, "imp2.json")
        write_importance(imp2, pruned)
        out = os.path.join(tmp, "again")
        rc, _, err = run("--model", TINY_PRUNED, "--importance", imp2, "--prune-heads", "3",
                         "--out", out)
        check(rc == 0, f"pruning a pruned model exits 0 ({err.strip()})")
        with open(os.path.join(out, "plan.json"), encoding="utf-8") as f:
            check(json.load(f)["pruned_heads"] == {"0": [3], "1": [1], "2": [4]},
                  "plan of the pruned model lists only new heads")
        with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
            check(json.load(f)["pruned_heads"] == {"0": [1, 3, 4], "1": [1], "2": [0, 2, 3, 4, 5]},
                  "config.json has the union")
        check([q_rows(out, l) for l in range(3)] == [48, 80, 16], "composed shapes")

        # --dense: original shapes, no pruned_heads.
        out = os.path.join(tmp, "dense")
        rc, _, err = run("--model", TINY, "--importance", imp, "--prune-heads", "5", "--dense",
                         "--out", out)
        check(rc == 0, f"--dense exits 0 ({err.strip()})")
        if rc == 0:
            with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
                check(not json.load(f).get("pruned_heads"), "dense config has no pruned_heads")
            check([q_rows(out, l) for l in range(3)] == [96, 96, 96], "dense shapes")
            check(os.path.exists(os.path.join(out, "plan.json")), "dense run writes plan.json")

        # --ffn-keep 0.5 with 2 heads: 100 of each layer's 200 neurons stay.
        imp_ffn = os.path.join(tmp, "imp_ffn.json")
        write_importance(imp_ffn, SCORES, NEURONS)
        out = os.path.join(tmp, "ffn")
        rc, _, err = run("--model", TINY, "--importance", imp_ffn, "--prune-heads", "2",
                         "--ffn-keep", "0.5", "--out", out)
        check(rc == 0, f"--ffn-keep 0.5 exits 0 ({err.strip()})")
        if rc == 0:
            with open(os.path.join(out, "plan.json"), encoding="utf-8") as f:
                plan = json.load(f)
            want = {str(l): [j for j in range(200) if NEURONS[l][j] < 0.5] for l in range(3)}
            check(plan.get("ffn_widths") == [200, 200, 200], f"ffn_widths {plan.get('ffn_widths')}")
            check(plan.get("pruned_neurons") == want, "pruned_neurons: the 100 lowest per layer")
            check(plan["pruned_heads"] == {"1": [1], "2": [4]}, "heads of the same plan")
            with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
                check(json.load(f)["intermediate_size"] == 100, "config.json intermediate_size")
            check(all(ffn_shapes(out, l) == ([100, 96], [100], [96, 100]) for l in range(3)),
                  "compact intermediate/output dense shapes")
            check("removed 300 neurons; neurons per layer: 100 100 100 (of 200)" in err,
                  f"neuron summary: {err.strip()}")
        # --ffn-global 0.5: the 300 best of all 600 neurons, ranked together;
        # layer l's scores scaled by (l + 1) / 3, so the layers keep 50,
        # 100 and 150 (each has its best among them).
        scaled = [[x * (l + 1) / 3 for x in NEURONS[l]] for l in range(3)]
        imp_global = os.path.join(tmp, "imp_global.json")
        write_importance(imp_global, SCORES, scaled)
        out = os.path.join(tmp, "ffn-global")
        rc, _, err = run("--model", TINY, "--importance", imp_global, "--prune-heads", "0",
                         "--ffn-global", "0.5", "--out", out)
        check(rc == 0, f"--ffn-global 0.5 exits 0 ({err.strip()})")
        if rc == 0:
            ranked = sorted((-scaled[l][j], l, j) for l in range(3) for j in range(200))
            keep = {(l, j) for _, l, j in ranked[:300]}
            widths = [sum((l, j) in keep for j in range(200)) for l in range(3)]
            check(len(set(widths)) == 3, f"the layers keep different counts: {widths}")
            with open(os.path.join(out, "plan.json"), encoding="utf-8") as f:
                plan = json.load(f)
            check(plan["pruned_neurons"] == {str(l): [j for j in range(200) if (l, j) not in keep]
                                             for l in range(3)}, "global plan")
            with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
                cfg = json.load(f)
            check(cfg["intermediate_size"] == max(widths) and
                  (len(set(widths)) == 1 or cfg.get("intermediate_sizes") == widths),
                  f"config widths {cfg.get('intermediate_sizes')} vs {widths}")
            check(all(ffn_shapes(out, l) == ([widths[l], 96], [widths[l]], [96, widths[l]])
                      for l in range(3)), "per-layer compact shapes")
        # The table must have neuron scores; F must keep something.
        rc, _, err = run("--model", TINY, "--importance", imp, "--ffn-keep", "0.5", "--out", out + "2")
        check(rc == 1 and "--ffn" in err and not os.path.exists(out + "2"),
              f"--ffn-keep without neuron scores: exit 1 ({err.strip()})")
        rc, _, err = run("--model", TINY, "--importance", imp_ffn, "--ffn-keep", "0.001",
                         "--out", out + "2")
        check(rc == 1 and "keeps none" in err and not os.path.exists(out + "2"),
              f"--ffn-keep that keeps nothing: exit 1 ({err.strip()})")

        # Usage errors: exit 2, nothing written.
        for args, what in ((["--prune-heads", "2", "--threshold", "0.1"], "both options"),
                           (["--threshold", "abc"], "bad threshold"),
                           (["--threshold", "nan"], "NaN threshold"),
                           (["--prune-heads", "-1"], "negative count"),
                           (["--ffn-keep", "0"], "--ffn-keep 0"),
                           (["--ffn-keep", "1.5"], "--ffn-keep above 1"),
                           (["--ffn-keep", "x"], "bad --ffn-keep"),
                           (["--ffn-keep", "0.5", "--ffn-global", "0.5"], "both neuron options"),
                           (["--ffn-global", "0"], "--ffn-global 0"),
                           (["--bogus"], "unknown option")):
            out = os.path.join(tmp, "usage")
            rc, _, err = run("--model", TINY, "--importance", imp, "--out", out, *args)
            check(rc == 2 and not os.path.exists(out), f"{what}: exit 2 ({err.strip()})")
        rc, _, err = run("--model", TINY, "--importance", imp)
        check(rc == 2 and "--out" in err, "missing --out: exit 2")
        rc, out_text, _ = run("--help")
        check(rc == 0 and "--prune-heads" in out_text, "--help")

        # Failures: exit 1 with the library's message naming the file.
        out = os.path.join(tmp, "fail")
        missing = os.path.join(tmp, "none.json")
        rc, _, err = run("--model", TINY, "--importance", missing, "--out", out)
        check(rc == 1 and missing in err and not os.path.exists(out),
              f"missing table: exit 1 naming it ({err.strip()})")
        wide = os.path.join(tmp, "wide.json")
        write_importance(wide, [row + [0.3, 0.4] for row in SCORES])  # 8 heads
        rc, _, err = run("--model", TINY, "--importance", wide, "--out", out)
        check(rc == 1 and "3 layers x 8 heads" in err and wide in err and not os.path.exists(out),
              f"table of another shape: exit 1 ({err.strip()})")
        rc, _, err = run("--model", TINY, "--importance", imp, "--prune-heads", "19", "--out", out)
        check(rc == 1 and "19" in err and not os.path.exists(out),
              f"more heads than exist: exit 1 ({err.strip()})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
