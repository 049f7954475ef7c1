#!/bin/bash
# EfficientNet-Lite0 from ImageNet, the shipped recipe with a longer schedule (18 epochs instead of 10).
# Resume: edgefer train --resume ~/edgefer-runs/lite96-e18
cd /work/main && . .venv/bin/activate
export OMP_WAIT_POLICY=PASSIVE
if [ -f ~/edgefer-runs/lite96-e18/last.pt ]; then
  exec edgefer train --resume ~/edgefer-runs/lite96-e18
fi
exec edgefer train --arch efficientnet_lite0 --weights imagenet \
  --data ../shared/data/fer2013/fer2013.csv.gz --img-size 96 --epochs 18 --lr 1e-3 --warmup-epochs 1 --seed 0 \
  --out ~/edgefer-runs/lite96-e18
