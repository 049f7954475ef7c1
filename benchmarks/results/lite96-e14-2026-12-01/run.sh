#!/bin/bash
# EfficientNet-Lite0 from ImageNet, the shipped recipe with a longer schedule (18 epochs instead of 10).
# Resume: edgefer train --resume ~/edgefer-runs/lite96-e18
# The run was cut to 14 epochs after epoch 4 (this shortened the cosine tail):
#   edgefer train --resume ~/edgefer-runs/lite96-e18 --epochs 14
# Released as the default on 2026-12-02 (export: export-release.log; docs/training.md).
cd /work/main && . .venv/bin/activate
export OMP_WAIT_POLICY=PASSIVE
if [ -f ~/edgefer-runs/lite96-e18/last.pt ]; then
  exec edgefer train --resume ~/edgefer-runs/lite96-e18
fi
exec edgefer train --arch efficientnet_lite0 --weights imagenet \
  --data ../shared/data/fer2013/fer2013.csv.gz --img-size 96 --epochs 18 --lr 1e-3 --warmup-epochs 1 --seed 0 \
  --out ~/edgefer-runs/lite96-e18
