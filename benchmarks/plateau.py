"""Where each architecture plateaued: the validation curves of every recorded training run.

Reads the ``history.jsonl`` files kept under ``benchmarks/results/`` (one line per epoch, as
``edgefer train`` writes them) and draws validation top-1 and validation loss against the
epoch, one line per run, into ``benchmarks/results/plateau.png``, with a table
(``plateau.md``): the best epoch by validation loss, its validation top-1, the gain over the
last quarter of the run, and the run's PublicTest top-1 where it was evaluated.

These are validation-slice numbers (10 % of FER2013 Training, seed 0, or FER+ majority
labels on the same rows): they choose checkpoints and compare recipes; they are not test
accuracy. The PublicTest column is the reported number.

    python benchmarks/plateau.py
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from edgefer.atomic import save_figure, write_text  # noqa: E402

RESULTS = os.path.join(ROOT, "benchmarks", "results")

# (history file under results/, label, PublicTest top-1 in %, where that number is recorded)
RUNS = [
    ("train_vit48_history.jsonl", "EfficientViT-M5 48 px, scratch, 8 ep (session 2)", 51.9,
     "fer2013_publictest_vit48.json"),
    ("train_b048_history.jsonl", "EfficientNet-B0+attn 48 px, scratch, 5 ep (session 2)", 40.7,
     "fer2013_publictest_b048.json"),
    ("vit64-2026-12-01/train_history.jsonl", "EfficientViT-M5 64 px, scratch, 26 ep", 60.85,
     "vit64-2026-12-01/eval-checkpoint"),
    ("vit64-kd-2026-12-01/train_history.jsonl", "EfficientViT-M5 64 px, scratch, distilled from Lite0, 18 ep", None,
     "vit64-kd-2026-12-01/eval-checkpoint"),
    ("lite96-2026-12-01/train_history.jsonl", "EfficientNet-Lite0 96 px, ImageNet, 10 ep (default until 2026-12-02)", 67.23,
     "lite96-2026-12-01/eval-checkpoint"),
    ("lite96-e14-2026-12-01/train_history.jsonl", "EfficientNet-Lite0 96 px, ImageNet, 14 ep (default 2026-12-02 to 12-07)", None,
     "lite96-e14-2026-12-01/eval-checkpoint"),
    ("ferplus-2026-12-01/lite96-ferplus-history.jsonl", "EfficientNet-Lite0 96 px, FER+ majority, 10 ep", None,
     None),
    ("ferplus-soft-2026-12-02/train_history.jsonl", "EfficientNet-Lite0 96 px, FER+ vote distributions, 10 ep", None,
     None),
    ("ferplus-2026-12-06/train_history.jsonl", "EfficientNet-Lite0 96 px, FER+ majority, 10 ep, made again (channels-last)",
     None, None),
    ("b064-2026-12-02/adamw_history.jsonl", "EfficientNet-B0+attn 64 px, scratch, AdamW, stopped after 2 ep", None,
     None),
    ("b064-2026-12-02/train_history.jsonl", "EfficientNet-B0+attn 64 px, scratch, SGD, 12 ep", None,
     "b064-2026-12-02/eval-checkpoint"),
    ("b064-36-2026-12-02/train_history.jsonl", "EfficientNet-B0+attn 64 px, scratch, SGD, 36 ep", None,
     "b064-36-2026-12-02/eval-checkpoint"),
    ("b064-72-2026-12-07/train_history.jsonl", "EfficientNet-B0+attn 64 px, scratch, SGD, 72-ep schedule", None,
     "b064-72-2026-12-07/eval-checkpoint"),
    ("vit64-52-2026-12-07/train_history.jsonl", "EfficientViT-M5 64 px, scratch, 52-ep schedule, compiled", None,
     "vit64-52-2026-12-07/eval-checkpoint"),
    ("lite112-2026-12-07/train_history.jsonl", "EfficientNet-Lite0 112 px, ImageNet, 14 ep (shipped)", None,
     "lite112-2026-12-07/eval-checkpoint"),
    ("lite112-kd-2026-12-08/train_history.jsonl", "EfficientNet-Lite0 112 px, ImageNet, 14 ep, distilled from two Lite0",
     None, "lite112-kd-2026-12-08/eval-checkpoint"),
]


def read_history(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def publictest(rel, fallback):
    """The checkpoint's PublicTest top-1 (%) from its eval report, else the recorded number."""
    if rel:
        path = os.path.join(RESULTS, rel, "metrics.json")
        if os.path.isfile(path):
            with open(path) as f:
                return 100 * json.load(f)["top1"]
    return fallback


def summarize(hist):
    best = min(hist, key=lambda r: r["val_loss"])
    q = max(1, len(hist) // 4)
    gain = hist[-1]["val_top1"] - hist[-1 - q]["val_top1"] if len(hist) > q else float("nan")
    return {"epochs": len(hist), "best_epoch": best["epoch"], "best_val_loss": best["val_loss"],
            "best_val_top1": best["val_top1"], "last_quarter_gain": gain, "last_quarter_epochs": q}


def main():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    rows = []
    for rel, label, fallback, eval_rel in RUNS:
        path = os.path.join(RESULTS, rel)
        if not os.path.isfile(path):
            continue
        hist = read_history(path)
        ep = [r["epoch"] for r in hist]
        style = "--" if "FER+" in label else "-"
        ax1.plot(ep, [100 * r["val_top1"] for r in hist], style, marker=".", label=label)
        ax2.plot(ep, [r["val_loss"] for r in hist], style, marker=".", label=label)
        rows.append(dict(summarize(hist), run=label, history=rel, publictest=publictest(eval_rel, fallback)))
    ax1.set(xlabel="epoch", ylabel="validation top-1 (%)", title="validation slice (not a test split)")
    ax2.set(xlabel="epoch", ylabel="validation loss (cross-entropy)", title="validation loss")
    ax1.grid(alpha=0.3)
    ax2.grid(alpha=0.3)
    ax1.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_figure(plt, fig, os.path.join(RESULTS, "plateau.png"))
    lines = ["# Where each run plateaued", "",
             "Made by `python benchmarks/plateau.py` from the runs' `history.jsonl` files; curves in "
             "[`plateau.png`](plateau.png). Validation slice: 10 % of FER2013 Training (stratified, seed 0), FER2013 "
             "labels except the FER+ run (FER+ majority labels, same rows). PublicTest: FER2013 PublicTest, "
             "`fer2013` labels, single crop, the checkpoint (`edgefer eval`).", "",
             "| run | epochs | best epoch (val loss) | val top-1 there | val top-1 gain over the last quarter | "
             "PublicTest top-1 |", "|---|---|---|---|---|---|"]
    for r in rows:
        pt = "%.2f %%" % r["publictest"] if r["publictest"] is not None else "-"
        lines.append("| %s | %d | %d | %.2f %% | %+.2f points (last %d epochs) | %s |" % (
            r["run"], r["epochs"], r["best_epoch"], 100 * r["best_val_top1"], 100 * r["last_quarter_gain"],
            r["last_quarter_epochs"], pt))
    write_text(os.path.join(RESULTS, "plateau.md"), "\n".join(lines) + "\n")
    print(os.path.join(RESULTS, "plateau.md"))


if __name__ == "__main__":
    main()
