#!/usr/bin/env bash
# Full training recipes on FER2013 (CPU: hours; one GPU: minutes). Usage:
#   bash examples/train_fer2013.sh ../shared/data/fer2013/fer2013.csv.gz
set -euo pipefail
DATA=${1:?path to fer2013.csv or fer2013.csv.gz}

# EfficientViT-M5, the FER paper's augmentation (flips, blur, noise), AdamW + cosine
edgefer train --arch efficientvit_m5 --data "$DATA" --img-size 64 --epochs 40 --out runs/vit64
edgefer eval runs/vit64/best.pt --data "$DATA" --split PublicTest

# EfficientNet-B0 + spatial attention on FER+ majority labels: rotation/flip/zoom + mixup,
# SGD-Nesterov with the step schedule (x0.1 every 10 epochs)
edgefer train --arch efficientnet_b0_attn --data "$DATA" --labels ferplus --img-size 112 \
    --optimizer sgd --lr 0.05 --schedule step --epochs 40 --out runs/b0-ferplus
edgefer eval runs/b0-ferplus/best.pt --data "$DATA" --labels ferplus --split PublicTest
