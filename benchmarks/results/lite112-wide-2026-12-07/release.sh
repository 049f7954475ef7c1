#!/bin/bash
# After training: the measurements the release rule (README.md) decides on, nothing else running
# (export with the shipped bundle's flags, then detector crops on the validation slice).
exec "$(dirname "$0")/../../release_check.sh" /work/edgefer-runs/lite112-wide benchmarks/results/lite112-wide-2026-12-07 \
  fer2013-lite0-112-wide.edgefer
