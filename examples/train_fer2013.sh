#!/usr/bin/env bash
# The shipped model's recipe on FER2013 (docs/training.md; CPU: hours, one GPU: minutes). Usage:
#   bash examples/train_fer2013.sh ../shared/data/fer2013/fer2013.csv.gz [RUN_FOLDER]
set -euo pipefail
DATA=${1:?path to fer2013.csv or fer2013.csv.gz}
RUN=${2:-runs/vit64}

# EfficientViT-M5: the default recipe of edgefer train (edgefer/train/recipes.py); resumable
if [ -f "$RUN/last.pt" ]; then edgefer train --resume "$RUN"; else edgefer train --arch efficientvit_m5 --data "$DATA" --out "$RUN"; fi
edgefer eval "$RUN/best.pt" --data "$DATA" --split PublicTest
# the release bundle: INT8 for CPUs (batches 1 and 8) and for TensorRT (batch 1)
edgefer export "$RUN/best.pt" --int8 --targets cpu,tensorrt --batches 1,8 --keep int8/cpu,int8/tensorrt/b1
