"""INT8 (U8S8, QDQ, per-channel weights) accuracy and latency of a trained checkpoint for each
calibration method and size, with and without edgefer's two corrections to ONNX Runtime's
``quantize_static`` output (edgefer/export/quantize.py):

* float paths: float ops read the float tensor, not the int8 copy ONNX Runtime gives them;
* low-SQNR float: Conv/Gemm nodes whose predicted output SQNR is below 15 dB stay float.

    python benchmarks/int8_calibration.py runs/vit48/best.pt --tag vit48
    python benchmarks/int8_calibration.py runs/b048/best.pt --tag b048 --methods minmax,entropy --sizes 500 --tail-float 8

Everything is measured like the export does it, with one thread: calibration lists are the
exporter's (class-balanced Training images, the run's validation slice left out), top-1 is
on all of FER2013 PublicTest (never seen by training, selection or calibration), agreement
is INT8 vs FP32 top-1, overall and on the images where FP32 is decided (top-2 softmax margin
>= 0.3). Latency: batch 1, 1 thread, median of per-round medians over interleaved rounds
(other processes on the machine move single rounds). Writes ``int8_calibration_<tag>.json``
and ``.md`` to ``--out``.
"""

import argparse
import datetime
import os
import platform
import shutil
import tempfile
import time

import numpy as np
import onnx

from edgefer.atomic import write_json, write_text
from edgefer.bench.timing import time_calls
from edgefer.data import open_dataset
from edgefer.export import calibration, onnx_export, quantize
from edgefer.metrics import softmax, top2_margin
from edgefer.onnx_predict import onnxruntime, run, session
from edgefer.preprocess import Preprocess
from edgefer.train import checkpoint

VARIANTS = (  # (name, float paths, low-SQNR nodes float)
    ("ONNX Runtime as is", False, False),
    ("float paths", True, False),
    ("low-SQNR float", False, True),
    ("both (edgefer default)", True, True),
)


def latency(paths, size, rounds=5, runs=300, warmup=30):
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, size, size)).astype(np.float32)
    sessions = {k: session(p, 1) for k, p in paths.items()}
    per = {k: [] for k in paths}
    for _ in range(rounds):
        for k, s in sessions.items():
            feed = {s.get_inputs()[0].name: x}
            ms, _ = time_calls(lambda: s.run(None, feed), warmup=warmup, runs=runs)
            per[k].append(float(np.median(ms)))
    return {k: {"median_ms": float(np.median(v)), "best_round_ms": float(np.min(v))} for k, v in per.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--tag", required=True)
    ap.add_argument("--split", default="PublicTest")
    ap.add_argument("--methods", default="minmax,entropy,percentile")
    ap.add_argument("--sizes", default="140,500")
    ap.add_argument("--ops", default="conv", choices=sorted(quantize.OP_POLICIES))
    ap.add_argument("--latency", default="entropy/500", help="METHOD/SIZE whose variants are timed ('' for none)")
    ap.add_argument("--tail-float", type=int, default=0,
                    help="also measure edgefer's default with the last N quantized Conv/Gemm nodes kept float")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    a = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    ck = checkpoint.load(a.checkpoint)
    model = checkpoint.build_model(ck)
    pre = Preprocess.from_dict(ck["preprocess"])
    info = ck["data"]
    work = tempfile.mkdtemp(prefix="edgefer-int8cal-")
    try:
        f32 = os.path.join(work, "fp32.onnx")
        onnx_export.export(model, f32, pre.size, batch=1)
        pq = os.path.join(work, "prequant.onnx")
        quantize.preprocess_for_quantization(f32, pq)
        ev = open_dataset(info["path"], labels=info["label_protocol"], split=a.split)
        x = ev.inputs(np.arange(len(ev)), pre)
        y = ev.targets
        fl = run(session(f32, 1), x)
        decided = top2_margin(softmax(fl)) >= 0.3
        fp32_top1 = float((fl.argmax(1) == y).mean())
        print("FP32 %s top-1 %.2f %%, %d decided images" % (a.split, 100 * fp32_top1, decided.sum()), flush=True)
        tr = open_dataset(info["path"], labels=info["label_protocol"], split=info["train_split"])
        rows, timed = [], {"FP32": f32}
        for size in [int(s) for s in a.sizes.split(",")]:
            _, doc = calibration.make_or_load(tr, work, size, 0, info["val_ids"])
            for method in a.methods.split(","):
                cache = os.path.join(work, "ranges-%s-%d.json" % (method, size))
                t0 = time.time()
                reader = quantize.ArrayReader("input", calibration.batches(tr, doc["ids"], pre, 1))
                quantize.quantize(pq, os.path.join(work, "probe.onnx"), "cpu", reader, method, cache, ops="all")
                sq = quantize.node_sqnr(pq, calibration.batches(tr, doc["ids"], pre, 1), quantize.read_ranges(cache),
                                        "cpu", a.ops)
                low = [n for n, db in sorted(sq.items(), key=lambda kv: kv[1]) if db < quantize.MIN_SQNR_DB]
                calib_s = time.time() - t0
                variants = [(name, paths, low if use_low else []) for name, paths, use_low in VARIANTS]
                if a.tail_float:
                    types = quantize.quantized_op_types(a.ops)
                    convs = [n.name for n in onnx.load(pq, load_external_data=False).graph.node
                             if n.op_type in ("Conv", "Gemm") and n.op_type in types]
                    variants.append(("default + last %d Conv/Gemm float" % a.tail_float, True,
                                     list(dict.fromkeys(low + convs[-a.tail_float:]))))
                for name, paths, ex in variants:
                    qp = os.path.join(work, "q-%s-%d-%d.onnx" % (method, size, len(rows)))
                    q = quantize.quantize(pq, qp, "cpu", None, method, cache, ex, ops=a.ops, float_paths=paths)
                    il = run(session(qp, 1), x)
                    r = {"method": method, "calib_images": size, "variant": name, "float_nodes": len(ex),
                         "rerouted": q["float_consumers_rerouted"], "int8_top1": float((il.argmax(1) == y).mean()),
                         "agreement": float((il.argmax(1) == fl.argmax(1)).mean()),
                         "agreement_decided": float((il.argmax(1)[decided] == fl.argmax(1)[decided]).mean()),
                         "logit_shift": [round(float(v), 3) for v in (il - fl).mean(0)], "calib_s": calib_s}
                    r["drop_points"] = 100 * (fp32_top1 - r["int8_top1"])
                    rows.append(r)
                    print("%-10s %4d %-24s float %2d  INT8 %.2f %%  drop %5.2f  agree %.1f %%  decided %.1f %%" % (
                        method, size, name, r["float_nodes"], 100 * r["int8_top1"], r["drop_points"],
                        100 * r["agreement"], 100 * r["agreement_decided"]), flush=True)
                    if a.latency == "%s/%d" % (method, size):
                        keep = os.path.join(work, "t-%s.onnx" % len(timed))
                        shutil.copy(qp, keep)
                        timed[name] = keep
        lat = latency(timed, pre.size) if len(timed) > 1 else {}
        for k, v in lat.items():
            print("latency %-24s median %.3f ms, best round %.3f ms" % (k, v["median_ms"], v["best_round_ms"]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ort = onnxruntime()
    doc = {"benchmark": "int8_calibration", "date": datetime.date.today().isoformat(), "checkpoint": a.checkpoint,
           "arch": ck["model"]["arch"], "img_size": pre.size, "ops": a.ops, "split": a.split, "images": int(len(y)),
           "fp32_top1": fp32_top1, "decided_images": int(decided.sum()), "onnxruntime": ort.__version__,
           "machine": "%s, %d cores" % (platform.processor() or platform.machine(), os.cpu_count()),
           "latency_ms_batch1_1thread": lat, "latency_of": a.latency, "rows": rows}
    os.makedirs(a.out, exist_ok=True)
    write_json(os.path.join(a.out, "int8_calibration_%s.json" % a.tag), doc)
    md = ["# INT8 U8S8 of %s (%s, %d px), FER2013 %s (%d images), %s" % (a.tag, doc["arch"], pre.size, a.split, len(y),
                                                                          doc["date"]), "",
          "FP32 top-1 %.2f %%, %d decided images (top-2 margin >= 0.3); --int8-ops %s; onnxruntime %s." % (
              100 * fp32_top1, decided.sum(), a.ops, ort.__version__), "",
          "| calibration | images | variant | float nodes | INT8 top-1 | drop (points) | agreement | agreement, decided |",
          "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append("| %s | %d | %s | %d | %.2f %% | %.2f | %.1f %% | %.1f %% |" % (
            r["method"], r["calib_images"], r["variant"], r["float_nodes"], 100 * r["int8_top1"], r["drop_points"],
            100 * r["agreement"], 100 * r["agreement_decided"]))
    if lat:
        md += ["", "Latency, batch 1, 1 thread (%s ranges; per-round medians of 300 calls, 5 interleaved rounds: their "
                   "median, and the best round, which other processes on the machine disturb least):" % a.latency, "",
               "| model | median ms | vs FP32 | best round ms | vs FP32 |", "|---|---|---|---|---|"]
        f = lat["FP32"]
        for k, v in lat.items():
            md.append("| %s | %.3f | %.2fx | %.3f | %.2fx |" % (k, v["median_ms"], f["median_ms"] / v["median_ms"],
                                                               v["best_round_ms"], f["best_round_ms"] / v["best_round_ms"]))
    write_text(os.path.join(a.out, "int8_calibration_%s.md" % a.tag), "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
