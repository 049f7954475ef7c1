"""A kiosk: the camera, live emotions per person and a privacy mode, on a full-screen local page.

    python examples/kiosk/kiosk.py --source 0                        # USB camera, http://127.0.0.1:8080/
    python examples/kiosk/kiosk.py --source picam://0 --privacy blur # Raspberry Pi camera, faces blurred
    python examples/kiosk/kiosk.py --source csi://0 --privacy no-video --host 0.0.0.0  # counts only, on the LAN
    python examples/kiosk/kiosk.py --source demo.mp4 --loop          # a video, at its own pace, over and over

Then open the page full screen: `examples/kiosk/start-browser.sh` (Chromium in kiosk mode).
The page (kiosk.html) is served by edgefer's WebSink over its endpoints (/stream.mjpg,
/events, /healthz); it binds 127.0.0.1 unless --host says otherwise, and a page on the
network needs the access token printed at start. Privacy modes: ``blur`` blurs every face in
every frame before it leaves the pipeline (the page's stream and anything saved); ``no-video``
sends no frame at all, only counts and emotions. Nothing is stored on disk in any mode.
Stops on Ctrl-C or SIGTERM (systemd: deploy/edgefer-kiosk.service).
"""

import argparse
import os
import signal
import sys
import time

import edgefer
from edgefer.runtime.overlay import Overlay
from edgefer.runtime.privacy import MODES
from edgefer.runtime.sources import Source
from edgefer.runtime.web import WebSink

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kiosk.html")


class Paced(Source):
    """A video file played at its own frame rate, as a camera would deliver it (a file is
    otherwise read as fast as the pipeline goes), and from the start again with ``loop``."""

    def __init__(self, path, loop=False):
        Source.__init__(self, path, path)
        self.path, self.loop = path, loop
        self._src = edgefer.open_source(path)
        self.kind, self.fps = "file", self._src.fps or 30.0
        self._next = time.monotonic()
        self._index = 0

    def read(self):
        frame = self._src.read()
        if frame is None and self.loop:
            self._src.close()
            self._src = edgefer.open_source(self.path)
            frame = self._src.read()
        if frame is None:
            return None
        self._next += 1.0 / self.fps
        time.sleep(max(0.0, self._next - time.monotonic()))
        # one stream across loops: the frame count and the clock go on
        frame.index, frame.timestamp = self._index, self._index / self.fps
        self._index += 1
        return frame

    def close(self):
        self._src.close()
        Source.close(self)


def open_kiosk_source(spec, loop):
    if os.path.isfile(spec) and not spec.lower().endswith((".jpg", ".jpeg", ".png", ".bmp")):
        return Paced(spec, loop)
    return edgefer.open_source(int(spec) if spec.isdigit() else spec)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--source", default="0", help="camera number, csi://N, picam://N, rtsp://..., or a video file")
    ap.add_argument("--bundle", default="default", help="the model (default: the one shipped with edgefer)")
    ap.add_argument("--host", default="127.0.0.1", help="0.0.0.0: the page on every network interface (token needed)")
    ap.add_argument("--port", type=int, default=8080, help="0 picks a free port (printed)")
    ap.add_argument("--privacy", choices=MODES, default="off", help="blur: faces blurred; no-video: emotions only")
    ap.add_argument("--max-faces", type=int, default=6, help="at most this many people at once")
    ap.add_argument("--loop", action="store_true", help="play a video file over and over")
    args = ap.parse_args(argv)

    with open(PAGE, encoding="utf-8") as f:
        page = f.read()
    source = open_kiosk_source(args.source, args.loop)
    pipe = edgefer.Pipeline(bundle=args.bundle, max_faces=args.max_faces, privacy=args.privacy)
    web = WebSink(host=args.host, port=args.port, overlay=Overlay(landmarks=False), title="edgefer kiosk",
                  privacy=args.privacy, page=page)
    signal.signal(signal.SIGTERM, lambda *_: pipe.stop())  # systemd's stop: end like Ctrl-C
    print("kiosk at %s (privacy %s)" % (web.url, args.privacy), flush=True)
    try:
        with web:
            pipe.run(source, [web])
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
        pipe.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
