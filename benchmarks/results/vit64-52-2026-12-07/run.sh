#!/bin/bash
# EfficientViT-M5, 64 px, from scratch: the ViT-M5 recipe (edgefer/train/recipes.py: AdamW lr 2e-3,
# wd 0.05, cosine with a 2-epoch warm-up, fer augmentation on whole batches, label smoothing 0.1,
# batch 64, seed 0, channels_last) with twice its schedule: 52 epochs instead of 26, compiled
# (torch.compile: 1.29x the bare step of this architecture on the 2-core AMD EPYC,
# benchmarks/results/train-compile-2026-12-07-amd/).
# Question: where does EfficientViT-M5 plateau? (26 epochs: validation 60.79 %, PublicTest 60.85 %,
# +1.46 validation points over the last quarter, benchmarks/results/vit64-2026-12-01/.)
# Selection: best validation loss (the trainer's best.pt). PublicTest once, at the end, for reporting.
# Resume after any interruption: run this again (the run folder is outside the work tree).
cd /work/main && . .venv/bin/activate
R=/work/edgefer-runs/vit64-52
if [ -f $R/last.pt ]; then
  exec edgefer train --resume $R --compile
fi
exec edgefer train --arch efficientvit_m5 --data ../shared/data/fer2013/fer2013.csv.gz --epochs 52 \
  --compile --seed 0 --out $R
