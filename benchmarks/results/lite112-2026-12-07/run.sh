#!/bin/bash
# EfficientNet-Lite0 from ImageNet, the shipped recipe (edgefer/train/recipes.py: 14 epochs,
# AdamW lr 1e-3, wd 0.05, cosine with a 1-epoch warm-up, fer augmentation on whole batches,
# label smoothing 0.1, batch 64, channels_last, seed 0) at 112 px instead of 96.
# Question: issue 9's input-size comparison for the default's architecture (96 px: validation
# 66.99 %, PublicTest 66.93 %, flat over its last 4 epochs, benchmarks/results/lite96-e14-2026-12-01/).
# Not compiled: torch.compile made Lite0's step 0.67x (benchmarks/results/train-compile-2026-12-07-amd/).
# Selection: best validation loss (the trainer's best.pt). PublicTest once, at the end, for reporting.
# Resume after any interruption: run this again (the run folder is outside the work tree).
cd "$(dirname "$0")/../../.." && . .venv/bin/activate
R=/work/edgefer-runs/lite112
if [ -f $R/last.pt ]; then
  exec edgefer train --resume $R
fi
exec edgefer train --arch efficientnet_lite0 --data ../shared/data/fer2013/fer2013.csv.gz --img-size 112 \
  --seed 0 --out $R
