"""PNG plots of a benchmark result, beside its JSON (matplotlib, imported here only).

matplotlib is not a device dependency (it is in the ``train`` extra): without it the plots
are skipped with a one-line note, and ``edgefer bench --from-json RESULT.json`` on a machine
that has it draws them later from the saved JSON (which keeps every latency sample).

* model results: ``T_accuracy_latency.png`` (top-1 against median latency per image, one
  point per row) and ``T_latency_hist.png`` (the per-call latency samples of every row);
* pipeline results: ``T_stages.png`` (median time per stage, stacked, per row) and
  ``T_latency_hist.png`` (end-to-end time per frame of every row).
"""

import numpy as np

from ..atomic import save_figure

STAGES = ("read", "detect", "preprocess", "classify", "track", "output")
MATPLOTLIB_NOTE = "plots skipped: matplotlib is not installed (pip install matplotlib, or draw them on another " \
                  "machine with: edgefer bench --from-json RESULT.json)"


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _label(r):
    if "detector" in r:
        return "%s %s %s t%s" % (r["detector"], r["precision"], r["backend"], r["threads"])
    b = r.get("batch")
    return "%s %s%s %s %s%s" % (r["format"], r.get("precision") or "", "" if r.get("target") in (None, "any") else
                                " " + r["target"], "dynamic batch" if b == "dynamic" else "b%s" % b, r["backend"],
                                "" if r.get("threads") is None else " t%s" % r["threads"])


def accuracy_latency(plt, doc, path):
    rows = [r for r in doc["rows"] if r["status"] == "ok" and r.get("accuracy") and r.get("latency")]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    markers = {"pytorch": "s", "onnx": "o", "tensorrt": "^"}
    for i, r in enumerate(rows):
        lat = r["latency"]
        x = lat["median_ms"] / float(lat["batch"])
        y = 100 * r["accuracy"]["top1"]
        ax.scatter([x], [y], marker=markers.get(r["format"], "o"), s=50, color="C%d" % (i % 10), label=_label(r))
        ax.annotate(str(i + 1), (x, y), textcoords="offset points", xytext=(5, 4 - 8 * (i % 2)), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("median latency per image (ms, log scale; a call's time / its batch)")
    ax.legend(["%d: %s" % (i + 1, _label(r)) for i, r in enumerate(rows)], fontsize=6, loc="best")
    acc = rows[0]["accuracy"]
    ax.set_ylabel("top-1 %% (%s, %s, %s%s)" % (acc.get("dataset"), acc.get("label_protocol"), acc.get("split"),
                                              ", from the manifest" if acc.get("source") == "manifest" else ""))
    ax.set_title("accuracy vs latency: %s" % (doc.get("bundle") or {}).get("name", ""), fontsize=10)
    ax.grid(alpha=0.3)
    return save_figure(plt, fig, path)


def latency_histogram(plt, doc, path):
    if doc["kind"] == "model":
        series = [(_label(r), r["latency"].get("samples_ms") or []) for r in doc["rows"]
                  if r["status"] == "ok" and r.get("latency")]
        xlabel = "latency per call (ms)"
    else:
        series = [(_label(r), [f["total"] for f in r.get("frame_records", []) if not f.get("warmup")])
                  for r in doc["rows"] if r["status"] == "ok"]
        xlabel = "end-to-end time per frame (ms)"
    series = [(n, np.asarray(v, np.float64)) for n, v in series if len(v)]
    if not series:
        return None
    allv = np.concatenate([v for _, v in series])
    lo = max(float(allv.min()) * 0.9, 1e-3)
    hi = max(float(np.percentile(allv, 99.5)) * 1.05, lo * 1.5)
    bins = np.geomspace(lo, hi, 100)
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for i, (name, v) in enumerate(series):
        ax.hist(np.clip(v, lo, hi), bins=bins, histtype="step", linewidth=1.3,
                label="%s (median %.2f)" % (name, np.median(v)), color="C%d" % (i % 10))
    ax.set_xscale("log")
    ax.set_xlabel(xlabel + ", log scale; the last bin holds everything above")
    ax.set_ylabel("count")
    ax.legend(fontsize=6, loc="upper right")
    ax.grid(alpha=0.3)
    return save_figure(plt, fig, path)


def stage_bars(plt, doc, path):
    rows = [r for r in doc["rows"] if r["status"] == "ok" and r.get("stages")]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(8, 1.6 + 0.45 * len(rows)), dpi=110)
    y = np.arange(len(rows))
    left = np.zeros(len(rows))
    for i, k in enumerate(STAGES):
        v = np.array([r["stages"][k]["median_ms"] or 0.0 for r in rows])
        ax.barh(y, v, left=left, label=k, color="C%d" % i)
        left += v
    for j, r in enumerate(rows):
        ax.text(left[j], y[j], "  %.1f FPS" % (r.get("fps") or 0), va="center", fontsize=7)
    ax.set_yticks(y, [_label(r) for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("median ms per frame, by stage")
    ax.set_xlim(0, float(left.max()) * 1.2 if left.max() > 0 else 1)
    ax.legend(fontsize=7, ncol=6, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return save_figure(plt, fig, path)


def plot_all(doc, base):
    """Write the PNGs for ``doc`` as ``BASE_*.png``; returns (paths, note or None)."""
    plt = _pyplot()
    if plt is None:
        return [], MATPLOTLIB_NOTE
    if doc["kind"] == "model":
        made = [accuracy_latency(plt, doc, base + "_accuracy_latency.png"),
                latency_histogram(plt, doc, base + "_latency_hist.png")]
    else:
        made = [stage_bars(plt, doc, base + "_stages.png"), latency_histogram(plt, doc, base + "_latency_hist.png")]
    return [p for p in made if p], None
