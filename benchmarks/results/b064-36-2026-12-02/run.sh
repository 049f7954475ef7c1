#!/bin/bash
# EfficientNet-B0 + spatial attention, 64 px, from scratch, SGD + Nesterov (momentum 0.9, lr 0.05, wd 5e-4),
# cosine with a 2-epoch warm-up, fer augmentation, label smoothing 0.1, 36 epochs, seed 0, channels_last
# (the trainer's default since 2026-12-02), without OMP_WAIT_POLICY=PASSIVE (it halved the step here). The 12-epoch run of session 8 with the same settings reached
# val 56.93 % still rising. Resume: run this again.
cd /work/main && . .venv/bin/activate
R=~/edgefer-runs/b064-sgd36
if [ -f $R/last.pt ]; then
  exec edgefer train --resume $R
fi
exec edgefer train --arch efficientnet_b0_attn --data ../shared/data/fer2013/fer2013.csv.gz --img-size 64 --epochs 36 \
  --optimizer sgd --seed 0 --out $R
