#!/bin/bash
# The release's measurements (README.md, "If the rule holds", steps 2 and 3), run after the
# candidate replaced edgefer/bundles/default.edgefer. Nothing else may run.
# Into ../default-2026-12-07/: the classifier and the one-face pipeline, the new default and
# the previous one (the bundle of PREVIOUS_COMMIT, default HEAD~1, unpacked into a temporary
# folder) alternated, twice; then the two framing targets on all of PublicTest.
set -euo pipefail
cd "$(dirname "$0")/../../.." && . .venv/bin/activate
OUT=benchmarks/results/default-2026-12-07 NEW=edgefer/bundles/default.edgefer
PREV=$(mktemp -d)/previous.edgefer
mkdir -p "$OUT" "$PREV"
git archive "${PREVIOUS_COMMIT:-HEAD~1}" edgefer/bundles/default.edgefer | tar -x -C "$PREV" --strip-components=3
VIDEOS=$(python benchmarks/make_videos.py | grep one_face_640x360.avi)
bench_both() {  # NAME BENCH-FLAGS...: the new and the previous bundle in turn, twice
  local name=$1; shift
  for i in 1 2; do
    edgefer bench "$NEW" "$@" --out "$OUT/$name-$i" 2>&1 | tee "$OUT/$name-$i.log"
    edgefer bench "$PREV" "$@" --out "$OUT/$name-previous-$i" 2>&1 | tee "$OUT/$name-previous-$i.log"
  done
}
bench_both bench-model --no-pytorch --threads 1 --runs 300 --warmup 20
bench_both bench-pipeline --pipeline --source "$VIDEOS" --detector blazeface --precision int8 --threads 1
python benchmarks/detector_framing.py --data ../shared/data/fer2013/fer2013.csv.gz --n 100 --bundle "$NEW" \
  --n-accuracy 3589 --out "$OUT" 2>&1 | tee "$OUT/framing.log"
python benchmarks/whole_image_accuracy.py --data ../shared/data/fer2013/fer2013.csv.gz --n 3589 --bundle "$NEW" \
  --out "$OUT" 2>&1 | tee "$OUT/whole.log"
