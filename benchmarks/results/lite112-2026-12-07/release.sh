#!/bin/bash
# After benchmarks/finish_run.sh: the measurements the release rule (README.md) decides on.
# 1. The export with the shipped bundle's flags (docs/training.md, "Make the shipped model
#    again") into the run folder; its gate line gives the INT8 CPU b1 top-1 on the validation
#    slice. 2. INT8 CPU b1 latency, 1 thread, pinned to CPU 0, the shipped default and the
#    candidate in turn, twice (nothing else may run). Copying the candidate into
#    edgefer/bundles/ is a separate, deliberate step, taken only if the rule holds.
set -euo pipefail
cd "$(dirname "$0")/../../.." && . .venv/bin/activate
R=/work/edgefer-runs/lite112 HERE=benchmarks/results/lite112-2026-12-07
B=$R/fer2013-lite0-112.edgefer
if [ ! -d "$B" ]; then
  edgefer export "$R/best.pt" --int8 --targets cpu,tensorrt --batches 1,8 --budget 0.5 --gate-tries 5 \
    --keep int8 --name fer2013-lite0-112 --out "$B" 2>&1 | tee "$HERE/export.log"
fi
for i in 1 2; do
  for b in edgefer/bundles/default.edgefer "$B"; do
    edgefer bench "$b" --backend onnxruntime --precision int8 --threads 1 --cpus 0 --warmup 100 --runs 3000 \
      --no-pytorch --out "$HERE/latency/$(basename "$b" .edgefer)-$i"
  done
done
grep -h "^gate cpu" "$HERE/export.log"
