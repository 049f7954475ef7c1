#!/bin/bash
# After training: the measurements the release rule (README.md) decides on, nothing else running
# (export with the shipped bundle's flags, then detector crops on the validation slice).
exec "$(dirname "$0")/../../release_check.sh" /work/edgefer-runs/lite112-kd benchmarks/results/lite112-kd-2026-12-08 \
  fer2013-lite0-112-kd.edgefer
