#!/bin/bash
# The shipped ferplus model made again: EfficientNet-Lite0 from ImageNet, FER+ majority labels of
# the FER2013 rows, the Lite0 recipe with the shipped ferplus run's 10 epochs (recipe then: 10),
# seed 0, channels_last. Its FP32 checkpoint had not survived session 5's machine, so the shipped
# bundle could not be exported again with the int8 activation fold (session 8). Run folder on
# /work (it outlived the last change of machine; ~ did not). Resume: run this again.
cd /work/main && . .venv/bin/activate
R=/work/edgefer-runs/lite96-ferplus
if [ -f $R/last.pt ]; then
  exec edgefer train --resume $R
fi
exec edgefer train --arch efficientnet_lite0 --data ../shared/data/fer2013/fer2013.csv.gz --labels ferplus \
  --epochs 10 --seed 0 --out $R
