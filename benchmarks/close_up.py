"""Faces that fill the whole frame: how the close-up pass's canvas changes misses and accuracy.

The shipped model's validation slice (FER2013 Training, 10 % stratified, seed 0: faces its
training never saw, and not a test split, so the choice made from this is not tuned on
PublicTest) is shown whole, upscaled to ``--side`` px, to the default detector with the
close-up canvas filled each way; the bundle classifies the first face found, a miss counted
wrong, next to the bundle on the data-set crops of the same images.

    python benchmarks/close_up.py --data ../shared/data/fer2013/fer2013.csv.gz --out benchmarks/results/close-up-2026-12-02

Writes ``close_up.json`` and ``close_up.md`` to ``--out``.
"""

import argparse
import datetime
import os

import cv2
import numpy as np

from edgefer.atomic import write_json, write_text
from edgefer.data import open_dataset
from edgefer.data.splits import stratified_split
from edgefer.runtime.classifier import Classifier
from edgefer.runtime.detectors import create_detector
from edgefer.runtime.face_detector import FaceDetector
from edgefer.runtime.pipeline import resolve_bundle
from whole_image_accuracy import one_by_one

FILLS = {"replicated edge (before 2026-12-02)": None, "mid-grey (now)": (127, 127, 127), "black": (0, 0, 0)}


def measure(clf, images, y, direct, fill):
    FaceDetector.CLOSE_UP_FILL = fill
    det = create_detector("blazeface")
    preds = np.full(len(images), -1)
    for k, img in enumerate(images):
        d = det.detect(img)
        if d:
            preds[k] = int(clf.classify(img, [d[0].box]).argmax())
    m = preds >= 0
    return {"found": int(m.sum()), "miss_rate": float(1 - m.mean()), "top1_missed_wrong": float((preds == y).mean()),
            "top1_found": float((preds[m] == y[m]).mean()), "dataset_crops_top1_found": float((direct[m] == y[m]).mean())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="FER2013 CSV")
    ap.add_argument("--bundle", default="default")
    ap.add_argument("--side", type=int, default=192)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    a = ap.parse_args()
    ds = open_dataset(a.data, split="Training")
    _, val = stratified_split(ds.targets, 0.1, seed=0)  # the trainer's validation slice (seed 0)
    clf = Classifier(resolve_bundle(a.bundle), precision="int8", threads=1)
    y = ds.targets[val]
    direct = one_by_one(clf, ds.inputs(val, clf.preprocess)).argmax(1)  # one face per call, as below
    images = [cv2.cvtColor(cv2.resize(ds.image(int(i)), (a.side, a.side), interpolation=cv2.INTER_CUBIC),
                           cv2.COLOR_GRAY2BGR) for i in val]
    rows = {}
    for name, fill in FILLS.items():
        rows[name] = measure(clf, images, y, direct, fill)
        print(name, rows[name], flush=True)
    doc = {"benchmark": "close_up", "date": datetime.date.today().isoformat(), "bundle": a.bundle,
           "data": "FER2013 Training, validation slice (10 %%, stratified, seed 0), %d images at %d px" % (len(val), a.side),
           "dataset_crops_top1": float((direct == y).mean()), "fills": rows}
    os.makedirs(a.out, exist_ok=True)
    write_json(os.path.join(a.out, "close_up.json"), doc)
    md = ["# Close-up canvas: faces filling the frame (%s)" % doc["date"], "",
          "%s; bundle `%s` (INT8); the default detector. Data-set crops of all these images: %.2f %% top-1." % (
              doc["data"], a.bundle, 100 * doc["dataset_crops_top1"]), "",
          "| close-up canvas | missed | top-1, a miss counted wrong | top-1 of found | data-set crops, same found |",
          "|---|---|---|---|---|"]
    for name, r in rows.items():
        md.append("| %s | %.2f %% | %.2f %% | %.2f %% | %.2f %% |" % (name, 100 * r["miss_rate"], 100 * r["top1_missed_wrong"],
                                                                   100 * r["top1_found"], 100 * r["dataset_crops_top1_found"]))
    write_text(os.path.join(a.out, "close_up.md"), "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
