#!/bin/bash
# EfficientNet-B0 + spatial attention, 64 px, from scratch, SGD + Nesterov (momentum 0.9; edgefer's SGD
# defaults lr 0.05, wd 5e-4), cosine with a 2-epoch warm-up, fer augmentation, label smoothing 0.1,
# 12 epochs (to fit session 8), seed 0. The generic recipe (AdamW 2e-3) did not learn in 2 epochs (b064-adamw: val 25.8 %,
# the majority class). Resume: run this again.
cd /work/main && . .venv/bin/activate
export OMP_WAIT_POLICY=PASSIVE
R=~/edgefer-runs/b064-sgd
if [ -f $R/last.pt ]; then
  exec edgefer train --resume $R
fi
exec edgefer train --arch efficientnet_b0_attn --data ../shared/data/fer2013/fer2013.csv.gz --img-size 64 --epochs 12 \
  --optimizer sgd --seed 0 --out $R
