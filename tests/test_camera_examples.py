"""examples/picamera.py and examples/jetson_csi.py, the short loops for a Pi camera and a
Jetson CSI camera. Neither camera is here: picamera.py runs against a stand-in picamera2
module that serves a real photo (what the runtime asks picamera2 for is recorded and
checked), jetson_csi.py against this machine's pip OpenCV, which has no GStreamer, so it
must stop with edgefer's one-line reason."""

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from conftest import ROOT, SHARED, need_shared

cv2 = pytest.importorskip("cv2", reason="the runtime needs OpenCV (pip install 'edgefer[cpu]')")

PHOTO = os.path.join(SHARED, "data", "faces", "facerec_obama.jpg")  # the shipped model: happy 0.95

FAKE_PICAMERA2 = '''
"""Stand-in for picamera2 (tests/test_camera_examples.py): the calls edgefer's picam:// source
makes, answered with one photo letterboxed to the configured size, BGR like an RGB888 stream."""
import json, os, time
import numpy as np
import cv2


class Picamera2(object):
    def __init__(self, camera_num=0):
        self.camera_num = camera_num
        self.frame = None

    def create_video_configuration(self, main=None, controls=None, **kwargs):
        return {"main": dict(main or {}), "controls": dict(controls or {}), "other": sorted(kwargs)}

    def configure(self, config):
        self.config = config
        with open(os.environ["FAKE_PICAM_LOG"], "w") as f:
            json.dump({"camera_num": self.camera_num, "config": config}, f)

    def start(self):
        w, h = self.config["main"].get("size", (1280, 720))
        img = cv2.imread(os.environ["FAKE_PICAM_PHOTO"])
        s = min(w / float(img.shape[1]), h / float(img.shape[0]))
        img = cv2.resize(img, (int(img.shape[1] * s), int(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
        self.frame = np.full((h, w, 3), 60, np.uint8)
        y0, x0 = (h - img.shape[0]) // 2, (w - img.shape[1]) // 2
        self.frame[y0:y0 + img.shape[0], x0:x0 + img.shape[1]] = img

    def capture_array(self, name="main"):
        time.sleep(1 / 30.0)
        return self.frame.copy()

    def stop(self):
        pass

    def close(self):
        pass
'''


def _watchdog(proc, seconds):
    timer = threading.Timer(seconds, proc.kill)
    timer.daemon = True
    timer.start()
    return timer


def test_picamera_example_reads_picam_and_reports_the_face(tmp_path):
    fake = tmp_path / "fake"
    (fake / "picamera2").mkdir(parents=True)
    (fake / "picamera2" / "__init__.py").write_text(FAKE_PICAMERA2)
    log, out = tmp_path / "picam.json", tmp_path / "out.jsonl"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake), ROOT]), OMP_NUM_THREADS="1",
               FAKE_PICAM_LOG=str(log), FAKE_PICAM_PHOTO=need_shared(PHOTO))
    # A shell's background job (CI's, for one) inherits SIGINT ignored, and Python then never
    # raises KeyboardInterrupt: give the child the default disposition, as a terminal would.
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "examples", "picamera.py"), "0", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    timer = _watchdog(proc, 90)
    try:
        first = proc.stdout.readline()  # the first event: the face appears
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        rest, err = proc.communicate(timeout=60)
    finally:
        timer.cancel()
    assert proc.returncode == 0, err
    assert first.startswith("frame ") and first.strip().endswith("face 1 appeared happy"), (first, err)
    asked = json.loads(log.read_text())
    assert asked["camera_num"] == 0
    assert asked["config"]["main"] == {"format": "RGB888", "size": [640, 480]}, asked
    assert asked["config"]["controls"] == {"FrameDurationLimits": [33333, 33333]}, asked  # 30 fps
    records = [json.loads(line) for line in out.read_text().splitlines()]  # finalized after Ctrl-C
    assert records and all(r["width"] == 640 and r["height"] == 480 for r in records)
    assert records[0]["source"] == "Raspberry Pi camera 0 (picam://0)"
    assert [f["label"] for f in records[0]["faces"]] == ["happy"]


def test_jetson_csi_example_says_why_without_gstreamer():
    from edgefer.runtime.sources import opencv_has_gstreamer

    if opencv_has_gstreamer(cv2):
        pytest.skip("this OpenCV has GStreamer: csi:// would try a real camera")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "jetson_csi.py"), "--sensor", "1",
                        "--output", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       timeout=120, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode == 1, (p.stdout, p.stderr)
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("error: CSI camera 1 (csi://1) needs an OpenCV built with GStreamer"), p.stderr
    assert "Traceback" not in p.stderr
    assert "classifier" in p.stdout  # the pipeline was made (and described) before the camera was opened
