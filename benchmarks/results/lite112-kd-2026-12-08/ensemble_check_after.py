# One-off, after the run (2026-12-08): the student (INT8 CPU bundle) in ensembles, validation slice.
# Needs ensemble_check.py's saved probabilities (/work/edgefer-runs/scratch/ens_val.npz). Output:
#   kd INT8 plain 68.77 flip 69.01 / default+wide+kd plain 69.71 flip 69.67 / default+kd plain 69.67
import numpy as np
from edgefer.data import open_dataset
from edgefer.data.splits import stratified_split
from edgefer.train.distill import teacher_logits
ds = open_dataset("../shared/data/fer2013/fer2013.csv.gz", split="Training")
_, val = stratified_split(ds.targets, 0.1, seed=0)
v = ds.subset(val, split="Training:val"); y = ds.targets[val]
z = np.load("/work/edgefer-runs/scratch/ens_val.npz")
sm = lambda a: np.exp(a - a.max(1, keepdims=True)) / np.exp(a - a.max(1, keepdims=True)).sum(1, keepdims=True)
_, a, b = teacher_logits("/work/edgefer-runs/lite112-kd/fer2013-lite0-112-kd.edgefer", v)
k = (sm(a), sm(b))
acc = lambda p: 100 * (p.argmax(1) == y).mean()
print("kd INT8 plain %.2f flip %.2f" % (acc(k[0]), acc(k[0] + k[1])))
print("default+wide+kd plain %.2f flip %.2f" % (acc(z["default_plain"] + z["wide_plain"] + k[0]),
      acc(z["default_plain"] + z["wide_plain"] + k[0] + z["default_mirr"] + z["wide_mirr"] + k[1])))
print("default+kd plain %.2f" % acc(z["default_plain"] + k[0]))
