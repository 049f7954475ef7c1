"""Which ops to quantize: latency of FP32 and INT8 variants of both architectures (ONNX
Runtime, CPU, batch 1), to choose ``edgefer export --int8-ops`` and ``--silu``.

    python benchmarks/int8_policies.py --size 48 --out benchmarks/results

Latency does not depend on the weights, so the models are random-initialised (accuracy of
each policy is measured on trained models: see benchmarks/README.md). Calibration uses 32
random inputs; it sets scales, not the op count. Writes ``int8_policies_<size>.json/.md``.
"""

import argparse
import datetime
import os
import tempfile

import numpy as np

from edgefer.atomic import write_json, write_text
from edgefer.bench.timing import time_calls
from edgefer.export import onnx_export, quantize
from edgefer.train.models import create_model
from edgefer.onnx_predict import onnxruntime, session


def latency(path, size, threads, runs=300, warmup=30):
    s = session(path, threads)
    name = s.get_inputs()[0].name
    x = np.zeros((1, 3, size, size), np.float32)
    ms, _ = time_calls(lambda: s.run(None, {name: x}), warmup=warmup, runs=runs)
    return float(np.median(ms)), float(np.percentile(ms, 99))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=48)
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    a = ap.parse_args()
    rows = []
    work = tempfile.mkdtemp(prefix="edgefer-policies-")
    rng = np.random.default_rng(0)
    for arch in ("efficientvit_m5", "efficientnet_b0_attn"):
        f32 = os.path.join(work, arch + ".onnx")
        onnx_export.export(create_model(arch, 7, a.size).eval(), f32, a.size, 1)
        pq = os.path.join(work, arch + "_pre.onnx")
        quantize.preprocess_for_quantization(f32, pq)
        ranges = os.path.join(work, arch + "_ranges.json")
        reader = quantize.ArrayReader("input", [rng.uniform(-1, 1, (1, 3, a.size, a.size)).astype(np.float32)
                                                for _ in range(32)])
        variants = [("fp32", "-", f32)]
        silu = quantize.silu_nodes(f32)
        # ranges for every tensor once (as the exporter does): a cache written by a "conv" run
        # holds only Conv/Gemm tensors, and the "compute"/"all" runs would find theirs missing
        quantize.quantize(pq, os.path.join(work, "probe.onnx"), "cpu", reader, "minmax", ranges, ops="all")
        for target in ("cpu", "tensorrt"):
            for ops in ("conv", "compute", "all"):
                p = os.path.join(work, "%s_%s_%s.onnx" % (arch, target, ops))
                quantize.quantize(pq, p, target, None, "minmax", ranges, ops=ops)
                variants.append(("int8 %s" % ("U8S8" if target == "cpu" else "S8S8"), ops, p))
        if silu:
            p = os.path.join(work, arch + "_cpu_all_silufloat.onnx")
            quantize.quantize(pq, p, "cpu", None, "minmax", ranges, silu, ops="all")
            variants.append(("int8 U8S8", "all, SiLU float", p))
        for th in a.threads:
            for prec, ops, p in variants:
                med, p99 = latency(p, a.size, th)
                rows.append({"arch": arch, "size": a.size, "precision": prec, "ops": ops, "threads": th,
                             "median_ms": med, "p99_ms": p99, "size_mb": os.path.getsize(p) / 1e6})
                print("%-22s %3d px thr %d %-10s %-16s median %6.2f ms  p99 %6.2f ms" % (
                    arch, a.size, th, prec, ops, med, p99), flush=True)
    ort = onnxruntime()
    doc = {"benchmark": "int8_policies", "date": datetime.date.today().isoformat(), "cores": os.cpu_count(),
           "onnxruntime": ort.__version__, "rows": rows}
    os.makedirs(a.out, exist_ok=True)
    write_json(os.path.join(a.out, "int8_policies_%d.json" % a.size), doc)
    md = ["# INT8 op policies, %d px, batch 1, %s, onnxruntime %s, %d cores" % (a.size, doc["date"], ort.__version__,
                                                                               os.cpu_count()), "",
          "| model | precision | quantized ops | threads | median ms | p99 ms | MB |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append("| %s | %s | %s | %d | %.2f | %.2f | %.1f |" % (r["arch"], r["precision"], r["ops"], r["threads"],
                                                                   r["median_ms"], r["p99_ms"], r["size_mb"]))
    write_text(os.path.join(a.out, "int8_policies_%d.md" % a.size), "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
