"""The Raspberry Pi camera through picamera2 (``picam://N``): faces and emotions as they
change, and the annotated stream on a local web page.

    python examples/picamera.py                        # camera 0 -> http://127.0.0.1:8080/ on the Pi
    python examples/picamera.py 1 web://0.0.0.0:8080   # camera 1, page on the LAN (the URL with its token is logged)
    python examples/picamera.py 0 out.mp4              # record the annotated video instead

Needs picamera2 from apt and a venv made with --system-site-packages (docs/raspberry-pi.md).
Ctrl-C stops it.
"""
import logging
import sys

import edgefer

logging.basicConfig(level=logging.INFO, format="%(message)s")  # edgefer's lines: the page's URL
camera = sys.argv[1] if len(sys.argv) > 1 else "0"
output = sys.argv[2] if len(sys.argv) > 2 else "web://127.0.0.1:8080"
pipe = edgefer.Pipeline()  # the shipped model: INT8 on the Pi's CPU
try:
    for result in pipe.stream("picam://" + camera, sinks=[output], width=640, height=480, fps=30):
        for event in result.events:  # appeared / emotion_changed / lost
            print("frame %d: face %d %s %s" % (result.index, event.track_id, event.kind, event.emotion), flush=True)
except KeyboardInterrupt:
    pass
finally:
    pipe.close()
