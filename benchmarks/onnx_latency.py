"""ONNX Runtime latency of every artifact in one or more bundles, side by side with its file
size and the accuracy its manifest records (measured at export on a named test split).

    python benchmarks/onnx_latency.py runs/vit/vit.edgefer runs/b0/b0.edgefer --threads 1 2
    python benchmarks/onnx_latency.py BUNDLE --runs 500 --warmup 50 --out benchmarks/results --tag export

Latency is per call at the artifact's own fixed batch (median, p90, p99 over ``--runs`` calls
after ``--warmup``), with a real preprocessed face as input; per-image time divides by the
batch. Writes ``<tag>_latency.json`` and ``<tag>_latency.md`` to ``--out``.
"""

import argparse
import datetime
import os
import platform

import numpy as np

from edgefer.atomic import write_json, write_text
from edgefer.bench.timing import time_calls
from edgefer.bundle import Bundle
from edgefer.onnx_predict import onnxruntime, session


def time_artifact(path, batch, size, threads, runs, warmup):
    sess = session(path, threads)
    inp = sess.get_inputs()[0]
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (batch, 3, size, size)).astype(np.float32)
    feed = {inp.name: x}
    ms, _ = time_calls(lambda: sess.run(None, feed), warmup=warmup, runs=runs)
    return {"median_ms": float(np.median(ms)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "min_ms": float(ms.min()), "max_ms": float(ms.max()),
            "per_image_ms": float(np.median(ms) / batch), "runs": runs}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundles", nargs="+")
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    ap.add_argument("--tag", default="export")
    a = ap.parse_args()
    ort = onnxruntime()
    rows = []
    for bpath in a.bundles:
        b = Bundle.load(bpath)
        arch = b.manifest["model"]["architecture"]
        for art in b.artifacts:
            for th in a.threads:
                r = time_artifact(b.file(art), art["batch"], b.preprocess.size, th, a.runs, a.warmup)
                acc = art.get("accuracy", {})
                row = {"bundle": os.path.basename(bpath.rstrip("/")), "architecture": arch, "file": art["file"],
                       "precision": art["precision"], "target": art["target"], "batch": art["batch"],
                       "size_mb": art["size_bytes"] / 1e6, "threads": th, "input": b.preprocess.size,
                       "top1": acc.get("top1"), "macro_f1": acc.get("macro_f1"),
                       "accuracy_on": "%s %s %s (%s images)" % (acc.get("dataset"), acc.get("label_protocol"),
                                                                acc.get("split"), acc.get("images"))}
                row.update(r)
                rows.append(row)
                print("%-14s %-26s thr %d  median %6.2f ms  p99 %6.2f ms  %5.2f ms/img  top-1 %s" % (
                    row["bundle"], art["file"], th, r["median_ms"], r["p99_ms"], r["per_image_ms"],
                    "%.2f%%" % (100 * row["top1"]) if row["top1"] is not None else "-"), flush=True)
    doc = {"benchmark": "onnx_latency", "date": datetime.date.today().isoformat(),
           "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                       "onnxruntime": ort.__version__, "providers": ["CPUExecutionProvider"]},
           "rows": rows}
    os.makedirs(a.out, exist_ok=True)
    write_json(os.path.join(a.out, a.tag + "_latency.json"), doc)
    md = ["# ONNX Runtime latency, %s, %d cores, onnxruntime %s (CPUExecutionProvider)" % (
        doc["date"], os.cpu_count(), ort.__version__), "",
        "Accuracy: from each artifact's manifest, measured at export on the named split.", "",
        "| model | artifact | precision | target | batch | MB | threads | median ms | p99 ms | ms/image | top-1 | macro-F1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append("| %s (%s, %d px) | %s | %s | %s | %s | %.2f | %d | %.2f | %.2f | %.2f | %s | %s |" % (
            r["bundle"], r["architecture"], r["input"], r["file"], r["precision"], r["target"], r["batch"],
            r["size_mb"], r["threads"], r["median_ms"], r["p99_ms"], r["per_image_ms"],
            "%.2f%%" % (100 * r["top1"]) if r["top1"] is not None else "-",
            "%.3f" % r["macro_f1"] if r["macro_f1"] is not None else "-"))
    md.append("")
    md.append("Accuracy measured on: " + "; ".join(sorted(set("%s: %s" % (r["bundle"], r["accuracy_on"]) for r in rows))))
    write_text(os.path.join(a.out, a.tag + "_latency.md"), "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
