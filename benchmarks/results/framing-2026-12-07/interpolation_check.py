"""One-off check (2026-12-07): the shipped model on its validation slice with the 48 px crops
upscaled by area interpolation (the bundle's), linear or cubic. Run from benchmarks/:

    PYTHONPATH=. python results/framing-2026-12-07/interpolation_check.py

Printed: area 0.6835; linear 0.6831 (agreement with area 0.910); cubic 0.6776 (0.904).
"""

import copy

from edgefer.data import open_dataset
from edgefer.data.splits import stratified_split
from edgefer.runtime.classifier import Classifier
from edgefer.runtime.pipeline import resolve_bundle
from whole_image_accuracy import one_by_one

ds = open_dataset("../../shared/data/fer2013/fer2013.csv.gz", split="Training")
_, val = stratified_split(ds.targets, 0.1, seed=0)  # the trainer's validation slice (seed 0)
clf = Classifier(resolve_bundle("default"), precision="int8", threads=1)
y = ds.targets[val]
base = one_by_one(clf, ds.inputs(val, clf.preprocess)).argmax(1)
print("area", (base == y).mean())
for interp in ("linear", "cubic"):
    pre = copy.deepcopy(clf.preprocess)
    pre.interpolation = interp
    p = one_by_one(clf, ds.inputs(val, pre)).argmax(1)
    print(interp, (p == y).mean(), "agreement with area", (p == base).mean())
