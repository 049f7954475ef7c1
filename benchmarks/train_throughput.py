"""Training throughput (images/s) of both architectures at several input sizes.

Three input pipelines in front of the same training step (forward, soft cross-entropy,
backward, AdamW), warm-up steps not timed:

* ``bare`` — a fixed random batch: the step alone, the ceiling;
* ``batched`` — what ``edgefer train`` does: FER2013 Training images through the shared
  preprocessing (uint8), then the ``fer`` recipe on the whole batch
  (:class:`edgefer.train.transforms.BatchAugment`);
* ``per-image`` — the pipeline before 2026-12-01, kept here only as the baseline: the same
  recipe's geometry as torchvision v2 transforms applied image by image in the loader.

    python benchmarks/train_throughput.py --data ../shared/data/fer2013/fer2013.csv.gz
    python benchmarks/train_throughput.py --sizes 48 64 112 224 --steps 8 --out benchmarks/results
    python benchmarks/train_throughput.py --pipelines batched --layouts contiguous channels_last

Each in two memory layouts: ``contiguous`` (NCHW, PyTorch's default) and ``channels_last``
(NHWC weights and batches, what ``edgefer train`` does since 2026-12-02; ``--no-channels-last``
turns it off): oneDNN's convolutions run NHWC natively, so the layout alone changes the CPU
step by 1.5-2x.

``--compile`` wraps the model in ``torch.compile`` (TorchInductor: fused C++ kernels on a
CPU); its compile time is reported apart and not counted in the timed steps.

Writes ``train_throughput.json`` and ``train_throughput.md`` to ``--out``.
"""

import argparse
import datetime
import itertools
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
from edgefer.train.transforms import BatchAugment

PIPELINES = ("bare", "batched", "per-image")
LAYOUTS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


class _PerImage(torch.utils.data.Dataset):
    """The old per-image pipeline: torchvision v2 on each prepared face (baseline only)."""

    def __init__(self, faces, size):
        from torchvision.transforms import v2

        self.faces = faces
        self.t = v2.Compose([
            v2.RandomResizedCrop(size, scale=(0.8, 1.2), ratio=(1.0, 1.0), antialias=True),
            v2.RandomApply([v2.RandomAffine(0, translate=(0.2, 0.2))], p=0.5),
            v2.RandomHorizontalFlip(0.5), v2.RandomApply([v2.RandomRotation(10)], p=0.5),
            v2.ToDtype(torch.float32, scale=True), v2.RandomErasing(0.5)])

    def __len__(self):
        return len(self.faces)

    def __getitem__(self, i):
        x, y, _ = self.faces[i]
        return self.faces.normalize(self.t(x)[None])[0], y


def _batches(pipeline, faces, batch):
    gen = torch.Generator().manual_seed(0)
    if pipeline == "bare":
        x, y, _ = next(iter(torch.utils.data.DataLoader(faces, batch_size=batch)))
        x = faces.normalize(x.float() / 255)
        while True:
            yield x, y
    if pipeline == "per-image":
        yield from torch.utils.data.DataLoader(_PerImage(faces, faces.pre.size), batch_size=batch, shuffle=True,
                                               num_workers=0, generator=gen)
        return
    augment = BatchAugment("fer")
    for x, y, _ in torch.utils.data.DataLoader(faces, batch_size=batch, shuffle=True, num_workers=0, generator=gen):
        yield faces.normalize(augment(x, gen)), y


def measure(ds, arch, size, batch, steps, warmup, threads, pipeline, layout="contiguous", stem_stride=2,
            compile=False):
    torch.manual_seed(0)
    fmt = LAYOUTS[layout]
    model = create_model(arch, len(ds.labels), size, stem_stride=stem_stride).to(memory_format=fmt).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    net = torch.compile(model) if compile else model
    faces = TrainFaces(ds, Preprocess(size=size))
    w = torch.from_numpy(class_weights(ds.class_counts(), "none"))
    it = _batches(pipeline, faces, batch)
    times, first_ms = [], None
    for s in range(warmup + steps):
        t0 = time.perf_counter()
        x, y = next(it)
        loss = soft_cross_entropy(net(x.contiguous(memory_format=fmt)), y, w)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if s == 0:
            first_ms = 1000 * (time.perf_counter() - t0)
        if s >= warmup:
            times.append(time.perf_counter() - t0)
    t = np.array(times)
    return {"arch": arch, "img_size": size, "stem_stride": stem_stride, "pipeline": pipeline, "layout": layout,
            "compile": compile, "first_step_ms": first_ms,
            "batch": batch, "steps": steps, "threads": threads,
            "images_per_s": float(batch * len(t) / t.sum()), "step_ms_median": float(1000 * np.median(t)),
            "step_ms_min": float(1000 * t.min()), "step_ms_max": float(1000 * t.max())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "fer2013",
                                                   "fer2013.csv.gz"))
    ap.add_argument("--archs", nargs="+", default=["efficientvit_m5", "efficientnet_b0_attn"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[48, 64, 96])
    ap.add_argument("--pipelines", nargs="+", default=list(PIPELINES), choices=PIPELINES)
    ap.add_argument("--layouts", nargs="+", default=list(LAYOUTS), choices=list(LAYOUTS))
    ap.add_argument("--stem-stride", type=int, default=2, choices=(1, 2), help="1: the first convolution's stride halved")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (TorchInductor)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ds = open_dataset(a.data, split="Training")
    rows = []
    for arch, size, pipeline, layout in itertools.product(a.archs, a.sizes, a.pipelines, a.layouts):
        r = measure(ds, arch, size, a.batch, a.steps, a.warmup, a.threads, pipeline, layout, a.stem_stride, a.compile)
        rows.append(r)
        print("%-22s %4d px %-9s %-13s%s %7.1f img/s  (step median %.0f ms, min-max %.0f-%.0f; first step %.0f ms)" % (
            arch, size, pipeline, layout, " compiled" if a.compile else "", r["images_per_s"], r["step_ms_median"],
            r["step_ms_min"], r["step_ms_max"], r["first_step_ms"]), flush=True)
    doc = {"benchmark": "train_throughput", "date": datetime.date.today().isoformat(),
           "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                       "torch": torch.__version__, "device": "cpu", "threads": a.threads},
           "data": "FER2013 Training (%s)" % a.data, "rows": rows}
    os.makedirs(a.out, exist_ok=True)
    write_json(os.path.join(a.out, "train_throughput.json"), doc)
    md = ["# Training throughput, %s, %d cores, %d threads, torch %s, batch %d" % (
        doc["date"], os.cpu_count(), a.threads, torch.__version__, a.batch), "",
        "| architecture | input | pipeline | layout | compiled | images/s | step median (ms) | step min-max (ms) | first step (ms) |",
        "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append("| %s | %d | %s | %s | %s | %.1f | %.0f | %.0f-%.0f | %.0f |" % (
            r["arch"], r["img_size"], r["pipeline"], r["layout"], "yes" if r["compile"] else "no", r["images_per_s"],
            r["step_ms_median"], r["step_ms_min"], r["step_ms_max"], r["first_step_ms"]))
    write_text(os.path.join(a.out, "train_throughput.md"), "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
