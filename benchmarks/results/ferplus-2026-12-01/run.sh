#!/bin/bash
# Session 5 chain: wait for lite96-ferplus, export + evaluate it on FER+ PublicTest (majority), then train the
# --soft-labels twin (lite96-ferplus-soft) and do the same for it. Each step's wall time goes to times.txt.
cd /work/main && . .venv/bin/activate
D=/work/shared/data/fer2013/fer2013.csv.gz
OUT=/work/main/benchmarks/results/ferplus-2026-12-01; mkdir -p $OUT
step() { echo "$1 $(( $(date +%s) - t0 )) s" >> $OUT/times.txt; t0=$(date +%s); }
while kill -0 28541 2>/dev/null; do sleep 20; done
t0=$(date +%s)
finish() {  # RUN NAME
  R=~/edgefer-runs/$1; B=$R/$2.edgefer
  edgefer export $R/best.pt --int8 --targets cpu,tensorrt --batches 1,8 --name $2 --out $B \
    --budget 0.5 --gate-tries 5 > $OUT/$1-export.log 2>&1; step $1-export
  edgefer eval $R/best.pt --data $D --labels ferplus --split PublicTest --out $OUT/$1-eval-checkpoint \
    > $OUT/$1-eval-checkpoint.log 2>&1; step $1-eval-checkpoint
  edgefer eval $B --data $D --labels ferplus --split PublicTest --out $OUT/$1-eval-bundle \
    > $OUT/$1-eval-bundle.log 2>&1; step $1-eval-bundle
  cp $R/history.jsonl $OUT/$1-history.jsonl
}
finish lite96-ferplus ferplus-lite0-96
edgefer train --arch efficientnet_lite0 --data $D --labels ferplus --soft-labels --seed 0 \
  --out ~/edgefer-runs/lite96-ferplus-soft --quiet > ~/edgefer-runs/lite96-ferplus-soft.log 2>&1; step soft-train
finish lite96-ferplus-soft ferplus-soft-lite0-96
echo all-done >> $OUT/times.txt
