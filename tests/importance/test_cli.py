# SPDX-License-Identifier: Apache-2.0
"""`tpa importance` end to end: the JSON on stdout and in --out against the
PyTorch reference tables (tests/fixtures/importance/), the picture as SVG
(parsed as XML) and as PNG (decoded with the standard library: zlib,
struct), and the exit codes.

Usage: test_cli.py PATH/TO/tpa   (TPA_FIXTURES and TPA_SHARED_DATA set)
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

TPA = sys.argv[1]
FIX = os.environ["TPA_FIXTURES"]
DATA = os.environ["TPA_SHARED_DATA"]
SST2 = os.path.join(DATA, "glue", "SST-2", "dev.tsv")
RTE = os.path.join(DATA, "glue", "RTE", "dev.tsv")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def tpa(*args):
    return subprocess.run([TPA, "importance", *args], capture_output=True, text=True, timeout=300)


def reference(name):
    with open(os.path.join(FIX, "importance", name + ".json")) as f:
        return json.load(f)


def same_table(got, want, what, rel=1e-5):
    for key in ("layers", "heads", "examples", "tokens"):
        check(got.get(key) == want[key], f"{what}: {key} {got.get(key)} != {want[key]}")
    keys = ["layers", "heads", "examples", "tokens", "raw", "normalized", "blocks"]
    if "ffn_raw" in want:
        keys += ["ffn_raw", "ffn_normalized"]
    check(list(got) == keys, f"{what}: keys {list(got)}")
    for key in ("ffn_raw", "ffn_normalized"):
        for l, (grow, wrow) in enumerate(zip(got.get(key, []), want.get(key, []))):
            check(len(grow) == len(wrow), f"{what}: {key}[{l}] has {len(grow)} neurons")
            # Small neurons against their layer's scale (float32 rounding).
            scale = sum(x * x for x in wrow) ** 0.5
            for j, (g, w) in enumerate(zip(grow, wrow)):
                check(abs(g - w) <= rel * abs(w) + rel * 1e-2 * scale,
                      f"{what}: {key}[{l}][{j}] {g} vs {w}")
    for key in ("raw", "normalized"):
        for l, (grow, wrow) in enumerate(zip(got[key], want[key])):
            for h, (g, w) in enumerate(zip(grow, wrow)):
                if w is None:
                    check(g is None, f"{what}: {key}[{l}][{h}] should be null, is {g}")
                else:
                    check(g is not None and abs(g - w) <= rel * abs(w),
                          f"{what}: {key}[{l}][{h}] {g} vs {w}")
    for l, (g, w) in enumerate(zip(got["blocks"], want["blocks"])):
        check(abs(g - w) <= rel * abs(w), f"{what}: blocks[{l}] {g} vs {w}")


def decode_png(path):
    """(width, height, rows of RGB bytes) after checking every CRC."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature")
    pos, idat, chunks = 8, b"", []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        check(zlib.crc32(kind + body) == crc, f"CRC of {kind}")
        chunks.append(kind)
        if kind == b"IHDR":
            w, h, depth, ctype, comp, filt, lace = struct.unpack(">IIBBBBB", body)
            check((depth, ctype, comp, filt, lace) == (8, 2, 0, 0, 0), "IHDR fields")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    check(chunks[0] == b"IHDR" and chunks[-1] == b"IEND", f"chunk order {chunks}")
    raw = zlib.decompress(idat)
    stride = 3 * w + 1
    check(len(raw) == stride * h, "inflated size")
    rows = [raw[y * stride + 1:(y + 1) * stride] for y in range(h)]
    check(all(raw[y * stride] == 0 for y in range(h)), "row filters")
    return w, h, rows


def main():
    with tempfile.TemporaryDirectory() as tmp:
        # JSON on stdout, tiny model, SST-2 (padded batches of 7).
        r = tpa("--model", os.path.join(FIX, "tiny"), "--task", "sst2", "--data", SST2,
                "--samples", "40", "--batch-size", "7", "-q")
        check(r.returncode == 0, f"stdout run: rc {r.returncode} {r.stderr}")
        check(r.stderr == "", f"quiet run printed {r.stderr!r}")
        stdout_text = r.stdout
        same_table(json.loads(r.stdout), reference("tiny_sst2_40"), "stdout")

        # --out, --svg and --heatmap on the pruned model; progress on stderr.
        out, png = os.path.join(tmp, "imp.json"), os.path.join(tmp, "imp.png")
        svg = os.path.join(tmp, "imp.svg")
        r = tpa("--model", os.path.join(FIX, "tiny-pruned"), "--task", "rte", "--data", RTE,
                "--samples", "40", "--out", out, "--heatmap", png, "--svg", svg)
        check(r.returncode == 0, f"--out run: rc {r.returncode} {r.stderr}")
        check(r.stdout == "", "--out run printed on stdout")
        check("importance" in r.stderr, "progress on stderr")
        with open(out) as f:
            table = json.load(f)
        same_table(table, reference("pruned_rte40"), "--out")
        check(sorted(os.listdir(tmp)) == ["imp.json", "imp.png", "imp.svg"],
              f"files {os.listdir(tmp)}")
        root = ET.parse(svg).getroot()
        ns = "{http://www.w3.org/2000/svg}"
        check(root.find(ns + "title").text == "Head importance: rte, 40 examples",
              "SVG title names the task and the sample")
        cells = {(int(e.get("data-layer")), int(e.get("data-head"))): e
                 for e in root.iter(ns + "rect") if e.get("class", "").startswith("cell")}
        check(sorted(cells) == [(l, h) for l in range(3) for h in range(6)], "one cell a head")
        scores = {(int(e.get("data-layer")), int(e.get("data-head"))): e.text
                  for e in root.iter(ns + "text") if e.get("class") == "score"}
        want = {(l, h): "%.2f" % v for l, row in enumerate(table["normalized"])
                for h, v in enumerate(row) if v is not None}
        check(scores == want, f"printed scores {scores} != {want}")
        w, h, rows = decode_png(png)
        vb = [int(v) for v in root.get("viewBox").split()]
        check((w, h) == (2 * vb[2], 2 * vb[3]), f"PNG {w}x{h} is the SVG at 2 px a unit")
        check(w >= 480, f"PNG only {w} px wide")
        # Layer 2, head 0 is pruned: hatched grey, where the SVG has its cell.
        e = cells[(2, 0)]
        check("absent" in e.get("class"), "layer 2 head 0 marked absent")
        x0, y0, cw, ch = (2 * int(e.get(k)) for k in ("x", "y", "width", "height"))
        cell = {bytes(rows[y0 + dy][3 * (x0 + dx):3 * (x0 + dx) + 3]) for dy in range(ch)
                for dx in range(cw)}
        check(cell == {b"\x80\x80\x80", b"\xd0\xd0\xd0"}, f"pruned cell colours {cell}")

        # Your own data: the title names the file, escaped in the SVG.
        odd = os.path.join(tmp, "a&b<c>")
        os.mkdir(odd)
        with open(RTE) as f, open(os.path.join(odd, "rte.tsv"), "w") as g:
            g.writelines(f.readlines()[:41])
        svg2 = os.path.join(tmp, "own.svg")
        r = tpa("--model", os.path.join(FIX, "tiny"), "--data", os.path.join(odd, "rte.tsv"),
                "--samples", "40", "--svg", svg2, "-q", "-o", os.path.join(tmp, "own.json"))
        check(r.returncode == 0, f"own data run: rc {r.returncode} {r.stderr}")
        name = os.path.join(odd, "rte.tsv")
        name = name if len(name) <= 48 else "..." + name[-45:]  # the tail of a long one
        title = ET.parse(svg2).getroot().find(ns + "title").text
        check(title == "Head importance: %s, 40 examples" % name, f"own data title {title!r}")

        # --ffn: neuron scores beside the heads', on the pruned model.
        r = tpa("--model", os.path.join(FIX, "tiny-pruned"), "--task", "rte", "--data", RTE,
                "--samples", "40", "--ffn", "-q")
        check(r.returncode == 0, f"--ffn run: rc {r.returncode} {r.stderr}")
        same_table(json.loads(r.stdout), reference("pruned_rte40_ffn"), "--ffn")

        # Same table through --out as through stdout (tiny, SST-2).
        out2 = os.path.join(tmp, "again.json")
        r = tpa("--model", os.path.join(FIX, "tiny"), "--task", "sst2", "--data", SST2,
                "--samples", "40", "--batch-size", "7", "-q", "-o", out2)
        with open(out2) as f:
            check(f.read() == stdout_text, "--out and stdout differ")

        # Exit codes. Missing parents of --out are created (as every saver
        # does); a parent that is a file cannot be.
        base = ["--model", os.path.join(FIX, "tiny"), "--task", "sst2", "--data", SST2]
        a_file = os.path.join(tmp, "a-file")
        with open(a_file, "w") as f:
            f.write("x\n")
        for args, rc, what in [
            (["--help"], 0, "help"),
            (base[:4], 2, "missing --data"),
            (base + ["--samples", "x"], 2, "bad --samples"),
            (base + ["--batch-size", "0"], 2, "bad --batch-size"),
            (base + ["--bogus"], 2, "unknown option"),
            (["--model", "m", "--task", "nope", "--data", SST2], 2, "unknown task"),
            (base + ["extra"], 2, "extra argument"),
            (["--model", os.path.join(tmp, "none"), "--task", "sst2", "--data", SST2], 1,
             "missing model"),
            (base[:2] + ["--task", "stsb", "--data", os.path.join(DATA, "glue/STS-B/dev.tsv")], 1,
             "task with another label count"),
            (base + ["--max-seq-length", "65"], 1, "length past the position table"),
            (base + ["--out", os.path.join(a_file, "dir.json")], 1, "unwritable --out"),
            (base + ["--svg", ""], 2, "empty --svg"),
            (base + ["--svg", os.path.join(a_file, "p.svg")], 1, "unwritable --svg"),
        ]:
            r = tpa(*args) if rc == 0 else tpa(*args, "-q")
            check(r.returncode == rc, f"{what}: rc {r.returncode}, want {rc} ({r.stderr.strip()})")
            if rc == 0:
                check("Usage: tpa importance" in r.stdout, "help text")
            else:
                check(r.stdout == "", f"{what}: printed on stdout")
                check(r.stderr.startswith("tpa"), f"{what}: no message on stderr")
    print(f"{'FAILED' if failures else 'OK'}: tpa importance CLI ({len(failures)} failures)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
