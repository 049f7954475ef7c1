"""Frames per second of the whole pipeline with detection run ahead in a thread (the
default, ``Pipeline.stream(detect_ahead=2)``) and with the stages in turn (``detect_ahead=0``),
alternated on the same video, so the two are compared on the same machine state.

    python benchmarks/make_videos.py --frames 1200 --out ~/.cache/edgefer/bench-videos-1200
    python benchmarks/detect_ahead.py ~/.cache/edgefer/bench-videos-1200/one_face_640x360.avi --reps 3

The shipped model and the default detector, 1 ONNX Runtime thread per model; the first 6
frames of each pass are left out. Run it on a quiet machine.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edgefer.runtime.pipeline import Pipeline  # noqa: E402

WARMUP = 6


def fps(pipe, video, ahead):
    n, t0 = 0, None
    for _ in pipe.stream(video, detect_ahead=ahead):
        n += 1
        if n == WARMUP:
            t0 = time.perf_counter()
    return n - WARMUP, (n - WARMUP) / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--bundle", default="default")
    a = ap.parse_args()
    with Pipeline(a.bundle, threads=1) as pipe:
        for rep in range(a.reps):
            for ahead in (0, 2):
                n, f = fps(pipe, a.video, ahead)
                print("rep %d detect_ahead %d: %d frames, %.1f FPS" % (rep, ahead, n, f), flush=True)


if __name__ == "__main__":
    main()
