#!/bin/bash
# After the run's 72nd epoch: its history here, PublicTest once (single crop, best.pt = best
# validation loss), and the plateau table and curves made again. Refuses an unfinished run.
set -euo pipefail
cd /work/main && . .venv/bin/activate
R=/work/edgefer-runs/b064-72
HERE=benchmarks/results/b064-72-2026-12-07
done_epochs=$(wc -l < $R/history.jsonl)
if [ "$done_epochs" -lt 72 ]; then
  echo "$R: $done_epochs of 72 epochs done; run $HERE/run.sh to continue it" >&2
  exit 1
fi
cp $R/history.jsonl $HERE/train_history.jsonl
edgefer eval $R/best.pt --data ../shared/data/fer2013/fer2013.csv.gz --split PublicTest \
  --out $HERE/eval-checkpoint 2>&1 | tee $HERE/eval-checkpoint.log
python benchmarks/plateau.py
