"""PublicTest faces shown whole through ``edgefer run``, detector and all, against
``edgefer eval`` on the same images.

Each of N class-stratified FER2013 PublicTest images is upscaled 4x (192 px, a face that
fills the frame, as in an ID photo or a face close to a kiosk camera) and written to a
folder; ``edgefer run --source FOLDER --json`` (a subprocess: the real command line, the
default detector, stills classified one by one) labels them; a photo where no face was
found counts as a wrong answer. The same images through the bundle on their data-set
crops give the ``edgefer eval`` number.

    python benchmarks/whole_image_accuracy.py --data ../shared/data/fer2013/fer2013.csv.gz
    python benchmarks/whole_image_accuracy.py --data ... --bundle runs/vit/vit.edgefer --n 3589

Writes ``whole_image_accuracy.json`` and ``.md`` to ``--out``.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

from edgefer.atomic import write_json, write_text
from edgefer.data import open_dataset
from edgefer.data.splits import stratified_sample
from edgefer.runtime.classifier import Classifier
from edgefer.runtime.pipeline import resolve_bundle


def one_by_one(clf, x):
    """The classifier's logits for crops ``x`` one face per call (its plan for one face: the
    batch-1 artifact), not in the batches a bulk call would take (another artifact)."""
    return np.concatenate([clf.logits(x[k:k + 1]) for k in range(len(x))])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="FER2013 CSV")
    ap.add_argument("--split", default="PublicTest")
    ap.add_argument("--bundle", default="default")
    ap.add_argument("--n", type=int, default=1000, help="class-stratified images (all of PublicTest: 3589)")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    a = ap.parse_args()

    bundle = resolve_bundle(a.bundle)
    ds = open_dataset(a.data, split=a.split)
    idx = stratified_sample(ds.targets, total=min(a.n, len(ds)), seed=a.seed) if a.n < len(ds) else np.arange(len(ds))
    clf = Classifier(bundle, threads=1)
    names = list(ds.labels.names)
    if list(clf.labels) != names:
        raise SystemExit("the bundle's labels %s are not the data set's %s" % (clf.labels, names))
    y = ds.targets[idx]
    # one face per call, as `edgefer run` classifies a photo's one face: the same artifact on both sides
    direct = one_by_one(clf, ds.inputs(idx, clf.preprocess)).argmax(1)
    with tempfile.TemporaryDirectory(prefix="edgefer-whole-") as tmp:
        folder = os.path.join(tmp, "faces")
        os.makedirs(folder)
        side = 48 * a.scale
        for k, i in enumerate(idx):
            img = cv2.resize(ds.image(int(i)), (side, side), interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(os.path.join(folder, "%05d.png" % k), img)
        out = os.path.join(tmp, "run.jsonl")
        cmd = [sys.executable, "-m", "edgefer", "run", "--source", folder, "--bundle", bundle, "--json", out,
               "--quiet", "--threads", "1"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit("edgefer run failed (%d): %s" % (p.returncode, p.stderr.strip()))
        preds = np.full(len(idx), -1)
        for line in open(out):
            r = json.loads(line)
            k = int(os.path.basename(r["source"]).split(".")[0])
            if r["faces"]:
                preds[k] = names.index(r["faces"][0]["label"])
    found = preds >= 0
    doc = {"benchmark": "whole_image_accuracy", "date": datetime.date.today().isoformat(),
           "data": "FER2013 %s" % a.split, "label_protocol": ds.labels.name, "images": int(len(idx)),
           "sample": "full split" if len(idx) == len(ds) else "class-stratified %d, seed %d" % (len(idx), a.seed),
           "bundle": os.path.abspath(bundle), "artifact": clf.artifacts[clf.plan(1)[0][0]]["file"], "side_px": side,
           "command": " ".join(cmd[1:]).replace(folder, "FOLDER").replace(out, "OUT.jsonl"),
           "run_top1_missed_wrong": float((preds == y).mean()), "miss_rate": float(1 - found.mean()),
           "run_top1_of_found": float((preds[found] == y[found]).mean()) if found.any() else 0.0,
           "eval_top1": float((direct == y).mean()), "run_summary": p.stdout.strip()}
    doc["gap_points"] = 100 * (doc["eval_top1"] - doc["run_top1_missed_wrong"])
    print(json.dumps({k: v for k, v in doc.items() if k != "run_summary"}, indent=1))
    os.makedirs(a.out, exist_ok=True)
    write_json(os.path.join(a.out, "whole_image_accuracy.json"), doc)
    write_text(os.path.join(a.out, "whole_image_accuracy.md"), "\n".join([
        "# FER2013 %s shown whole at %d px through `edgefer run` (%s)" % (a.split, side, doc["date"]), "",
        "%s images (%s), bundle `%s`, artifact `%s`; `python benchmarks/whole_image_accuracy.py --data ... --n %d`."
        % (len(idx), doc["sample"], os.path.basename(bundle), doc["artifact"], a.n), "",
        "| | top-1 |", "|---|---|",
        "| `edgefer eval` (data-set crops) | %.2f %% |" % (100 * doc["eval_top1"]),
        "| `edgefer run` on the whole image, a missed face counted wrong | %.2f %% |" % (100 * doc["run_top1_missed_wrong"]),
        "| faces found | %.1f %% |" % (100 * found.mean()),
        "| `edgefer run`, faces found only | %.2f %% |" % (100 * doc["run_top1_of_found"]),
        "| gap (eval - run) | %.2f points |" % doc["gap_points"], ""]))


if __name__ == "__main__":
    main()
