#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Export the reference BERT models (bert_ref.py) to ONNX: an f32 graph
and a dynamic-int8 graph for each variant, into a directory given on the
command line (default: a new temporary directory; never the repository).

  export_onnx.py [OUTDIR] [--variants base,pruned] [--quick] [--layers L]
                 [--opset 17] [--no-verify] [--verify-batch 4] [--seq 128]

Files: OUTDIR/<variant>-f32.onnx and OUTDIR/<variant>-int8.onnx, inputs
input_ids, attention_mask, token_type_ids (int64 [batch, seq], both axes
dynamic), output logits (float [batch, labels]).

f32: torch.onnx.export of the module (opset 17 by default, constant
folding on), then every Constant node is turned into a graph initializer.
ONNX Runtime's quantizer only quantizes a MatMul whose B is an initializer
(and a Gather whose table is one), so a weight left in a Constant node
would silently stay f32 in the int8 graph.

int8: the rewrite that onnxruntime.quantization.quantize_dynamic does with
its defaults (onnxruntime/python/tools/quantization/quantize.py,
onnx_quantizer.py, operators/matmul.py, operators/gather.py,
quant_utils.py), written here with the onnx package alone, since the
onnxruntime Python package is not installable here. With those defaults
(weight_type QInt8, per_channel False, reduce_range False, activations
uint8, MatMulConstBOnly True, op types = its IntegerOps registry):

  * MatMul whose B is a float initializer: the activation A goes through
    DynamicQuantizeLinear (uint8, asymmetric, scale and zero point
    computed at run time; one per activation tensor, shared by the Q, K
    and V MatMuls that read the same input); B becomes an int8 initializer
    quantized per tensor and symmetrically: scale = max|B| / 127
    (range widened to include 0), zero point 0, q = round-half-even(B /
    scale) clipped to the int8 range. Then MatMulInteger(A_q, B_q, A_zp,
    B_zp) -> Cast(float) -> Mul by (A_scale * B_scale); the bias Add that
    followed the MatMul stays as it was. MatMuls of two activations
    (Q K^T, P V) stay f32.
  * Gather whose data is a float initializer (the word, position and token
    type embedding tables): the table is quantized per tensor as an
    activation (uint8, asymmetric: scale = (max - min) / 255 over a range
    that includes 0, zero point round(-min / scale)), the Gather reads the
    uint8 table and a DequantizeLinear gives the float rows back.
  * Everything else (Gemm of the pooler and classifier, LayerNorm, Softmax,
    GELU) stays f32: Gemm is not in the dynamic (IntegerOps) registry.

Verification (unless --no-verify): ort_bench.js (onnxruntime-node) runs
both graphs on seeded inputs; the f32 logits must match torch's within
1e-4 (the script fails otherwise) and the int8 graph's max |logit
difference| against f32 is reported. Lines printed:

  onnx <variant> f32 OUT.onnx ... max_diff_vs_torch=...
  onnx <variant> int8 OUT.onnx ... max_diff_vs_f32=... max_diff_vs_torch=...
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
F32_TOL = 1e-4


# ------------------------------------------------------------------ export


def export_f32(model, cfg, path, opset):
    import torch
    import bert_ref

    x = bert_ref.make_inputs(cfg, 2, 16)
    axes = {k: {0: "batch", 1: "seq"} for k in INPUTS}
    axes["logits"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(model, x, path, input_names=INPUTS, output_names=["logits"],
                          dynamic_axes=axes, opset_version=opset, do_constant_folding=True)
    m = onnx.load(path)
    moved = constants_to_initializers(m.graph)
    onnx.save(m, path)
    return moved


def constants_to_initializers(graph):
    """Replace every Constant node holding a tensor by an initializer of
    the same name; returns how many of them were float tensors with more
    than one element (weights)."""
    keep, weights = [], 0
    for n in graph.node:
        if n.op_type == "Constant" and len(n.attribute) == 1 and n.attribute[0].name == "value":
            t = onnx.TensorProto()
            t.CopyFrom(n.attribute[0].t)
            t.name = n.output[0]
            graph.initializer.append(t)
            if t.data_type == TensorProto.FLOAT and int(np.prod(t.dims)) > 1:
                weights += 1
        else:
            keep.append(n)
    del graph.node[:]
    graph.node.extend(keep)
    return weights


# ------------------------------------------------------- dynamic int8 rewrite


def quant_symmetric_int8(w):
    """Per-tensor symmetric int8 as ORT quantizes a QInt8 weight:
    range [min(w, 0), max(w, 0)] made symmetric, qmin/qmax -127/127,
    scale = 2 * absmax / 254 (float64 then float32), zero point 0."""
    w = w.astype(np.float32)
    rmin = np.minimum(w.min(), np.float32(0))
    rmax = np.maximum(w.max(), np.float32(0))
    absmax = np.maximum(np.abs(rmin), np.abs(rmax))
    scale = np.array(np.float64(absmax - (-absmax)) / (127.0 - (-127.0)))
    if scale < np.finfo(np.float32).tiny:
        scale, zp = np.float32(1.0), 0
    else:
        zp = int(np.round((-127 + 127) / 2.0))
        scale = scale.astype(np.float32)
    q = np.clip((w / scale).round() + zp, -128, 127).astype(np.int8)
    return q, np.float32(scale), np.int8(zp)


def quant_asymmetric_uint8(w):
    """Per-tensor asymmetric uint8 as ORT quantizes an initializer used as
    an activation (Gather's table): qmin/qmax 0/255, range including 0,
    scale = (rmax - rmin) / 255, zero point round(0 - rmin / scale)."""
    w = w.astype(np.float32)
    rmin = np.minimum(w.min(), np.float32(0))
    rmax = np.maximum(w.max(), np.float32(0))
    scale = np.array(np.float64(rmax - rmin) / 255.0)
    if scale < np.finfo(np.float32).tiny:
        scale, zp = np.float32(1.0), 0
    else:
        zp = int(np.round(0 - rmin / scale))
        scale = scale.astype(np.float32)
    q = np.clip((w / scale).round() + zp, 0, 255).astype(np.uint8)
    return q, np.float32(scale), np.uint8(zp)


def quantize_dynamic_like_ort(model):
    """A copy of `model` rewritten as quantize_dynamic (default options)
    would; see the module docstring. Returns (model, counts)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    inits = {t.name: t for t in g.initializer}

    def is_float_init(name):
        t = inits.get(name)
        return t is not None and t.data_type == TensorProto.FLOAT

    new_inits = []
    qweights = {}  # weight name -> (q name, scale name, zp name)
    dql = {}  # activation name -> (q, scale, zp) outputs of its DynamicQuantizeLinear
    nodes = []
    counts = {"MatMulInteger": 0, "Gather": 0, "DynamicQuantizeLinear": 0}

    def add_weight(name, fn):
        if name not in qweights:
            q, s, z = fn(numpy_helper.to_array(inits[name]))
            qn, sn, zn = name + "_quantized", name + "_scale", name + "_zero_point"
            new_inits.append(numpy_helper.from_array(q, qn))
            new_inits.append(helper.make_tensor(sn, TensorProto.FLOAT, [], [float(s)]))
            zt = TensorProto.INT8 if q.dtype == np.int8 else TensorProto.UINT8
            new_inits.append(helper.make_tensor(zn, zt, [], [int(z)]))
            qweights[name] = (qn, sn, zn)
        return qweights[name]

    for n in g.node:
        if n.op_type == "MatMul" and is_float_init(n.input[1]) and n.input[0] not in inits:
            a, w, out = n.input[0], n.input[1], n.output[0]
            if a not in dql:
                dql[a] = (a + "_quantized", a + "_scale", a + "_zero_point")
                nodes.append(helper.make_node("DynamicQuantizeLinear", [a], list(dql[a]),
                                              a + "_QuantizeLinear"))
                counts["DynamicQuantizeLinear"] += 1
            aq, a_s, az = dql[a]
            wq, w_s, wz = add_weight(w, quant_symmetric_int8)
            base = (n.name or out) + "_quant"
            mi = out + "_output_quantized"
            nodes.append(helper.make_node("MatMulInteger", [aq, wq, az, wz], [mi], base))
            nodes.append(helper.make_node("Cast", [mi], [mi + "_cast_output"], mi + "_cast",
                                          to=TensorProto.FLOAT))
            sm = base + "_scales_mul"
            nodes.append(helper.make_node("Mul", [a_s, w_s], [sm + ":0"], sm))
            nodes.append(helper.make_node("Mul", [mi + "_cast_output", sm + ":0"], [out],
                                          base + "_output_scale_mul"))
            counts["MatMulInteger"] += 1
        elif n.op_type == "Gather" and is_float_init(n.input[0]):
            tq, t_s, tz = add_weight(n.input[0], quant_asymmetric_uint8)
            out = n.output[0]
            attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
            nodes.append(helper.make_node("Gather", [tq, n.input[1]], [out + "_quantized"],
                                          n.name, **attrs))
            nodes.append(helper.make_node("DequantizeLinear", [out + "_quantized", t_s, tz], [out],
                                          out + "_DequantizeLinear"))
            counts["Gather"] += 1
        else:
            nodes.append(n)

    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(new_inits)
    used = {i for nd in g.node for i in nd.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    return m, counts


# ------------------------------------------------------------ verification


def run_ort(model_path, ids, node="node"):
    """Logits from onnxruntime-node (ort_bench.js --dump-logits)."""
    b, s = ids.shape
    with tempfile.TemporaryDirectory(prefix="libtpa-ref-verify.") as d:
        ip, op = os.path.join(d, "ids.bin"), os.path.join(d, "logits.bin")
        ids.astype("<i8").tofile(ip)
        cmd = [node, os.path.join(HERE, "ort_bench.js"), model_path, "--batch", str(b), "--seq",
               str(s), "--threads", "2", "--reps", "0", "--warmup", "0", "--ids", ip,
               "--dump-logits", op]
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode:
            sys.stderr.write(r.stderr)
            sys.exit("export_onnx.py: %s failed on %s" % (" ".join(cmd[:2]), model_path))
        return np.fromfile(op, dtype="<f4").reshape(b, -1)


def inside_repo(path):
    p = os.path.realpath(path)
    return p == REPO or p.startswith(REPO + os.sep)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?", default=None,
                    help="output directory (default: a new temporary directory)")
    ap.add_argument("--variants", default="base,pruned", help="comma list of base, pruned")
    ap.add_argument("--quick", action="store_true", help="tiny model (bert_ref.py --quick)")
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--verify-batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128, help="sequence length of the check")
    args = ap.parse_args()
    if args.opset < 13:
        ap.error("opset must be >= 13")
    out = args.outdir or tempfile.mkdtemp(prefix="libtpa-ref-onnx.")
    if inside_repo(out):
        sys.exit("export_onnx.py: refusing to write models inside the repository (%s)" % REPO)
    os.makedirs(out, exist_ok=True)

    import torch
    import bert_ref

    torch.set_num_threads(2)
    for variant in [v for v in args.variants.split(",") if v]:
        if variant not in ("base", "pruned"):
            sys.exit("unknown variant %r" % variant)
        model, cfg, shapes = bert_ref.build(args.quick, variant == "pruned", args.layers)
        f32 = os.path.join(out, variant + "-f32.onnx")
        i8 = os.path.join(out, variant + "-int8.onnx")
        moved = export_f32(model, cfg, f32, args.opset)
        qm, counts = quantize_dynamic_like_ort(onnx.load(f32))
        onnx.save(qm, i8)
        onnx.checker.check_model(i8)
        mb = lambda p: os.path.getsize(p) / 2 ** 20  # noqa: E731
        info = "%s (weights moved from Constant nodes: %d)" % (bert_ref.describe(cfg, shapes, model), moved)
        if args.no_verify:
            print("onnx %s f32 %s %.1fMiB %s" % (variant, f32, mb(f32), info), flush=True)
            print("onnx %s int8 %s %.1fMiB MatMulInteger=%d quantized_Gather=%d DynamicQuantizeLinear=%d"
                  % (variant, i8, mb(i8), counts["MatMulInteger"], counts["Gather"],
                     counts["DynamicQuantizeLinear"]), flush=True)
            continue
        ids, mask, types = bert_ref.make_inputs(cfg, args.verify_batch, args.seq)
        with torch.inference_mode():
            ref = model(ids, mask, types).numpy()
        lf = run_ort(f32, ids.numpy())
        li = run_ort(i8, ids.numpy())
        d_f32 = float(np.abs(lf - ref).max())
        d_i8 = float(np.abs(li - lf).max())
        d_i8t = float(np.abs(li - ref).max())
        print("onnx %s f32 %s %.1fMiB max_diff_vs_torch=%.3g max_abs_logit=%.3g %s"
              % (variant, f32, mb(f32), d_f32, float(np.abs(ref).max()), info), flush=True)
        print("onnx %s int8 %s %.1fMiB max_diff_vs_f32=%.3g max_diff_vs_torch=%.3g "
              "MatMulInteger=%d quantized_Gather=%d DynamicQuantizeLinear=%d"
              % (variant, i8, mb(i8), d_i8, d_i8t, counts["MatMulInteger"], counts["Gather"],
                 counts["DynamicQuantizeLinear"]), flush=True)
        if not d_f32 <= F32_TOL:
            sys.exit("export_onnx.py: %s f32 ONNX logits differ from torch by %g (> %g)"
                     % (variant, d_f32, F32_TOL))
    print("onnx_dir %s" % out)


if __name__ == "__main__":
    main()
