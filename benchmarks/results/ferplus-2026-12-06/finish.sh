#!/bin/bash
# After the run: export it as the ferplus release would be made (INT8 CPU + TensorRT flavour,
# batch 1 and 8, gate at budget 0.5, 5 tries), then FER+ PublicTest of the checkpoint and of the
# bundle. Each step's wall time goes to times.txt.
cd /work/main && . .venv/bin/activate
D=../shared/data/fer2013/fer2013.csv.gz; R=/work/edgefer-runs/lite96-ferplus
OUT=benchmarks/results/ferplus-2026-12-06
while pgrep -f "edgefer train --arch efficientnet_lite0" > /dev/null; do sleep 20; done
t0=$(date +%s); step() { echo "$1 $(( $(date +%s) - t0 )) s" >> $OUT/times.txt; t0=$(date +%s); }
cp $R/history.jsonl $OUT/train_history.jsonl
edgefer export $R/best.pt --int8 --targets cpu,tensorrt --batches 1,8 --budget 0.5 --gate-tries 5 \
  --keep int8 --name ferplus-lite0-96 --out $R/ferplus-lite0-96.edgefer > $OUT/export.log 2>&1; step export
edgefer eval $R/best.pt --data $D --labels ferplus --split PublicTest --out $OUT/eval-checkpoint \
  > $OUT/eval-checkpoint.log 2>&1; step eval-checkpoint
echo all-done >> $OUT/times.txt
