#!/bin/bash
# EfficientViT-M5 at 64 px from scratch, the recipe's settings, distilled from the shipped Lite0 model
# (a copy of edgefer/bundles/default.edgefer as of 2026-12-01: INT8, FER2013 PublicTest 66.65 %), 18 epochs (started with 30, cut to 22 after epoch 2 and to 18 after epoch 9 to fit the session; --resume --epochs shortens the cosine).
# Resume: bash ~/edgefer-runs/vit64-kd.sh (continues from last.pt)
cd /work/main && . .venv/bin/activate
export OMP_WAIT_POLICY=PASSIVE
R=~/edgefer-runs/vit64-kd
if [ -f $R/last.pt ]; then
  exec edgefer train --resume $R --epochs 18
fi
exec edgefer train --arch efficientvit_m5 --data ../shared/data/fer2013/fer2013.csv.gz \
  --teacher ~/edgefer-runs/teacher-default.edgefer --distill-weight 0.5 --distill-temperature 2 \
  --epochs 22 --seed 0 --out $R
