#!/bin/bash
# EfficientNet-Lite0 from ImageNet, the shipped recipe (edgefer/train/recipes.py: 112 px, 14 epochs,
# AdamW lr 1e-3, wd 0.05, cosine with a 1-epoch warm-up, fer augmentation on whole batches, label
# smoothing 0.1, batch 64, channels_last, seed 0) with the fer augmentation's window area drawn from
# 0.6-1.5 instead of 0.8-1.2 (--scale): crop sides 0.77-1.22 of the face, about the spread of the
# default detector's boxes (benchmarks/results/framing-2026-12-07/detector-spread-training/).
# Question: does a framing jitter as wide as the detector's close issue 9's detector-crop gap
# (PublicTest 2.7 points) without costing accuracy on the data set's own crops?
# Selection: best validation loss (the trainer's best.pt). PublicTest once, at the end, for reporting.
# Resume after any interruption: run this again (the run folder is outside the work tree).
cd "$(dirname "$0")/../../.." && . .venv/bin/activate
R=/work/edgefer-runs/lite112-wide
if [ -f $R/last.pt ]; then
  exec edgefer train --resume $R
fi
exec edgefer train --arch efficientnet_lite0 --data ../shared/data/fer2013/fer2013.csv.gz --scale 0.6 1.5 \
  --seed 0 --out $R
