#!/bin/bash
# After a default candidate's run (and benchmarks/finish_run.sh): the measurements its release
# rule (its README) decides on, nothing else running. Used by the results folders' release.sh.
# 1. The export with the shipped bundle's flags (as results/lite112-2026-12-07/release.sh) into
#    the run folder; its gate line gives the INT8 CPU b1 top-1 on the validation slice.
# 2. benchmarks/framing_choice.py on the candidate: its detector-crop accuracy on the
#    validation slice, pasted and whole, for every framing of the grid (the rule reads the
#    shipped framing's row: margin 0, shift 0, no alignment).
# Copying the candidate into edgefer/bundles/ is a separate, deliberate step, taken only if the
# rule holds.
#   benchmarks/release_check.sh RUN_FOLDER RESULTS_FOLDER BUNDLE_FOLDER_NAME
# e.g. benchmarks/release_check.sh /work/edgefer-runs/lite112-kd benchmarks/results/lite112-kd-2026-12-08 \
#        fer2013-lite0-112-kd.edgefer
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 RUN_FOLDER RESULTS_FOLDER BUNDLE_FOLDER_NAME" >&2
  exit 2
fi
R=$1 HERE=$2 B=$1/$3
cd "$(dirname "$0")/.." && . .venv/bin/activate
cp "$R/history.jsonl" "$HERE/train_history.jsonl"
if [ ! -d "$B" ]; then
  edgefer export "$R/best.pt" --int8 --targets cpu,tensorrt --batches 1,8 --budget 0.5 --gate-tries 5 \
    --keep int8 --name fer2013-lite0-112 --out "$B" 2>&1 | tee "$HERE/export.log"
fi
python benchmarks/framing_choice.py --data ../shared/data/fer2013/fer2013.csv.gz --bundle "$B" \
  --out "$HERE/framing" 2>&1 | tee "$HERE/framing.log"
grep -h "^gate cpu" "$HERE/export.log"
