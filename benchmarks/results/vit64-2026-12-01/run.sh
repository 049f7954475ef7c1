#!/bin/bash
# EfficientViT-M5, 64 px, from scratch on FER2013 Training (val slice 10 %, seed 0).
cd /work/main && . .venv/bin/activate
# threads sleep instead of spinning at barriers: other jobs on the 2 cores slowed spinning training 5x
export OMP_WAIT_POLICY=PASSIVE
if [ -f ~/edgefer-runs/vit64/last.pt ]; then exec edgefer train --resume ~/edgefer-runs/vit64 --epochs 26; fi
exec edgefer train --arch efficientvit_m5 --data /work/shared/data/fer2013/fer2013.csv.gz --img-size 64 \
  --epochs 26 --batch-size 64 --optimizer adamw --lr 2e-3 --weight-decay 0.05 --schedule cosine --warmup-epochs 2 \
  --augment fer --label-smoothing 0.1 --class-weights none --mixup 0 --patience 0 --seed 0 --out ~/edgefer-runs/vit64
