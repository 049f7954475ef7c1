#!/bin/bash
# EfficientNet-B0 + spatial attention, 64 px, from scratch: the B0 recipe (edgefer/train/recipes.py:
# SGD + Nesterov, momentum 0.9, lr 0.05, wd 5e-4, cosine with a 2-epoch warm-up, fer augmentation,
# label smoothing 0.1, batch 64, seed 0, channels_last) with twice its schedule: 72 epochs instead of 36.
# Question: where does B0 + attention plateau? (36 epochs: validation 63.20 %, PublicTest 62.33 %,
# +2.89 validation points over the last quarter, benchmarks/results/b064-36-2026-12-02/.)
# Selection: best validation loss (the trainer's best.pt). PublicTest once, at the end, for reporting.
# Resume after any interruption: run this again (the run folder is outside the work tree).
cd /work/main && . .venv/bin/activate
R=/work/edgefer-runs/b064-72
if [ -f $R/last.pt ]; then
  exec edgefer train --resume $R
fi
exec edgefer train --arch efficientnet_b0_attn --data ../shared/data/fer2013/fer2013.csv.gz --epochs 72 \
  --seed 0 --out $R
