#!/bin/bash
# EfficientNet-B0 + spatial attention, 64 px, from scratch, the generic recipe (EfficientViT-M5's:
# AdamW lr 2e-3 wd 0.05, cosine with a 2-epoch warm-up, fer augmentation, label smoothing 0.1),
# 20 epochs, seed 0, cut to 16 after epoch 1 (edgefer train --resume RUN --epochs 16). Resume: run this again.
cd /work/main && . .venv/bin/activate
export OMP_WAIT_POLICY=PASSIVE
R=~/edgefer-runs/b064
if [ -f $R/last.pt ]; then
  exec edgefer train --resume $R --epochs 16   # cut from 20 to 16 after epoch 1, to fit session 8
fi
exec edgefer train --arch efficientnet_b0_attn --data ../shared/data/fer2013/fer2013.csv.gz --img-size 64 --epochs 20 \
  --seed 0 --out $R
