#!/bin/bash
# The FER+ vote-distribution twin of the shipped ferplus model: the same recipe on the FER+ vote
# distributions (--soft-labels), 10 epochs, seed 0 (docs/training.md). Resume: run this again.
cd /work/main && . .venv/bin/activate
export OMP_WAIT_POLICY=PASSIVE
R=~/edgefer-runs/lite96-ferplus-soft
if [ -f $R/last.pt ]; then
  exec edgefer train --resume $R
fi
exec edgefer train --arch efficientnet_lite0 --data ../shared/data/fer2013/fer2013.csv.gz --labels ferplus \
  --soft-labels --seed 0 --out $R
