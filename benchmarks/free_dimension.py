"""One INT8 file for every batch size, or one file per batch size? Issue 9 allows either: a
bundle's fixed-batch artifacts (batch 1 and 8 today), or one file with a symbolic batch axis
that ONNX Runtime fixes when the session is created
(``SessionOptions.add_free_dimension_override_by_name``), "if that measures as fast".

For each bundle, its INT8 CPU batch-1 file is copied with the batch axis of its input and
output renamed to a symbolic ``N`` (the graph has no other batch-dependent shape: Flatten,
not Reshape, before the classifier). Then, alternating the sessions round by round so that a
disturbance hits both sides alike (1 thread, a real-range random input):

* ``fixed``    the shipped file of that batch size;
* ``override`` the symbolic copy, ``N`` fixed at session creation;
* ``dynamic``  the symbolic copy left dynamic (what a dynamic axis costs without the override).

It also checks that the symbolic copy at N = 1 computes exactly what the shipped batch-1 file
computes, and that at N = 8 each row equals the batch-1 answer for that face (no batch
coupling). Run it on a quiet machine.

    python benchmarks/free_dimension.py edgefer/bundles/default.edgefer edgefer/bundles/ferplus.edgefer \\
        --out benchmarks/results/free-dimension-2026-12-06
"""

import argparse
import datetime
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edgefer.atomic import write_json, write_text  # noqa: E402
from edgefer.bench.device import cpu  # noqa: E402
from edgefer.bench.timing import time_calls  # noqa: E402
from edgefer.bundle import Bundle  # noqa: E402
from edgefer.onnx_predict import onnxruntime, run  # noqa: E402

BATCH_AXIS = "N"


def symbolic_batch_copy(src, dst):
    """``src`` with the first axis of every graph input and output renamed to ``N``."""
    import onnx

    m = onnx.load(src)
    for v in list(m.graph.input) + list(m.graph.output):
        d = v.type.tensor_type.shape.dim[0]
        d.ClearField("dim_value")
        d.dim_param = BATCH_AXIS
    del m.graph.value_info[:]  # shapes inferred for batch 1; ONNX Runtime infers them again
    onnx.checker.check_model(m)
    onnx.save(m, dst)


def open_session(path, batch=None):
    ort = onnxruntime()
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    so.log_severity_level = 3
    if batch:
        so.add_free_dimension_override_by_name(BATCH_AXIS, batch)
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def alternate(sessions, x, runs, rounds):
    """Median ms per call of each named session: ``rounds`` rounds, each session ``runs`` calls a round."""
    times = {name: [] for name in sessions}
    for _ in range(rounds):
        for name, sess in sessions.items():
            ms, _ = time_calls(lambda: run(sess, x), warmup=20, runs=runs)
            times[name].append(float(np.median(ms)))
    return {name: {"median_ms": float(np.median(t)), "rounds_ms": t} for name, t in times.items()}


def measure_bundle(path, runs, rounds, tmp):
    b = Bundle.load(path)
    cpu = {a["batch"]: b.file(a) for a in b.artifacts if a["precision"] == "int8" and a.get("target") == "cpu"}
    size = int(b.manifest["model"]["preprocess"]["size"])
    sym = os.path.join(tmp, os.path.basename(os.path.normpath(path)) + "-symbolic.onnx")
    symbolic_batch_copy(cpu[1], sym)
    rng = np.random.default_rng(0)
    out = {"bundle": path, "file_bytes": {str(k): os.path.getsize(v) for k, v in cpu.items()},
           "symbolic_bytes": os.path.getsize(sym), "batches": {}}
    x8 = rng.uniform(-1, 1, (8, 3, size, size)).astype(np.float32)
    ref1 = np.concatenate([run(open_session(cpu[1]), x8[i:i + 1]) for i in range(8)])
    for batch in sorted(cpu):
        x = x8[:batch]
        sessions = {"fixed": open_session(cpu[batch]), "override": open_session(sym, batch),
                    "dynamic": open_session(sym)}
        row = alternate(sessions, x, runs // batch, rounds)
        row["max_abs_diff_override_vs_b1_rows"] = float(np.abs(run(sessions["override"], x) - ref1[:batch]).max())
        row["max_abs_diff_fixed_vs_b1_rows"] = float(np.abs(run(sessions["fixed"], x) - ref1[:batch]).max())
        out["batches"][str(batch)] = row
    return out


def markdown(results, meta):
    lines = ["# One symbolic-batch INT8 file vs one file per batch (%s)" % meta["date"], "",
             "%s, 1 thread, ONNX Runtime %s; median ms per call, each the median of %d alternating rounds "
             "(`python benchmarks/free_dimension.py`)." % (meta["machine"], meta["onnxruntime"], meta["rounds"]), "",
             "| bundle | batch | fixed file | symbolic + free-dimension override | symbolic, dynamic | "
             "override - fixed | max logit diff vs batch-1 rows (override / fixed file) |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        for batch, row in r["batches"].items():
            f, o, d = (row[k]["median_ms"] for k in ("fixed", "override", "dynamic"))
            lines.append("| %s | %s | %.3f | %.3f | %.3f | %+.1f %% | %.2g / %.2g |" % (
                os.path.basename(os.path.normpath(r["bundle"])), batch, f, o, d, 100 * (o / f - 1),
                row["max_abs_diff_override_vs_b1_rows"], row["max_abs_diff_fixed_vs_b1_rows"]))
    lines += ["", "Files: " + "; ".join("%s: %s, symbolic %.1f MB" % (
        os.path.basename(os.path.normpath(r["bundle"])),
        ", ".join("b%s %.1f MB" % (k, v / 1e6) for k, v in r["file_bytes"].items()), r["symbolic_bytes"] / 1e6)
        for r in results), ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundles", nargs="+")
    ap.add_argument("--runs", type=int, default=400, help="calls a round at batch 1 (divided by the batch)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure_bundle(p, a.runs, a.rounds, tmp) for p in a.bundles]
    meta = {"date": datetime.date.today().isoformat(), "machine": cpu().get("model") or "unknown CPU",
            "onnxruntime": onnxruntime().__version__, "rounds": a.rounds}
    os.makedirs(a.out, exist_ok=True)
    write_json(os.path.join(a.out, "free_dimension.json"), {"meta": meta, "results": results})
    md = markdown(results, meta)
    write_text(os.path.join(a.out, "free_dimension.md"), md)
    print(md)


if __name__ == "__main__":
    main()
