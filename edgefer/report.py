"""Evaluation reports: ``metrics.json``, ``confusion.png`` and a terminal summary."""

import os

import numpy as np

from .atomic import save_figure, write_json


def summary_lines(rep, header):
    """The terminal summary: what was evaluated, then overall and per-class numbers."""
    lines = list(header)
    lines.append("top-1 %.2f%%  macro-F1 %.3f  balanced accuracy %.2f%%  (%d images)" % (
        100 * rep["top1"], rep["macro_f1"], 100 * rep["balanced_accuracy"], rep["n"]))
    lines.append("%-10s %9s %7s %7s %8s" % ("class", "precision", "recall", "F1", "support"))
    for name, c in rep["per_class"].items():
        lines.append("%-10s %9.3f %7.3f %7.3f %8d" % (name, c["precision"], c["recall"], c["f1"], c["support"]))
    return lines


def plot_confusion(path, cm, row_names, col_names, title):
    """Row-normalised confusion matrix as a PNG (matplotlib, imported here: optional on
    devices). Returns False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    cm = np.asarray(cm, np.float64)
    norm = cm / np.maximum(1, cm.sum(axis=1, keepdims=True))
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(col_names), 1.0 + 0.7 * len(row_names)), dpi=110)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(col_names)), col_names, rotation=45, ha="right")
    ax.set_yticks(range(len(row_names)), row_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, "%d\n%.0f%%" % (cm[i, j], 100 * norm[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black")
    save_figure(plt, fig, path)
    return True


def write_report(out_dir, rep, context):
    """Write ``metrics.json`` (the report plus ``context``: data set, protocol, split,
    model) and ``confusion.png`` into ``out_dir``; return the paths written."""
    os.makedirs(out_dir, exist_ok=True)
    doc = dict(context)
    doc.update(rep)
    paths = [os.path.join(out_dir, "metrics.json")]
    write_json(paths[0], doc)
    cols = list(rep["labels"]) + (["(other)"] if len(rep["confusion_matrix"][0]) > len(rep["labels"]) else [])
    title = "%s | %s | %s" % (context.get("model", ""), context.get("data", ""), context.get("split", ""))
    png = os.path.join(out_dir, "confusion.png")
    if plot_confusion(png, rep["confusion_matrix"], rep["labels"], cols, title):
        paths.append(png)
    return paths
