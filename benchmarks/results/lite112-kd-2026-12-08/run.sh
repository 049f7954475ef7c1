#!/bin/bash
# EfficientNet-Lite0 from ImageNet, the shipped recipe (edgefer/train/recipes.py: 112 px, 14 epochs,
# AdamW lr 1e-3, wd 0.05, cosine with a 1-epoch warm-up, fer augmentation on whole batches, label
# smoothing 0.1, batch 64, channels_last, seed 0), distilled from an ensemble of two teachers: the
# shipped default (lite112, its INT8 bundle, copied out of the package so that a release does not
# change a resumed run's teacher) and lite112-wide (its best.pt). Distillation weight 0.5,
# temperature 2 (the trainer's defaults, as vit64-kd).
# Question: does the ensemble's 1.0-1.4 extra validation points (ensemble_check.log) pass to one
# student of the shipped size, toward issue 9's 70 % on PublicTest?
# Selection: best validation loss (the trainer's best.pt). PublicTest once, at the end, for reporting.
# Resume after any interruption: run this again (the run folder is outside the work tree).
# The teachers, if the folder is lost: lite112-wide is made by ../lite112-wide-2026-12-07/run.sh;
# lite112.edgefer is the bundle shipped 2026-12-07 to 2026-12-08 (git show 6513e88:edgefer/bundles/...).
cd "$(dirname "$0")/../../.." && . .venv/bin/activate
R=/work/edgefer-runs/lite112-kd T=/work/edgefer-runs
if [ -f $R/last.pt ]; then
  exec edgefer train --resume $R
fi
exec edgefer train --arch efficientnet_lite0 --data ../shared/data/fer2013/fer2013.csv.gz \
  --teacher $T/teachers/lite112.edgefer --teacher $T/lite112-wide --seed 0 --out $R
