"""INT8 with the ReLU / ReLU6 after each convolution folded into it (``--int8-ops conv`` since
2026-12-02) against the previous Conv+Gemm-only policy, on the run's validation slice: top-1,
agreement with FP32, and batch-1 latency (1 thread). Every Conv stays int8 (no gate), so the
numbers show the quantization itself.

    python benchmarks/int8_activations.py ~/edgefer-runs/lite96-e18 ~/edgefer-runs/vit64-kd \\
        --out benchmarks/results/int8-activations-2026-12-02

Each run's best.pt is exported to FP32 ONNX (batch 1), calibrated with entropy ranges on the
exporter's 500 class-balanced Training images (the validation slice left out), and quantized
both ways for ONNX Runtime's CPU kernels (``cpu``: U8S8, 7-bit weights) and in exact Q/DQ
arithmetic for the TensorRT flavour (``tensorrt``: S8S8). Run it on a quiet machine.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edgefer.bench.timing import time_calls  # noqa: E402
from edgefer.bundle import Bundle  # noqa: E402
from edgefer.data import open_dataset  # noqa: E402
from edgefer.export import calibration, gate, quantize  # noqa: E402
from edgefer.onnx_predict import predict, session  # noqa: E402

# The policy before 2026-12-02, kept here only to compare against.
quantize.OP_POLICIES["conv-unfolded"] = ("Conv", "Gemm")
POLICIES = (("conv-unfolded", "Conv+Gemm, activations float"), ("conv", "Conv+Gemm, ReLU/ReLU6 folded"))


def latency_ms(path, n=600, rounds=3):
    """Median per-call time of ``n`` calls, best of ``rounds`` (1 thread)."""
    sess = session(path, threads=1)
    inp = sess.get_inputs()[0]
    feed = {inp.name: np.random.default_rng(0).random([d if isinstance(d, int) else 1 for d in inp.shape])
            .astype(np.float32)}
    return min(float(np.median(time_calls(lambda: sess.run(None, feed), warmup=50, runs=n)[0])) for _ in range(rounds))


def measure(run, work):
    """Rows for one run folder."""
    out = os.path.join(work, os.path.basename(run.rstrip("/")) + ".edgefer")
    subprocess.run([sys.executable, "-m", "edgefer", "export", os.path.join(run, "best.pt"), "--batches", "1",
                    "--out", out, "--eval-limit", "50", "--threads", "1"], check=True, capture_output=True)
    b = Bundle.load(out)
    prov = b.manifest["provenance"]
    fp32 = b.file(b.find(precision="fp32", batch=1)[0])
    train = open_dataset(prov["data"], labels=prov["label_protocol"], split=prov["train_split"])
    val = train.subset(train.index_of(prov["val_ids"]), split=train.split + ":val")
    _, cdoc = calibration.make_or_load(train, os.path.join(work, "calib"), 500, 0, prov["val_ids"])
    pre_q = os.path.join(work, "pre.onnx")
    quantize.preprocess_for_quantization(fp32, pre_q)
    ranges = os.path.join(work, "ranges.json")
    reader = quantize.ArrayReader("input", calibration.batches(train, cdoc["ids"], b.preprocess, 1))
    quantize.quantize(pre_q, os.path.join(work, "probe.onnx"), "cpu", reader, "entropy", ranges, ops="all")
    f32 = predict(fp32, val, b.preprocess)
    rows = [{"run": run, "arch": b.manifest["model"]["architecture"], "size": b.preprocess.size,
             "flavour": "FP32", "policy": "", "top1": float((f32.argmax(1) == val.targets).mean()),
             "agreement": 1.0, "latency_ms": latency_ms(fp32)}]
    for target in ("cpu", "tensorrt"):
        for policy, what in POLICIES:
            q = os.path.join(work, "q-%s-%s.onnx" % (target, policy))
            quantize.quantize(pre_q, q, target, None, "entropy", ranges, [], ops=policy)
            exact = target == "tensorrt"
            c = gate.compare(f32, predict(q, val, b.preprocess, exact_qdq=exact), val.targets, list(b.labels))
            rows.append({"run": run, "arch": rows[0]["arch"], "size": rows[0]["size"], "flavour": target,
                         "policy": what, "top1": c["int8"]["top1"], "agreement": c["agreement"],
                         "latency_ms": None if exact else latency_ms(q)})
    return rows


def markdown(rows):
    lines = ["| run | model | flavour | quantized | val top-1 | agreement with FP32 | b1 latency |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %s %d px | %s | %s | %.2f %% | %.1f %% | %s |" % (
            os.path.basename(r["run"].rstrip("/")), r["arch"], r["size"], r["flavour"], r["policy"] or "-",
            100 * r["top1"], 100 * r["agreement"],
            "%.2f ms" % r["latency_ms"] if r["latency_ms"] else "exact Q/DQ (GPU arithmetic)"))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="run folders with best.pt")
    ap.add_argument("--out", required=True, help="folder for int8_activations.md / .json")
    a = ap.parse_args()
    rows = []
    for run in a.runs:
        with tempfile.TemporaryDirectory(prefix="edgefer-act-") as work:
            rows += measure(run, work)
        print(markdown(rows[-5:]), flush=True)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "int8_activations.json"), "w") as f:
        json.dump(rows, f, indent=1)
    with open(os.path.join(a.out, "int8_activations.md"), "w") as f:
        f.write("Validation slice of each run (FER2013 Training, seed-0 10 % slice), all Conv nodes int8, entropy "
                "ranges on 500 class-balanced Training images; latency: median of 600 calls, best of 3, 1 thread.\n\n")
        f.write(markdown(rows))


if __name__ == "__main__":
    main()
