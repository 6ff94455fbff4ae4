#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check the files libtpa writes against what HF transformers 4.x and PEFT
expect, with a hand-written safetensors reader (standard library only;
transformers and peft are not installed here).

Usage: check_hf_layout.py TEST_LORA_EXE
It runs `TEST_LORA_EXE --save-model tiny-pruned DIR` and
`TEST_LORA_EXE --save-adapter tiny-pruned DIR`, then checks:
- model: config.json has every BertConfig key with the fixture's values,
  BertForSequenceClassification as architecture, pruned_heads as HF
  writes it; model.safetensors holds exactly the tensors of HF's
  BertForSequenceClassification state_dict with the shapes that
  prune_heads leaves (query/key/value rows and attention.output.dense
  columns of removed heads gone), F32, metadata {"format": "pt"} (which
  transformers requires), values equal to the fixture's; vocab.txt equal;
  tokenizer_config.json describes a BertTokenizer.
- adapter: the modules PEFT would adapt (target_modules, rank_pattern and
  alpha_pattern resolved with PEFT's own matching rules) have lora_A
  [r, in] and lora_B [out, r] tensors with the pruned sizes, and
  modules_to_save tensors under PEFT's key names.
"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

FIX = os.environ.get("TPA_FIXTURES") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
BASE = os.path.join(FIX, "tiny-pruned")
DSIZE = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    assert len(blob) >= 8, path
    (n,) = struct.unpack("<Q", blob[:8])
    assert 8 + n <= len(blob), path
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    meta = header.pop("__metadata__", None)
    spans, out = [], {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        count = 1
        for d in e["shape"]:
            count *= d
        assert end - b == count * DSIZE[e["dtype"]], (path, name)
        assert 0 <= b <= end <= len(data), (path, name)
        spans.append((b, end))
        out[name] = (e["dtype"], tuple(e["shape"]), data[b:end])
    spans.sort()
    at = 0
    for b, end in spans:  # back to back, nothing overlapping or left over
        assert b == at, (path, "gap or overlap at", b)
        at = end
    assert at == len(data), (path, "trailing bytes")
    return meta, out


def hf_bert_shapes(cfg):
    """BertForSequenceClassification's state_dict after prune_heads."""
    H, L, heads = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]
    d, inter = H // heads, cfg["intermediate_size"]
    pruned = {int(k): set(v) for k, v in cfg.get("pruned_heads", {}).items()}
    labels = len(cfg["id2label"])
    s = {
        "bert.embeddings.word_embeddings.weight": (cfg["vocab_size"], H),
        "bert.embeddings.position_embeddings.weight": (cfg["max_position_embeddings"], H),
        "bert.embeddings.token_type_embeddings.weight": (cfg["type_vocab_size"], H),
        "bert.embeddings.LayerNorm.weight": (H,),
        "bert.embeddings.LayerNorm.bias": (H,),
        "bert.pooler.dense.weight": (H, H),
        "bert.pooler.dense.bias": (H,),
        "classifier.weight": (labels, H),
        "classifier.bias": (labels,),
    }
    for l in range(L):
        a = (heads - len(pruned.get(l, ()))) * d
        p = "bert.encoder.layer.%d." % l
        for m in ("query", "key", "value"):
            s[p + "attention.self.%s.weight" % m] = (a, H)
            s[p + "attention.self.%s.bias" % m] = (a,)
        s[p + "attention.output.dense.weight"] = (H, a)
        s[p + "attention.output.dense.bias"] = (H,)
        s[p + "intermediate.dense.weight"] = (inter, H)
        s[p + "intermediate.dense.bias"] = (inter,)
        s[p + "output.dense.weight"] = (H, inter)
        s[p + "output.dense.bias"] = (H,)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            s[p + ln + ".weight"] = (H,)
            s[p + ln + ".bias"] = (H,)
    return s


def check_model(out):
    with open(os.path.join(BASE, "config.json")) as f:
        want = json.load(f)
    with open(os.path.join(out, "config.json")) as f:
        got = json.load(f)
    assert got["architectures"] == ["BertForSequenceClassification"], got["architectures"]
    assert got["model_type"] == "bert"
    for key in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "hidden_act", "hidden_dropout_prob",
                "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
                "initializer_range", "layer_norm_eps", "pad_token_id",
                "position_embedding_type", "id2label", "label2id"):
        assert got[key] == want[key], (key, got.get(key), want[key])
    for key in ("use_cache", "classifier_dropout", "torch_dtype", "transformers_version"):
        assert key in got, key
    assert {k: sorted(v) for k, v in got["pruned_heads"].items()} == \
        {k: sorted(v) for k, v in want["pruned_heads"].items()}
    # What HF's model sets on its config in its first forward with labels,
    # and save_pretrained then writes.
    assert got["problem_type"] == "single_label_classification", got.get("problem_type")

    meta, tensors = read_safetensors(os.path.join(out, "model.safetensors"))
    assert meta == {"format": "pt"}, meta
    expect = hf_bert_shapes(got)
    assert set(tensors) == set(expect), set(tensors) ^ set(expect)
    _, base = read_safetensors(os.path.join(BASE, "model.safetensors"))
    for name, shape in expect.items():
        dtype, s, data = tensors[name]
        assert dtype == "F32" and s == shape, (name, dtype, s, shape)
        assert base[name][2] == data, ("value differs", name)
    with open(os.path.join(out, "vocab.txt"), "rb") as f, \
            open(os.path.join(BASE, "vocab.txt"), "rb") as g:
        assert f.read() == g.read(), "vocab.txt differs"
    with open(os.path.join(out, "tokenizer_config.json")) as f:
        tc = json.load(f)
    assert tc["tokenizer_class"] == "BertTokenizer"
    assert tc["do_lower_case"] is True
    return len(tensors)


def peft_target(key, targets):
    """PEFT's check_target_module_exists for a list of names."""
    return any(key == t or key.endswith("." + t) for t in targets)


def peft_pattern(patterns, key):
    """PEFT's get_pattern_key, new rule, and the older rule: same answer."""
    new = next((p for p in patterns if re.match(r"(.*\.)?(%s)$" % p, key)), None)
    old = next((p for p in patterns if re.match(r".*\.%s$" % p, key)), None)
    assert new == old, (key, new, old)
    hits = [p for p in patterns if re.match(r"(.*\.)?(%s)$" % p, key)]
    assert len(hits) <= 1, (key, hits)
    return new


def check_adapter(out):
    with open(os.path.join(BASE, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(out, "adapter_config.json")) as f:
        ac = json.load(f)
    assert ac["peft_type"] == "LORA" and ac["task_type"] == "SEQ_CLS"
    assert ac["bias"] == "none" and ac["fan_in_fan_out"] is False
    assert ac["modules_to_save"] == ["classifier", "LayerNorm"]
    assert ac["libtpa"]["pruned_heads"] == cfg["pruned_heads"]
    meta, tensors = read_safetensors(os.path.join(out, "adapter_model.safetensors"))
    assert meta == {"format": "pt"}, meta
    H, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d = H // heads
    expect = {}
    for name, shape in hf_bert_shapes(cfg).items():
        module = name.rsplit(".", 1)[0]
        leaf = module.rsplit(".", 1)[-1]
        if leaf == "LayerNorm" or module == "classifier":  # modules_to_save
            expect["base_model.model." + name] = shape
            continue
        if not name.endswith(".weight") or not peft_target(module, ac["target_modules"]):
            continue
        rp = peft_pattern(ac["rank_pattern"], module)
        ap = peft_pattern(ac["alpha_pattern"], module)
        r = ac["rank_pattern"][rp] if rp else ac["r"]
        alpha = ac["alpha_pattern"][ap] if ap else ac["lora_alpha"]
        layer = int(module.split(".")[3])
        # What the C side created: rank 8 on even blocks, 4 on odd ones,
        # block 1's key not adapted; alpha 2 r.
        assert r == (8 if layer % 2 == 0 else 4), (module, r)
        assert alpha == 2 * r, (module, alpha)
        assert module != "bert.encoder.layer.1.attention.self.key"
        out_f, in_f = shape
        expect["base_model.model.%s.lora_A.weight" % module] = (r, in_f)
        expect["base_model.model.%s.lora_B.weight" % module] = (out_f, r)
    assert set(tensors) == set(expect), sorted(set(tensors) ^ set(expect))
    for name, shape in expect.items():
        assert tensors[name][0] == "F32" and tensors[name][1] == shape, \
            (name, tensors[name][:2], shape)
    return len(expect)


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, adapter_dir = os.path.join(tmp, "model"), os.path.join(tmp, "adapter")
        for what, d in (("--save-model", model_dir), ("--save-adapter", adapter_dir)):
            subprocess.run([exe, what, "tiny-pruned", d], check=True)
        n_model = check_model(model_dir)
        n_adapter = check_adapter(adapter_dir)
    print("ok: model.safetensors %d tensors, adapter %d tensors in HF/PEFT layout"
          % (n_model, n_adapter))


if __name__ == "__main__":
    main()
