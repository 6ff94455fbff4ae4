#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seed corpora of fuzz/corpus/<kind>/ deterministically.

Seeds are small valid and near-valid inputs: a few fixture files of
tests/fixtures (the tiny model's JSON files and vocabulary, importance
tables, the PEFT adapter's config) plus short files written here. No GLUE
data is copied: the TSV rows below are made up in GLUE's column layout.
Run from anywhere: python3 fuzz/gen_corpus.py (rewrites corpus/ only;
regressions/ are kept by hand, see docs/fuzzing.md).
"""
import base64
import gzip
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "tests", "fixtures")
OUT = os.path.join(HERE, "corpus")


def put(kind, name, data):
    d = os.path.join(OUT, kind)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def fixture(rel):
    with open(os.path.join(FIX, rel), "rb") as f:
        return f.read()


def safetensors(tensors, meta=None, pad=True, raw_header=None):
    """tensors: list of (name, dtype, shape, bytes); offsets back to back."""
    header, blob = {}, b""
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    if meta is not None:
        header["__metadata__"] = meta
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def f32(*v):
    return struct.pack("<%df" % len(v), *v)


def gen_safetensors():
    k = "safetensors"
    put(k, "f32_2x3", safetensors([("w", "F32", [2, 3], f32(1, 2, 3, 4, 5, 6))]))
    put(k, "mixed_meta", safetensors(
        [("a.weight", "F32", [2], f32(0.5, -1)),
         ("b.half", "F16", [3], struct.pack("<3H", 0x3C00, 0x7C00, 0x8001)),
         ("c.bf16", "BF16", [1, 2], struct.pack("<2H", 0x3F80, 0x7FC0)),
         ("d.i64", "I64", [1], struct.pack("<q", -7)),
         ("e.empty", "F32", [0, 4], b"")],
        meta={"format": "pt"}))
    put(k, "scalar_u8", safetensors([("s", "U8", [], b"\x07"), ("t", "BOOL", [2], b"\x01\x00")]))
    # Unaligned F32 (offset 1 after a U8): must be read without misaligned loads.
    put(k, "unaligned", safetensors([("p", "U8", [1], b"\x01"), ("q", "F32", [2], f32(3, 4))]))
    put(k, "truncated", safetensors([("w", "F32", [4], f32(1, 2, 3, 4))])[:-5])
    put(k, "overlap", safetensors([], raw_header=json.dumps(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode()) + b"\0" * 12)
    put(k, "shape_overflow", safetensors([], raw_header=json.dumps(
        {"a": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 0]}}).encode()))
    put(k, "huge_header_len", struct.pack("<Q", 1 << 63) + b"{}")
    put(k, "not_json", struct.pack("<Q", 8) + b"{nope!!}")
    put(k, "dup_names", struct.pack("<Q", 96) +
        b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
        b'"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}'.ljust(96) + b"xy")


def micro_model(dtype="F32", prefix="bert.", classifier=True, lead=None, drop=None, reshape=None):
    """The micro BERT of fuzz_weights.c: 1 layer, hidden 4, 2 heads,
    intermediate 8, vocab 8, 8 positions, 2 token types, 2 labels."""
    H, I, V, P, T = 4, 8, 8, 8, 2
    shapes = [("embeddings.word_embeddings.weight", [V, H]),
              ("embeddings.position_embeddings.weight", [P, H]),
              ("embeddings.token_type_embeddings.weight", [T, H]),
              ("embeddings.LayerNorm.weight", [H]), ("embeddings.LayerNorm.bias", [H])]
    lin = [("attention.self.query", H, H), ("attention.self.key", H, H),
           ("attention.self.value", H, H), ("attention.output.dense", H, H),
           ("intermediate.dense", I, H), ("output.dense", H, I)]
    for name, o, i in lin:
        shapes += [("encoder.layer.0.%s.weight" % name, [o, i]),
                   ("encoder.layer.0.%s.bias" % name, [o])]
    for ln in ("attention.output", "output"):
        shapes += [("encoder.layer.0.%s.LayerNorm.weight" % ln, [H]),
                   ("encoder.layer.0.%s.LayerNorm.bias" % ln, [H])]
    shapes += [("pooler.dense.weight", [H, H]), ("pooler.dense.bias", [H])]
    shapes = [(prefix + n, s) for n, s in shapes]
    if classifier:
        shapes += [("classifier.weight", [2, H]), ("classifier.bias", [2])]
    tensors = [] if lead is None else [lead]
    for k, (name, shape) in enumerate(shapes):
        if drop and drop in name:
            continue
        if reshape and reshape in name:
            shape = list(reversed(shape)) + [1]
        n = 1
        for d in shape:
            n *= d
        vals = [((k * 7 + j * 3) % 11 - 5) / 8.0 for j in range(n)]
        if dtype == "F32":
            data = f32(*vals)
        elif dtype == "F16":
            data = struct.pack("<%de" % n, *vals)
        else:  # BF16: the top half of each F32
            data = b"".join(f32(v)[2:] for v in vals)
        tensors.append((name, dtype, shape, data))
    return safetensors(tensors, meta={"format": "pt"})


def gen_weights():
    k = "weights"
    put(k, "micro_f32", micro_model())
    put(k, "micro_f16", micro_model("F16"))
    put(k, "micro_bf16", micro_model("BF16"))
    put(k, "micro_bare", micro_model(prefix="", classifier=False))
    put(k, "micro_unaligned", micro_model(lead=("lead", "U8", [1], b"\x01")))
    put(k, "micro_missing", micro_model(drop="pooler.dense.bias"))
    put(k, "micro_bad_shape", micro_model(reshape="intermediate.dense.weight"))


def micro_int8(edit=None):
    """The micro BERT of fuzz_int8.c: fuzz_weights.c's, quantized as
    libtpa writes it (static activations): each block Linear and the word
    embeddings I8 with an F32 "_scale" per row, each block Linear an F32
    "input_scale". @p edit breaks one thing for a near-valid seed."""
    H, I, V, P, T = 4, 8, 8, 8, 2
    tensors = []

    def vals(n, k):
        return [((k * 7 + j * 3) % 11 - 5) / 8.0 for j in range(n)]

    def i8(name, rows, cols, k, qmax):
        codes = [((k * 5 + j) % (2 * qmax + 1)) - qmax for j in range(rows * cols)]
        if edit == "code" and "value" in name:
            codes[1] = 100
        dtype = "F32" if edit == "f32" and "query" in name else "I8"
        data = f32(*codes) if dtype == "F32" else struct.pack("<%db" % len(codes), *codes)
        tensors.append((name, dtype, [rows, cols], data))
        scales = [0.01 * (1 + r % 3) for r in range(rows)]
        if edit == "zero" and "key" in name:
            scales[0] = 0.0
        if not (edit == "drop" and "output.dense" in name):
            tensors.append((name + "_scale", "F32", [rows], f32(*scales)))

    i8("bert.embeddings.word_embeddings.weight", V, H, 0, 127)
    k = 1
    for name, shape in (("embeddings.position_embeddings.weight", [P, H]),
                        ("embeddings.token_type_embeddings.weight", [T, H]),
                        ("embeddings.LayerNorm.weight", [H]), ("embeddings.LayerNorm.bias", [H])):
        n = shape[0] * (shape[1] if len(shape) > 1 else 1)
        tensors.append(("bert." + name, "F32", shape, f32(*vals(n, k))))
        k += 1
    lin = [("attention.self.query", H, H), ("attention.self.key", H, H),
           ("attention.self.value", H, H), ("attention.output.dense", H, H),
           ("intermediate.dense", I, H), ("output.dense", H, I)]
    for name, o, i in lin:
        base = "bert.encoder.layer.0." + name
        i8(base + ".weight", o, i, k, 63)
        tensors.append((base + ".bias", "F32", [o], f32(*vals(o, k))))
        scale = float("nan") if edit == "nan" and "intermediate" in name else 0.05
        tensors.append((base + ".input_scale", "F32", [1], f32(scale)))
        k += 1
    for ln in ("attention.output", "output"):
        for part in ("weight", "bias"):
            tensors.append(("bert.encoder.layer.0.%s.LayerNorm.%s" % (ln, part), "F32", [H],
                            f32(*vals(H, k))))
            k += 1
    for name, shape in (("bert.pooler.dense.weight", [H, H]), ("bert.pooler.dense.bias", [H]),
                        ("classifier.weight", [2, H]), ("classifier.bias", [2])):
        n = shape[0] * (shape[1] if len(shape) > 1 else 1)
        tensors.append((name, "F32", shape, f32(*vals(n, k))))
        k += 1
    return safetensors(tensors, meta={"format": "pt"})


def gen_int8():
    k = "int8"
    put(k, "micro_int8", micro_int8())
    for edit in ("code", "f32", "zero", "drop", "nan"):
        put(k, "micro_int8_" + edit, micro_int8(edit))


def gen_config():
    k = "config"
    base = json.loads(fixture("tiny/config.json"))
    put(k, "tiny", fixture("tiny/config.json"))
    put(k, "tiny_pruned", fixture("tiny-pruned/config.json"))
    c = dict(base, id2label={"0": "a", "1": "b", "2": "c"})
    del c["label2id"]
    put(k, "three_labels", json.dumps(c))
    c = {key: v for key, v in base.items() if key not in ("id2label", "label2id")}
    put(k, "regression", json.dumps(dict(c, num_labels=1, problem_type="regression")))
    put(k, "minimal", json.dumps({"hidden_size": 96, "num_attention_heads": 6,
                                  "num_hidden_layers": 3, "intermediate_size": 200,
                                  "vocab_size": 528, "max_position_embeddings": 64}))
    put(k, "bad_heads", json.dumps(dict(base, num_attention_heads=7)))
    put(k, "pruned_dup", json.dumps(dict(base, pruned_heads={"0": [1, 1], "5": [0]})))
    put(k, "pruned_all", json.dumps(dict(base, pruned_heads={"1": [0, 1, 2, 3, 4, 5]})))
    put(k, "negative", json.dumps(dict(base, hidden_size=-1, vocab_size=10 ** 12)))
    # The other families' parsers (their tensors are not the tiny BERT's,
    # so these stop at the loader's first missing tensor).
    for fam in ("roberta", "xlmr", "distilbert", "distilbert-pruned", "electra"):
        put(k, "family_" + fam.replace("-", "_"), fixture("families/%s/config.json" % fam))
    d = json.loads(fixture("families/distilbert/config.json"))
    put(k, "distilbert_alias_conflict", json.dumps(dict(d, hidden_size=48)))
    r = json.loads(fixture("families/roberta/config.json"))
    put(k, "roberta_no_room_after_pad", json.dumps(dict(r, max_position_embeddings=2)))
    put(k, "unknown_family", json.dumps(dict(r, model_type="gpt2")))
    # quantization_config (the tiny fixture's F32 weights then fail the I8
    # check; a bad object fails before).
    q = {"quant_method": "libtpa_int8", "bits": 8, "activations": "dynamic"}
    put(k, "int8_dynamic", json.dumps(dict(base, quantization_config=q)))
    put(k, "int8_unknown_method", json.dumps(dict(base, quantization_config=dict(
        q, quant_method="gptq"))))
    put(k, "int8_bad_activations", json.dumps(dict(base, quantization_config=dict(
        q, activations=7))))


def gen_tokenizer_config():
    k = "tokenizer_config"
    put(k, "tiny", fixture("tiny/tokenizer_config.json"))
    put(k, "cased", '{"do_lower_case": false, "model_max_length": 512}\n')
    put(k, "null", '{"do_lower_case": null}')
    put(k, "wrong_type", '{"do_lower_case": "yes"}')
    put(k, "array", "[true]")
    put(k, "empty", "")


def gen_vocab():
    k = "vocab"
    v = fixture("tiny/vocab.txt")
    put(k, "tiny", v)
    put(k, "crlf_short", b"\r\n".join(v.split(b"\n")[:60]) + b"\r\n")
    put(k, "specials", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n##s\n,\nw\n##o\n##r\n")
    put(k, "no_final_newline", "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n##a")
    put(k, "dup", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nx\nx\n")
    put(k, "no_specials", "a\nb\n##c\n")
    put(k, "bad_utf8", b"[PAD]\n[UNK]\n[CLS]\n[SEP]\n\xc3\x28\n")
    put(k, "unicode", "[PAD]\n[UNK]\n[CLS]\n[SEP]\ncaf\u00e9\n\u4e2d\n##\u00e9\nna\n##ive\n")


def gen_adapter():
    k = "adapter"
    cfg = fixture("lora/peft-tiny-pruned/adapter_config.json")
    put(k, "peft_fixture", cfg)
    c = json.loads(cfg)
    put(k, "uniform_r2", json.dumps(dict(c, r=2, rank_pattern={}, alpha_pattern={})))
    put(k, "regex_patterns", json.dumps(dict(c, rank_pattern={"layer\\.[0-9]+\\.attention\\..*": 4},
                                             alpha_pattern={"(query|key)": 2.0})))
    put(k, "bad_pattern", json.dumps(dict(c, rank_pattern={"((": 4})))
    put(k, "dora", json.dumps(dict(c, use_dora=True)))
    put(k, "libtpa_pruned", json.dumps(dict(c, libtpa={"pruned_heads": {"0": [1, 4], "2": [0, 2, 3, 5]}})))
    # With weights after a NUL: one rank-1 pair on layer 1's query (tiny-pruned
    # keeps all 6 heads of layer 1: 96 -> 96).
    small = dict(c, r=1, rank_pattern={}, alpha_pattern={})
    pre = "base_model.model.bert.encoder.layer.1.attention.self.query."
    st = safetensors([(pre + "lora_A.weight", "F32", [1, 96], f32(*([0.01] * 96))),
                      (pre + "lora_B.weight", "F32", [96, 1], f32(*([0.02] * 96)))],
                     meta={"format": "pt"})
    put(k, "one_pair", json.dumps(small).encode() + b"\0" + st)
    st = safetensors([(pre + "lora_A.weight", "F16", [1, 96], b"\0\x3c" * 96)])
    put(k, "half_unpaired", json.dumps(small).encode() + b"\0" + st)


def gen_importance():
    k = "importance"
    for name in ("tiny_rte40.json", "pruned_rte40.json"):
        put(k, name, fixture("importance/" + name))
    put(k, "one_by_one", json.dumps({"layers": 1, "heads": 1, "examples": 1, "tokens": 3,
                                     "raw": [[0.5]], "normalized": [[1.0]], "blocks": [0.5]}))
    put(k, "null_mismatch", json.dumps({"layers": 1, "heads": 2, "examples": 0, "tokens": 0,
                                        "raw": [[None, 1]], "normalized": [[1, 1]],
                                        "blocks": [1]}))
    put(k, "negative", '{"layers": 1, "heads": 1, "examples": 1, "tokens": 1, "raw": [[-1]], '
                       '"normalized": [[1e999]], "blocks": [0]}')
    put(k, "tiny_sst2_40_ffn.json", fixture("importance/tiny_sst2_40_ffn.json"))
    put(k, "ffn_small", json.dumps({"layers": 2, "heads": 1, "examples": 1, "tokens": 3,
                                    "raw": [[0.5], [0.2]], "normalized": [[1.0], [1.0]],
                                    "blocks": [0.5, 0.2], "ffn_raw": [[0.1, 0.3, 0.2], [1]],
                                    "ffn_normalized": [[0.2, 0.6, 0.4], [1]]}))
    put(k, "ffn_unpaired", '{"layers": 1, "heads": 1, "examples": 1, "tokens": 1, "raw": [[1]], '
                           '"normalized": [[1]], "blocks": [1], "ffn_raw": [[1, 2]]}')


def gen_plan():
    k = "plan"
    put(k, "tiny", json.dumps({"layers": 3, "heads": 6,
                               "pruned_heads": {"0": [1, 4], "2": [0, 2, 3, 5]}}))
    put(k, "empty", '{"layers": 12, "heads": 12, "pruned_heads": {}}\n')
    put(k, "dup", '{"layers": 2, "heads": 2, "pruned_heads": {"1": [0, 0]}}')
    put(k, "dup_key", '{"layers": 2, "heads": 2, "pruned_heads": {"1": [0], "1": [1]}}')
    put(k, "out_of_range", '{"layers": 2, "heads": 2, "pruned_heads": {"01": [0], "2": [5]}}')
    put(k, "neurons", json.dumps({"layers": 2, "heads": 2, "pruned_heads": {"1": [0]},
                                  "ffn_widths": [4, 3], "pruned_neurons": {"0": [3, 1], "1": [2]}}))
    put(k, "neurons_bad", '{"layers": 2, "heads": 2, "pruned_heads": {}, "ffn_widths": [4, 0], '
                          '"pruned_neurons": {"0": [9, 9]}}')


TASKS = ["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"]


def tsv_rows():
    t = {}
    t["cola"] = "gj04\t1\t\tThe cat sat on the mat.\nclc95\t0\t*\tCat the mat on sat.\n"
    t["sst2"] = "sentence\tlabel\na gripping , funny film \t1\ndull and overlong \t0\n"
    t["mrpc"] = ("\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
                 "1\t11\t12\tThe board met today.\tThe board held a meeting today.\n"
                 "0\t13\t14\tPrices rose 3%.\tThe team lost again.\n")
    t["stsb"] = ("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
                 "0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA man plays a flute.\tA man is playing a flute.\t4.800\n"
                 "1\tmain-news\tMSRpar\t2012test\t0002\tnone\tnone\tIt rained.\tStocks fell.\t0.000\n")
    t["qqp"] = ("id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
                "0\t1\t2\tHow do I cook rice?\tWhat is the way to cook rice?\t1\n"
                "1\t3\t4\tWhy is the sky blue?\tWho won the cup?\t0\n")
    head = ("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\t"
            "sentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label\n")
    t["mnli"] = (head +
                 "0\t1\t1e\tfiction\t( a )\t( b )\t(ROOT a)\t(ROOT b)\tA dog ran.\tAn animal moved.\tentailment\tentailment\n"
                 "1\t2\t2c\tslate\t( c )\t( d )\t(ROOT c)\t(ROOT d)\tIt is hot.\tIt is cold.\tcontradiction\n")
    t["qnli"] = ("index\tquestion\tsentence\tlabel\n"
                 "0\tWhere is Paris?\tParis is in France.\tentailment\n"
                 "1\tWho wrote it?\tThe river is long.\tnot_entailment\n")
    t["rte"] = ("index\tsentence1\tsentence2\tlabel\n"
                "0\tThe vote passed on Monday.\tThe vote passed.\tentailment\r\n"
                "1\tShe sold the car.\tShe bought a house.\tnot_entailment\r\n")
    t["wnli"] = ("index\tsentence1\tsentence2\tlabel\n"
                 "0\tThe cup fell because it was full.\tThe cup was full.\t1\n")
    return t


def gen_tsv():
    k = "tsv"
    rows = tsv_rows()
    for i, task in enumerate(TASKS):
        text = rows[task].encode()
        put(k, "%s_plain" % task, bytes([i]) + text)
        put(k, "%s_gz_here" % task, bytes([i + 9]) + text)
        put(k, "%s_max2" % task, bytes([i + 18]) + text)
    # Input already gzip (two members), read through magic-byte detection.
    mnli = rows["mnli"].encode()
    half = mnli.index(b"\n") + 1
    put(k, "mnli_gz_members", bytes([5]) + gzip.compress(mnli[:half], mtime=0) +
        gzip.compress(mnli[half:], mtime=0))
    put(k, "sst2_gz_cut", bytes([1]) + gzip.compress(rows["sst2"].encode(), mtime=0)[:-6])
    put(k, "qnli_bad_label", bytes([6]) + b"index\tquestion\tsentence\tlabel\n0\tq\ts\tmaybe\n")
    put(k, "cola_short_row", bytes([0]) + b"gj04\t1\n")
    put(k, "stsb_bad_score", bytes([3]) + rows["stsb"].encode().replace(b"4.800", b"5.5e0"))
    put(k, "rte_nul_utf8", bytes([7]) + b"index\ts1\ts2\tlabel\n0\ta\0b\t\xff\tentailment\n")
    put(k, "sst2_header_only", bytes([1]) + b"sentence\tlabel\n\n\n")


def csv_sel(tsv=0, cols=0, gz=0, few=0, labels=0):
    """fuzz_csv's selector byte (see fuzz/fuzz_csv.c)."""
    return bytes([tsv | cols << 1 | gz << 3 | few << 4 | labels << 5])


def gen_csv():
    k = "csv"
    # Labels: 0 discovered, 2 regression, 4 {negative, positive}, 5 {b, a, c}, 6 {1, 0}.
    put(k, "plain", csv_sel() +
        b"text,label\nA fine film,pos\nDull,neg\nGreat fun,pos\nBoring,neg\n")
    put(k, "quoted", csv_sel() +
        b'sentence1,sentence2,label\n"He said ""hi"", then left","a, b",1\n'
        b'"line one\nline two",x,0\n"""",plain,1\n'
        b'"crlf\r\ninside","q",0\n')
    put(k, "bom_crlf_given", csv_sel(cols=3, labels=4) +
        "\ufefftext,label\r\nfoo,negative\r\nbar,positive\r\n\"b\"\"az\",1\r\n".encode())
    put(k, "regression_gz_here", csv_sel(gz=1, labels=2) +
        b"text,score,label\nA,1,0.5\nB,2,-1e3\nC,3,4.25\nD,4,+7\n")
    put(k, "by_number", csv_sel(cols=1, labels=6) +
        b"question,sentence,label\nWhere?,Here.,1\nWho?,Me.,0\nWhy?,So.,1\n")
    put(k, "tsv_plain", csv_sel(tsv=1) + b"sentence\tlabel\nfoo bar\t1\nbaz\t0\nqux\t1\n")
    put(k, "tsv_quotes_given", csv_sel(tsv=1, labels=5) +
        b'text\tlabel\n"quoted" text\ta\nx "y\tb\nyy\tc\nzz\t0\n')
    put(k, "unlabeled", csv_sel(cols=2) + b"text\nhello\nworld\n\n")
    put(k, "max_rows", csv_sel(few=1, labels=1) + b"text,label\na,x\nb,y\nc,x\nd,y\n")
    put(k, "numeric_labels", csv_sel() + b"text,label\na,10\nb,2\nc,-1\nd,02\ne,2\n")
    put(k, "unicode", csv_sel() +
        "text,label\ncaf\u00e9 \u4e2d\u6587,\u00e9\nemoji \U0001f600,\u4e2d\n".encode())
    put(k, "gz_input", csv_sel() + gzip.compress(b"text,label\nx,1\ny,0\n", mtime=0))
    put(k, "extra_columns", csv_sel() + b"id,text,label,note\n1,a,0,n\n2,b,1,\n3,c,1,\"m\"\n")
    put(k, "ragged", csv_sel() + b"text,label\na,0\nb,1,extra\n")
    put(k, "unterminated_quote", csv_sel() + b'text,label\n"abc,0\nd,1\n')
    put(k, "after_quote", csv_sel() + b'text,label\n"abc"x,0\n')
    put(k, "dup_header", csv_sel() + b"text,text,label\na,b,0\n")
    put(k, "empty_text", csv_sel() + b"text,label\na,0\n,1\n")
    put(k, "single_class", csv_sel() + b"text,label\na,pos\nb,pos\n")
    put(k, "bad_regression", csv_sel(labels=3) + b"text,label\na,1e999\nb,nan\n")
    put(k, "no_text_column", csv_sel() + b"id,body,label\n1,a,0\n")


def jsonl_sel(cols=0, gz=0, few=0, labels=0):
    """fuzz_jsonl's selector byte (see fuzz/fuzz_jsonl.c)."""
    return bytes([cols | gz << 3 | few << 4 | labels << 5])


def gen_jsonl():
    k = "jsonl"
    # Columns: 0 auto, 1 by number, 2 no labels, 3 text/label, 4 sentence1/2,
    # 5 question, 6 "2"/"1", 7 a/b/c. Labels as in gen_csv.
    put(k, "plain", jsonl_sel() +
        b'{"text": "good", "label": "pos"}\n{"text": "bad", "label": "neg"}\n'
        b'{"text": "fine", "label": "pos"}\n')
    put(k, "escapes", jsonl_sel(cols=3) +
        b'{"text": "caf\\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ \\/ \\n\\t\\b\\f\\r", "label": 1}\n'
        b'{"text": "\xe4\xb8\xad\xe6\x96\x87", "label": 0}\n{"text": "2", "label": 0}\n'
        b'{"text": "3", "label": 1}\n')
    put(k, "nested_bool", jsonl_sel() +
        b'{"text": "x", "meta": {"a": [1, {"b": null}], "s": "]}"}, "label": true}\n'
        b'{"text": "y", "meta": [], "label": false}\n{"text": "z", "label": false}\n'
        b'{"text": 5, "label": true}\n')
    put(k, "regression", jsonl_sel(labels=2) +
        b'{"text": "a", "label": -1.5e2}\n{"text": "b", "label": 0}\n{"text": "c", "label": 3.25}\n'
        b'{"text": "d", "label": "7"}\n')
    put(k, "pairs", jsonl_sel(cols=4, labels=4) +
        b'{"sentence1": "A dog.", "sentence2": "An animal.", "label": "positive"}\n'
        b'{"sentence1": "It rains.", "sentence2": "Dry.", "label": "negative"}\n'
        b'{"sentence1": "s", "sentence2": "t", "label": 1}\n')
    put(k, "question", jsonl_sel(cols=5, labels=6) +
        b'{"question": "Where?", "sentence": "Here.", "label": 1}\n'
        b'{"question": "Who?", "sentence": "Me.", "label": "0"}\n')
    put(k, "abc", jsonl_sel(cols=7, labels=5) +
        b'{"a": "x", "b": "y", "c": "a"}\n{"c": "b", "b": "w", "a": "v"}\n'
        b'{"a": "1", "b": "2", "c": 2}\n')
    put(k, "by_number", jsonl_sel(cols=1) +
        b'{"t": "x", "u": "y", "l": 0}\n{"t": "z", "u": "w", "l": 1}\n')
    put(k, "blank_crlf_bom", jsonl_sel(gz=1) +
        '\ufeff{"text": "a", "label": "n"}\r\n\r\n  \t\n'
        '{ "text" :"b" , "label":"p" }\r\n'.encode())
    put(k, "dup_key", jsonl_sel() +
        b'{"text": "a", "label": "x"}\n{"text": null, "text": "b", "label": "y", "label": "z"}\n')
    put(k, "unlabeled_max", jsonl_sel(cols=2, few=1) +
        b'{"text": "a"}\n{"text": "b"}\n{"text": "c"}\n')
    put(k, "numbers_text", jsonl_sel(cols=6) +
        b'{"label": "x", "num": 12}\n{"label": "y", "num": -0.5e-3}\n{"label": "x", "num": true}\n')
    put(k, "gz_input", jsonl_sel() +
        gzip.compress(b'{"text": "a", "label": 1}\n{"text": "b", "label": 0}\n', mtime=0))
    put(k, "not_object", jsonl_sel() + b'{"text": "a", "label": 1}\n[1, 2]\n')
    put(k, "null_text", jsonl_sel() + b'{"text": "a", "label": 1}\n{"text": null, "label": 0}\n')
    put(k, "array_label", jsonl_sel() + b'{"text": "a", "label": 1}\n{"text": "b", "label": [0]}\n')
    put(k, "missing_key", jsonl_sel() + b'{"text": "a", "label": 1}\n{"label": 0}\n')
    put(k, "trailing", jsonl_sel() + b'{"text": "a", "label": 1} x\n')
    put(k, "bad_escape", jsonl_sel() + b'{"text": "\\ud800", "label": 1}\n{"text": "\\x"}\n')
    put(k, "deep", jsonl_sel() + b'{"text": "a", "n": ' + b"[" * 40 + b"]" * 40 + b', "label": 1}\n'
        b'{"text": "b", "label": 0}\n')


# ---- tokenizer.json -------------------------------------------------------


def charsmap(entries):
    """A sentencepiece precompiled charsmap (base64) for (key, replacement)
    pairs, as tests/fixtures/tokenizer/gen_tj_norm.js's buildCharsmap: u32
    trie size, the Darts-clone double array (label bits 0-7, leaf bit 8, XOR
    offset to the children from bit 10; a leaf's value unit has bit 31 and
    the replacement's byte offset), then the NUL-terminated replacements."""
    norm, values = b"", {}
    for key, repl in entries:
        r = repl.encode() + b"\0"
        at = norm.find(r)
        if at < 0 or (at > 0 and norm[at - 1] != 0):
            at = len(norm)
            norm += r
        values[key] = at
    root = {"kids": {}, "value": None}
    for key, _ in entries:
        node = root
        for b in key.encode():
            node = node["kids"].setdefault(b, {"kids": {}, "value": None})
        node["value"] = values[key]
    unit, used, max_base = {0: 0}, {0}, [0]

    def place(node, pos):
        labels = sorted(node["kids"])
        if node["value"] is not None:
            labels.insert(0, 0)
        base = 1
        while any((base ^ l) in used for l in labels):
            base += 1
        max_base[0] = max(max_base[0], base | 255)
        unit[pos] = unit.get(pos, 0) | ((pos ^ base) << 10) | (256 if node["value"] is not None else 0)
        used.update(base ^ l for l in labels)
        if node["value"] is not None:
            unit[base] = node["value"] | 0x80000000
        for l, kid in node["kids"].items():
            unit[base ^ l] = l
            place(kid, base ^ l)

    place(root, 0)
    n = max(max(unit) + 1, max_base[0] + 1)
    trie = b"".join(struct.pack("<I", unit.get(i, 0)) for i in range(n))
    return base64.b64encode(struct.pack("<I", 4 * n) + trie + norm).decode()


def added(tokens, normalized=False):
    """added_tokens entries for (id, content) pairs, special and not
    normalized (the last one lstrip, like <mask>)."""
    out = []
    for k, (i, content) in enumerate(tokens):
        out.append({"id": i, "content": content, "single_word": False,
                    "lstrip": k == len(tokens) - 1 and k > 0, "rstrip": False,
                    "normalized": normalized, "special": True})
    return out


def template(cls, sep, pair_type=1, ids=None):
    ids = ids or {}
    sp = lambda t, ty=0: {"SpecialToken": {"id": t, "type_id": ty}}
    sq = lambda t, ty=0: {"Sequence": {"id": t, "type_id": ty}}
    return {"type": "TemplateProcessing",
            "single": [sp(cls), sq("A"), sp(sep)],
            "pair": [sp(cls), sq("A"), sp(sep), sq("B", pair_type), sp(sep, pair_type)],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in (cls, sep)}}


def tj(model, normalizer=None, pre=None, post=None, added_tokens=None):
    return json.dumps({"version": "1.0", "truncation": None, "padding": None,
                       "added_tokens": added_tokens or [], "normalizer": normalizer,
                       "pre_tokenizer": pre, "post_processor": post, "decoder": None,
                       "model": model}, ensure_ascii=False)


BERT_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "hello", "world", ",", "!",
              ".", "'", "s", "##s", "##ing", "un", "##aff", "##able", "caf", "##e", "h", "##e",
              "##l", "##o", "w", "##r", "##d", "\u4e2d", "\u6587"]


def bert_json(lower=True, post="template", pre=None):
    vocab = {t: i for i, t in enumerate(BERT_VOCAB)}
    ids = {"[CLS]": 2, "[SEP]": 3}
    if post == "template":
        pp = template("[CLS]", "[SEP]", ids=ids)
    else:
        pp = {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}
    return tj({"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
               "max_input_chars_per_word": 100, "vocab": vocab},
              {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
               "strip_accents": None, "lowercase": lower},
              pre or {"type": "BertPreTokenizer"}, pp,
              added([(0, "[PAD]"), (1, "[UNK]"), (2, "[CLS]"), (3, "[SEP]"), (4, "[MASK]")]))


def roberta_small(merges=24, pairs=False):
    """roberta-like.json with its first merges only and the tokens they use,
    renumbered from 0 (specials first, <mask> last)."""
    j = json.loads(fixture("tokenizer/tj/roberta-like.json"))
    m = j["model"]
    keep = m["merges"][:merges]
    toks = ["<s>", "<pad>", "</s>", "<unk>"]
    for ch in "Hel,o wrd!'s\u0120Tthe":
        if ch not in toks and ch in m["vocab"]:
            toks.append(ch)
    for mg in keep:
        a, b = mg.split(" ") if isinstance(mg, str) else mg
        for t in (a, b, a + b):
            if t not in toks:
                toks.append(t)
    vocab = {t: i for i, t in enumerate(toks)}
    model = dict(m, vocab=vocab, merges=[mg.split(" ") if pairs else mg for mg in keep])
    mask = len(toks)
    specials = [(0, "<s>"), (1, "<pad>"), (2, "</s>"), (3, "<unk>"), (mask, "<mask>")]
    return dict(j, model=model, added_tokens=added(specials))


def xlmr_small(pieces=40):
    """xlmr-like.json's Unigram with its first pieces only."""
    j = json.loads(fixture("tokenizer/tj/xlmr-like.json"))
    m = j["model"]
    vocab = m["vocab"][:pieces]
    specials = [(0, "<s>"), (1, "<pad>"), (2, "</s>"), (3, "<unk>"), (len(vocab), "<mask>")]
    return dict(j, model=dict(m, vocab=vocab), added_tokens=added(specials))


GPT2_SPLIT = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
SMALL_CHARSMAP = [("x", "y"), ("\u00e9", "e"), ("e\u0301", "\u00c9"), ("\ufb01", "fi"),
                  ("\u200b", ""), ("k", "K"), ("k\u0301", "\u1e30"), ("\U0001F642", ":)"),
                  ("\u00e4", "ae"), ("\u4e2d", "\u4e2d\u4e2d"), ("\u3000", " ")]


def gen_tokenizer_json():
    k = "tokenizer_json"
    dump = lambda j: json.dumps(j, ensure_ascii=False)
    put(k, "roberta_bpe", dump(roberta_small()))
    r = roberta_small(merges=12, pairs=True)
    r["model"].update(unk_token="<unk>", fuse_unk=True, ignore_merges=True)
    r["post_processor"] = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "trim_offsets": True},
        template("<s>", "</s>", pair_type=0, ids={"<s>": 0, "</s>": 2})]}
    put(k, "bpe_pairs_options_seqpost", dump(r))
    r = roberta_small(merges=8)
    r["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": GPT2_SPLIT}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": False}]}
    r["normalizer"] = {"type": "NFC"}
    put(k, "bpe_split_regex_bytelevel", dump(r))
    put(k, "xlmr_unigram", dump(xlmr_small()))
    x = xlmr_small(24)
    x["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Precompiled", "precompiled_charsmap": charsmap(SMALL_CHARSMAP)},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]}
    x["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first",
                          "split": False}
    x["model"]["byte_fallback"] = True
    x["model"]["vocab"] += [["<0x%02X>" % b, -20.0] for b in (0x41, 0xC3, 0xA9, 0xF0)]
    x["added_tokens"][-1]["id"] = len(x["model"]["vocab"])
    put(k, "unigram_precompiled_metaspace", dump(x))
    put(k, "bert_uncased", bert_json())
    put(k, "bert_cased_bertprocessing", bert_json(lower=False, post="bert"))
    put(k, "bert_whitespace_digits", bert_json(pre={"type": "Sequence", "pretokenizers": [
        {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Contiguous"},
        {"type": "Digits", "individual_digits": True}]}))
    words = ["[UNK]", "[CLS]", "[SEP]", "hello", "world", ",", "!", "the", "caf\u00e9", "\u4e2d"]
    put(k, "wordlevel_split_string", tj(
        {"type": "WordLevel", "vocab": {w: i for i, w in enumerate(words)}, "unk_token": "[UNK]"},
        {"type": "Sequence", "normalizers": [
            {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Replace", "pattern": {"String": "``"}, "content": "\""},
            {"type": "NFKD"}, {"type": "StripAccents"}, {"type": "Lowercase"}]},
        {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"String": " "}, "behavior": "Removed", "invert": False},
            {"type": "Split", "pattern": {"Regex": "[,!]"}, "behavior": "MergedWithNext",
             "invert": True},
            {"type": "Whitespace"}]},
        template("[CLS]", "[SEP]", ids={"[CLS]": 1, "[SEP]": 2}),
        added([(1, "[CLS]"), (2, "[SEP]")], normalized=True)))
    put(k, "unigram_nmt_prepend_roberta", tj(
        {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0], ["<s>", 0], ["</s>", 0],
                                                   ["\u2581", -2], ["\u2581hello", -5], ["h", -3],
                                                   ["e", -3], ["l", -3], ["o", -3], ["w", -4]]},
        {"type": "Sequence", "normalizers": [{"type": "Nmt"}, {"type": "NFD"},
                                             {"type": "Prepend", "prepend": "\u2581"},
                                             {"type": "Replace", "pattern": {"String": " "},
                                              "content": "\u2581"}]},
        {"type": "Split", "pattern": {"Regex": "\u2581?[^\u2581]+"}, "behavior": "MergedWithPrevious",
         "invert": False},
        {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 1],
         "trim_offsets": True, "add_prefix_space": True},
        added([(0, "<unk>"), (1, "<s>"), (2, "</s>")])))
    # Near-valid files.
    put(k, "unknown_pretok", bert_json(pre={"type": "UnicodeScripts"}))
    put(k, "bad_regex", bert_json(pre={"type": "Split", "pattern": {"Regex": "(a|"},
                                       "behavior": "Isolated", "invert": False}))
    put(k, "huge_id", tj({"type": "WordLevel", "vocab": {"a": 0, "[UNK]": 2147483647},
                          "unk_token": "[UNK]"}, added_tokens=added([(2147483646, "<x>")])))
    put(k, "no_model", '{"version": "1.0", "normalizer": null}')
    put(k, "empty", "")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    gen_safetensors()
    gen_config()
    gen_tokenizer_config()
    gen_vocab()
    gen_adapter()
    gen_importance()
    gen_plan()
    gen_tsv()
    gen_csv()
    gen_jsonl()
    gen_weights()
    gen_int8()
    gen_tokenizer_json()


if __name__ == "__main__":
    main()
