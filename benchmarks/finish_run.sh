#!/bin/bash
# After a long run's last epoch: its history into its results folder, PublicTest once (single
# crop, best.pt = the checkpoint of lowest validation loss), and the plateau table and curves
# made again (benchmarks/plateau.py, where the run has its line). Refuses an unfinished run.
#   benchmarks/finish_run.sh RUN_FOLDER RESULTS_FOLDER EPOCHS
# e.g. benchmarks/finish_run.sh /work/edgefer-runs/b064-72 benchmarks/results/b064-72-2026-12-07 72
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 RUN_FOLDER RESULTS_FOLDER EPOCHS" >&2
  exit 2
fi
R=$1 HERE=$2 EPOCHS=$3
cd "$(dirname "$0")/.." && . .venv/bin/activate
done_epochs=$(wc -l < "$R/history.jsonl")
if [ "$done_epochs" -lt "$EPOCHS" ]; then
  echo "$R: $done_epochs of $EPOCHS epochs done; run $HERE/run.sh to continue it" >&2
  exit 1
fi
cp "$R/history.jsonl" "$HERE/train_history.jsonl"
edgefer eval "$R/best.pt" --data ../shared/data/fer2013/fer2013.csv.gz --split PublicTest \
  --out "$HERE/eval-checkpoint" 2>&1 | tee "$HERE/eval-checkpoint.log"
python benchmarks/plateau.py
