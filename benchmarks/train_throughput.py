"""Training throughput (images/s) of both architectures at several input sizes.

Measures the real training step of ``edgefer train``: FER2013 Training images through the
shared preprocessing and the architecture's augmentation recipe, forward, class-weighted
soft cross-entropy, backward, AdamW step. Warm-up steps are not timed.

    python benchmarks/train_throughput.py --data ../shared/data/fer2013/fer2013.csv.gz
    python benchmarks/train_throughput.py --sizes 48 64 112 224 --steps 8 --out benchmarks/results

Writes ``train_throughput.json`` and ``train_throughput.md`` to ``--out``.
"""

import argparse
import datetime
import json
import os
import platform
import time

import numpy as np
import torch

from edgefer.atomic import write_json, write_text
from edgefer.data import open_dataset
from edgefer.train.models import create_model
from edgefer.preprocess import Preprocess
from edgefer.train.datasets import TrainFaces
from edgefer.train.losses import class_weights, soft_cross_entropy
from edgefer.train.transforms import DEFAULT_RECIPE, build_train_transform


def measure(ds, arch, size, batch, steps, warmup, threads):
    torch.manual_seed(0)
    model = create_model(arch, len(ds.labels), size).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = TrainFaces(ds, Preprocess(size=size), build_train_transform(DEFAULT_RECIPE[arch], size))
    w = torch.from_numpy(class_weights(ds.class_counts(), "balanced"))
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, num_workers=0,
                                         generator=torch.Generator().manual_seed(0))
    it = iter(loader)
    times = []
    for s in range(warmup + steps):
        t0 = time.perf_counter()
        x, y, _ = next(it)
        loss = soft_cross_entropy(model(x), y, w)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if s >= warmup:
            times.append(time.perf_counter() - t0)
    t = np.array(times)
    return {"arch": arch, "img_size": size, "batch": batch, "steps": steps, "threads": threads,
            "images_per_s": float(batch * len(t) / t.sum()), "step_ms_median": float(1000 * np.median(t)),
            "step_ms_min": float(1000 * t.min()), "step_ms_max": float(1000 * t.max())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "fer2013",
                                                   "fer2013.csv.gz"))
    ap.add_argument("--archs", nargs="+", default=["efficientvit_m5", "efficientnet_b0_attn"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[48, 64, 112, 224])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ds = open_dataset(a.data, split="Training")
    rows = []
    for arch in a.archs:
        for size in a.sizes:
            r = measure(ds, arch, size, a.batch, a.steps, a.warmup, a.threads)
            rows.append(r)
            print("%-22s %4d px  %7.1f img/s  (step median %.0f ms, min-max %.0f-%.0f)" % (
                arch, size, r["images_per_s"], r["step_ms_median"], r["step_ms_min"], r["step_ms_max"]), flush=True)
    doc = {"benchmark": "train_throughput", "date": datetime.date.today().isoformat(),
           "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                       "torch": torch.__version__, "device": "cpu", "threads": a.threads},
           "data": "FER2013 Training (%s)" % a.data, "rows": rows}
    os.makedirs(a.out, exist_ok=True)
    write_json(os.path.join(a.out, "train_throughput.json"), doc)
    md = ["# Training throughput, %s, %d cores, %d threads, torch %s, batch %d" % (
        doc["date"], os.cpu_count(), a.threads, torch.__version__, a.batch), "",
        "| architecture | input | images/s | step median (ms) | step min-max (ms) |", "|---|---|---|---|---|"]
    for r in rows:
        md.append("| %s | %d | %.1f | %.0f | %.0f-%.0f |" % (r["arch"], r["img_size"], r["images_per_s"],
                                                           r["step_ms_median"], r["step_ms_min"], r["step_ms_max"]))
    write_text(os.path.join(a.out, "train_throughput.md"), "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
