"""Does this CPU's int8 arithmetic saturate? INT8 artifacts against FP32, run two ways.

* **exact**: ONNX Runtime with basic graph optimisation only, so the Q/DQ nodes stay
  unfused and every op computes in float on the dequantized values: what the Q/DQ graph
  says (and what a GPU's or a VNNI CPU's int8 computes, up to rounding).
* **fused**: full optimisation, ONNX Runtime's int8 kernels, as ``edgefer run`` uses them.

On x86 CPUs without VNNI the u8s8 kernels add two u8 x s8 products in int16 and saturate
with full-range (8-bit) weights; 7-bit weights (``reduce_range``) avoid that. With
``--requantize`` the bundle's batch-1 FP32 graph is quantized again for the CPU target
with 8-bit and with 7-bit weights (same calibration list, same excluded nodes as the
bundle's CPU artifact) and both are measured the same two ways.

Images: ``--n`` Training images of the bundle's data set that are not in its calibration
list (a diagnosis of arithmetic, not an accuracy: no labels are used).

    python benchmarks/int8_saturation.py BUNDLE --requantize --out benchmarks/results/X

Writes ``int8_saturation.json`` and ``.md`` to ``--out``.
"""

import argparse
import datetime
import os
import platform
import tempfile

import numpy as np

from edgefer.atomic import write_json, write_text
from edgefer.bundle import Bundle
from edgefer.data import open_dataset
from edgefer.export import calibration, quantize
from edgefer.onnx_predict import run, session


def _cpu_flags():
    try:
        flags = [ln for ln in open("/proc/cpuinfo") if ln.startswith("flags")][0].split()
    except (OSError, IndexError):
        return "unknown"
    return ", ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if f in flags) or "none of avx2/avx512/vnni"


def _images(bundle, n):
    cal = calibration.load(os.path.join(bundle.path, bundle.manifest["calibration_file"]))
    ds = open_dataset(cal["data"], labels=cal["label_protocol"], split=cal["split"])
    taken = set(cal["ids"])
    ids = [i for i in ds.ids if i not in taken]
    ids = ids[:: max(1, len(ids) // n)][:n]
    return cal, ds, np.concatenate(list(calibration.batches(ds, ids, bundle.preprocess, 1)))


def _measure(path, x, ref):
    row = {}
    for how, exact in (("exact", True), ("fused", False)):
        z = run(session(path, threads=1, exact_qdq=exact), x)
        row[how] = {"agreement": float((z.argmax(1) == ref.argmax(1)).mean()),
                    "logit_sqnr_db": float(10 * np.log10((ref ** 2).mean() / ((z - ref) ** 2).mean()))}
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--requantize", action="store_true")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = ap.parse_args()
    b = Bundle.load(args.bundle)
    cal, ds, x = _images(b, args.n)
    fp32 = b.find(precision="fp32", batch=1)
    if not fp32:
        raise SystemExit("%s: no FP32 batch-1 artifact to compare with" % args.bundle)
    ref = run(session(b.file(fp32[0]), threads=1), x)
    rows = []
    for a in b.find(precision="int8", batch=1):
        rows.append(dict(artifact=a["file"], target=a["target"], weights=a["quantization"]["weights"], **_measure(b.file(a), x, ref)))
        print(rows[-1], flush=True)
    if args.requantize:
        cpu = b.find(precision="int8", target="cpu", batch=1)[0]
        with tempfile.TemporaryDirectory() as work:
            pre = os.path.join(work, "pre.onnx")
            quantize.preprocess_for_quantization(b.file(fp32[0]), pre)
            reader = quantize.ArrayReader("input", calibration.batches(ds, cal["ids"], b.preprocess, 1))
            cache = os.path.join(work, "ranges.json")
            for rr in (False, True):
                out = os.path.join(work, "q.onnx")
                q = quantize.quantize(pre, out, "cpu", None if os.path.exists(cache) else reader, cpu["quantization"]["method"],
                                      cache, cpu["quantization"]["excluded_nodes"], ops=cpu["quantization"]["ops"],
                                      reduce_range=rr)
                rows.append(dict(artifact="requantized cpu", target="cpu", weights=q["weights"], **_measure(out, x, ref)))
                print(rows[-1], flush=True)
    doc = {"date": datetime.date.today().isoformat(), "bundle": os.path.abspath(args.bundle), "images": len(x),
           "cpu": platform.processor() or platform.machine(), "cpu_flags": _cpu_flags(), "rows": rows}
    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "int8_saturation.json"), doc)
    lines = ["# INT8 arithmetic on this CPU: exact Q/DQ against fused int8 kernels (%s)" % doc["date"], "",
             "Bundle `%s`; %d Training images outside its calibration list; agreement of top-1 with the FP32 "
             "artifact and logit SQNR. CPU flags: %s. `python benchmarks/int8_saturation.py BUNDLE --requantize`." % (
                 os.path.basename(args.bundle.rstrip("/")), len(x), doc["cpu_flags"]), "",
             "| artifact | weights | exact: agreement | exact: SQNR | fused: agreement | fused: SQNR |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %s | %.1f %% | %.1f dB | %.1f %% | %.1f dB |" % (
            r["artifact"], r["weights"], 100 * r["exact"]["agreement"], r["exact"]["logit_sqnr_db"],
            100 * r["fused"]["agreement"], r["fused"]["logit_sqnr_db"]))
    write_text(os.path.join(args.out, "int8_saturation.md"), "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
