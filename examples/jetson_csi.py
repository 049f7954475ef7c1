"""A Jetson CSI camera through nvarguscamerasrc (``csi://N``): faces and emotions as they
change, the classifier a TensorRT engine built on first use (cached in
~/.cache/edgefer/engines/), the annotated stream on a local web page.

    python examples/jetson_csi.py                          # sensor 0, 1280x720 at 30 fps -> http://127.0.0.1:8080/
    python examples/jetson_csi.py --sensor 1 --flip 2      # sensor 1, mounted upside down
    python examples/jetson_csi.py --width 1920 --height 1080 --output out.mp4

Needs JetPack's OpenCV (with GStreamer) and TensorRT, seen from a venv made with
--system-site-packages (docs/jetson.md). Ctrl-C stops it.
"""
import argparse
import logging
import sys

import edgefer

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--sensor", type=int, default=0, help="nvarguscamerasrc sensor-id")
ap.add_argument("--width", type=int, default=1280)
ap.add_argument("--height", type=int, default=720)
ap.add_argument("--fps", type=float, default=30.0)
ap.add_argument("--flip", type=int, default=0, help="nvvidconv flip-method (2: rotated 180 degrees)")
ap.add_argument("--output", default="web://127.0.0.1:8080", help="an output URI: web://HOST:PORT, out.mp4, out.jsonl, -")
ap.add_argument("--backend", default="auto", help="auto (TensorRT when it is there), tensorrt, onnxruntime-cuda, ...")
ap.add_argument("--bundle", default="default", help="default (shipped), ferplus, or a NAME.edgefer folder")
args = ap.parse_args()

logging.basicConfig(level=logging.INFO, format="%(message)s")  # the engine build and the page's URL
try:
    with edgefer.Pipeline(args.bundle, backend=args.backend) as pipe:
        print(pipe.describe(), flush=True)
        frames = pipe.stream("csi://%d" % args.sensor, sinks=[args.output], width=args.width, height=args.height,
                             fps=args.fps, flip_method=args.flip)
        for result in frames:
            for e in result.events:
                print("frame %d: face %d %s %s" % (result.index, e.track_id, e.kind, e.emotion), flush=True)
except KeyboardInterrupt:
    pass
except edgefer.EdgeferError as exc:  # no GStreamer in this OpenCV, no camera, ...: one line
    sys.exit("error: %s" % exc)
