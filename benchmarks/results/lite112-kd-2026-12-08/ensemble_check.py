# One-off check (2026-12-08), run from the repository root with the venv's python: is the mean of
# the shipped default (lite112, INT8 bundle) and lite112-wide (best.pt) a stronger teacher than
# either? Top-1 on the validation slice (FER2013 Training, 10 %, stratified, seed 0: neither
# model trained on it), each model as is and with its mirrored prediction averaged in.
# Output: ensemble_check.log beside this file. /work/edgefer-runs/scratch/ens_val.npz kept the probabilities.
import numpy as np, sys
from edgefer.data import open_dataset
from edgefer.data.splits import stratified_split
from edgefer.train.distill import teacher_logits
ds = open_dataset("../shared/data/fer2013/fer2013.csv.gz", split="Training")
_, val = stratified_split(ds.targets, 0.1, seed=0)
v = ds.subset(val, split="Training:val"); y = ds.targets[val]
sm = lambda z: np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)
P = {}
for name, path in [("default", "edgefer/bundles/default.edgefer"), ("wide", "/work/edgefer-runs/lite112-wide")]:
    _, a, b = teacher_logits(path, v)
    P[name] = (sm(a), sm(b))
    print(name, "plain %.2f flip-avg %.2f" % (100 * (a.argmax(1) == y).mean(), 100 * ((P[name][0] + P[name][1]).argmax(1) == y).mean()), flush=True)
e = P["default"][0] + P["wide"][0]; print("ens plain %.2f" % (100 * (e.argmax(1) == y).mean()))
e = sum(P["default"]) + sum(P["wide"]); print("ens flip %.2f" % (100 * (e.argmax(1) == y).mean()))
np.savez("/work/edgefer-runs/scratch/ens_val.npz", y=y, **{k + "_" + s: P[k][i] for k in P for i, s in enumerate(("plain", "mirr"))})
