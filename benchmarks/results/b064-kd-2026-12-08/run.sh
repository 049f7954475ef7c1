#!/bin/bash
# EfficientNet-B0 + attention, 64 px, from scratch, the B0 recipe (edgefer/train/recipes.py: SGD +
# Nesterov, momentum 0.9, lr 0.05, wd 5e-4, cosine with a 2-epoch warm-up, fer augmentation on whole
# batches, label smoothing 0.1, batch 64, channels_last, seed 0) for 36 epochs, distilled from the
# shipped default (lite112, its INT8 bundle, copied out of the package so that a release does not
# change a resumed run's teacher): weight 0.5, temperature 2 (the trainer's defaults).
# A teacher every user has (`--teacher default`), so the result is a recipe anyone can run.
# Question: does the default as teacher lift B0 past what twice the schedule did without one
# (b064-72: validation 65.81 %, PublicTest 64.25 %) at half the cost?
# Selection: best validation loss (the trainer's best.pt). PublicTest once, at the end, for reporting.
# Resume after any interruption: run this again (the run folder is outside the work tree).
# The teacher, if the folder is lost: git show 6513e88:edgefer/bundles/default.edgefer/... (the bundle
# shipped since 2026-12-07).
cd "$(dirname "$0")/../../.." && . .venv/bin/activate
R=/work/edgefer-runs/b064-kd T=/work/edgefer-runs/teachers/lite112.edgefer
if [ -f $R/last.pt ]; then
  exec edgefer train --resume $R
fi
exec edgefer train --arch efficientnet_b0_attn --data ../shared/data/fer2013/fer2013.csv.gz --epochs 36 \
  --teacher $T --seed 0 --out $R
