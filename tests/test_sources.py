"""Frame sources (edgefer.runtime.sources): files, images, folders on real photos; live sources
(camera, stream, GStreamer, csi, picam) through injected fake captures, since this machine has
no camera, no network and an OpenCV without GStreamer."""

import os
import sys
import threading
import time
import types

import numpy as np
import pytest

from conftest import SHARED, need_shared

cv2 = pytest.importorskip("cv2")

from edgefer.errors import EdgeferError, MissingDependencyError  # noqa: E402
from edgefer.runtime import sources  # noqa: E402
from edgefer.runtime.sources import SkippedImageWarning, Source, next_backoff, open_source, to_bgr  # noqa: E402
from edgefer.runtime.types import Frame  # noqa: E402

FACES = os.path.join(SHARED, "data", "faces")
SIZE = (160, 120)  # width, height of the test video


def _photos(n):
    need_shared(FACES)
    names = sorted(n for n in os.listdir(FACES) if n.lower().endswith((".jpg", ".png")))
    assert len(names) >= n, "need %d photos in %s" % (n, FACES)
    return [os.path.join(FACES, name) for name in names[:n]]


def _numbered_frames(n):
    """n different real photos resized to SIZE, each with its frame number drawn on it."""
    frames = []
    for i, path in enumerate(_photos(n)):
        img = cv2.resize(cv2.imread(path, cv2.IMREAD_COLOR), SIZE, interpolation=cv2.INTER_AREA)
        cv2.putText(img, str(i), (5, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 255, 255), 2)
        frames.append(img)
    return frames


def _write_video(path, frames, fourcc, fps=10.0):
    w = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps, SIZE)
    assert w.isOpened(), "this OpenCV cannot write %s with %s" % (path, fourcc)
    for f in frames:
        w.write(f)
    w.release()
    return path


def _nearest(image, frames):
    return int(np.argmin([np.abs(image.astype(np.int16) - f.astype(np.int16)).mean() for f in frames]))


@pytest.fixture(scope="module")
def written():
    return _numbered_frames(12)


@pytest.fixture(scope="module")
def video(tmp_path_factory, written):
    return _write_video(str(tmp_path_factory.mktemp("video") / "clip.avi"), written, "MJPG")


# ----------------------------------------------------------------------------------- video files

@pytest.mark.parametrize("ext,fourcc", [("avi", "MJPG"), ("mp4", "mp4v")])
def test_video_file_all_frames_in_order_then_none(tmp_path, written, ext, fourcc):
    path = _write_video(str(tmp_path / ("clip." + ext)), written, fourcc)
    src = open_source(path)
    assert (src.kind, src.live, src.fps, src.frame_size) == ("file", False, 10.0, SIZE)
    frames = []
    while True:
        f = src.read()
        if f is None:
            break
        frames.append(f)
    assert len(frames) == len(written)
    for i, f in enumerate(frames):
        assert isinstance(f, Frame) and f.index == i
        assert f.image.dtype == np.uint8 and f.image.shape == (SIZE[1], SIZE[0], 3) and f.image.flags.c_contiguous
        assert _nearest(f.image, written) == i  # the decoded frame is the i-th written photo
        assert f.timestamp == pytest.approx(i / 10.0, abs=1e-3)
    assert all(b.timestamp > a.timestamp for a, b in zip(frames, frames[1:]))
    assert src.read() is None and src.read() is None  # the end stays the end
    assert src.dropped == 0 and src.reconnects == 0
    src.close()
    src.close()


def test_video_file_iterator_and_context_manager(video, written):
    with open_source(video) as src:
        indices = [f.index for f in src]
        assert indices == list(range(len(written)))
        assert list(src) == []
    assert src.closed and src.read() is None


def test_video_file_close_midway(video):
    src = open_source(video)
    assert src.read().index == 0
    src.close()
    assert src.read() is None


def test_prefetch_keeps_every_frame_in_order(video, written):
    from edgefer.runtime.sources import PrefetchSource

    with open_source(video) as plain:
        expected = [(f.index, f.timestamp, f.image.copy()) for f in plain]
    src = PrefetchSource(open_source(video), depth=2)
    time.sleep(0.2)  # let the reader run ahead and block on the full queue
    got = []
    for f in src:
        time.sleep(0.01)  # a consumer slower than the decoder: still no drops
        got.append(f)
    assert [(f.index, f.timestamp) for f in got] == [(i, t) for i, t, _ in expected]
    assert all(np.array_equal(f.image, img) for f, (_, _, img) in zip(got, expected))
    assert src.read() is None and src.kind == "file" and src.dropped == 0
    src.close()
    # Closing early stops the reader thread; errors in it reach the reader.
    early = PrefetchSource(open_source(video), depth=2)
    assert early.read().index == 0
    early.close()
    assert not early._thread.is_alive() and early.read() is None

    class Broken(Source):
        kind = "file"

        def read(self):
            raise EdgeferError("decoder exploded")

    bad = PrefetchSource(Broken("x", "broken"), depth=2)
    with pytest.raises(EdgeferError, match="decoder exploded"):
        bad.read()
    bad.close()


def test_pathlike_and_file_uri(video):
    import pathlib
    with open_source(pathlib.Path(video)) as src:
        assert src.read().index == 0
    with open_source("file://" + os.path.abspath(video)) as src:
        assert src.kind == "file" and src.read().index == 0


def test_missing_path_and_bad_files(tmp_path):
    missing = str(tmp_path / "nope.mp4")
    with pytest.raises(EdgeferError, match="source %s does not exist" % missing):
        open_source(missing)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(EdgeferError, match="video file .*junk.mp4 cannot be opened"):
        open_source(str(junk))
    bad_image = tmp_path / "broken.jpg"
    bad_image.write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(EdgeferError, match="image .*broken.jpg cannot be read"):
        open_source(str(bad_image))
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    with pytest.raises(EdgeferError, match="holds no images"):
        open_source(str(empty))
    with pytest.raises(EdgeferError, match="unknown scheme 'ftp://'"):
        open_source("ftp://example.com/clip.mp4")
    with pytest.raises(EdgeferError, match="fourcc"):
        open_source(0, fourcc="MJPEG")
    with pytest.raises(EdgeferError, match="width must be a positive number"):
        open_source(0, width=-5)


# ----------------------------------------------------------------------------------- images

def test_single_image_gives_one_frame():
    path = _photos(1)[0]
    src = open_source(path)
    expected = cv2.imread(path, cv2.IMREAD_COLOR)
    assert src.kind == "image" and not src.live
    assert src.frame_size == (expected.shape[1], expected.shape[0])
    f = src.read()
    assert f.index == 0 and f.timestamp == 0.0 and np.array_equal(f.image, expected)
    assert src.read() is None and src.read() is None


def test_folder_in_natural_order_skipping_unreadable(tmp_path):
    photos = _photos(4)
    folder = tmp_path / "imgs"
    folder.mkdir()
    names = ["img1.jpg", "img2.png", "img10.jpg", "img3.jpg"]  # natural order: 1, 2, 3, 10
    for name, photo in zip(names, photos):
        img = cv2.imread(photo, cv2.IMREAD_COLOR)
        if name.endswith(".png"):  # a gray PNG and a BGRA one further down
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        cv2.imwrite(str(folder / name), img)
    bgra = np.dstack([np.full((40, 50, 3), (10, 20, 30), np.uint8), np.full((40, 50), 77, np.uint8)])
    cv2.imwrite(str(folder / "img11.png"), bgra)
    (folder / "img4.jpg").write_bytes(b"\xff\xd8\xff this is not a jpeg")
    (folder / "img5.jpg").write_bytes(b"")
    (folder / "readme.txt").write_text("ignored")
    (folder / ".hidden.jpg").write_bytes(b"ignored")
    (folder / "sub").mkdir()

    src = open_source(str(folder), fps=5)
    assert src.kind == "folder" and not src.live
    with pytest.warns(SkippedImageWarning) as record:
        frames = list(src)
    order = ["img1.jpg", "img2.png", "img3.jpg", "img10.jpg", "img11.png"]
    assert [f.index for f in frames] == list(range(5))
    assert [f.timestamp for f in frames] == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])
    for f, name in zip(frames, order):
        assert f.image.dtype == np.uint8 and f.image.ndim == 3 and f.image.shape[2] == 3
        assert np.array_equal(f.image, cv2.imread(str(folder / name), cv2.IMREAD_COLOR)), name
    assert np.array_equal(frames[1].image[..., 0], frames[1].image[..., 2])  # gray -> 3 equal channels
    assert tuple(frames[4].image[0, 0]) == (10, 20, 30)  # BGRA -> BGR, alpha dropped
    assert [os.path.basename(p) for p in src.skipped] == ["img4.jpg", "img5.jpg"]
    assert sorted(str(w.message).split(":")[0] for w in record) == ["skipping %s" % (folder / "img4.jpg"),
                                                                     "skipping %s" % (folder / "img5.jpg")]
    assert src.last_path.endswith("img11.png")
    assert src.read() is None


def test_to_bgr_conversions():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for g in (gray, gray[:, :, None]):
        out = to_bgr(g)
        assert out.shape == (3, 4, 3) and all(np.array_equal(out[..., c], gray) for c in range(3))
    bgra = np.random.RandomState(0).randint(0, 256, (3, 4, 4)).astype(np.uint8)
    out = to_bgr(bgra)
    assert out.shape == (3, 4, 3) and out.flags.c_contiguous and np.array_equal(out, bgra[..., :3])
    assert to_bgr(np.full((2, 2, 3), 65535, np.uint16)).max() == 255
    with pytest.raises(ValueError):
        to_bgr(np.zeros((2, 2, 2), np.uint8))


# ------------------------------------------------------------------------------- fake captures

class FakeCapture(object):
    """An OpenCV-like capture: frames carry (generation, n) in pixel (0, 0); fails after
    ``fail_after`` reads; ``period`` seconds per read; ``channels`` 1 (2-D gray), 3 or 4."""

    def __init__(self, generation=0, opened=True, fail_after=None, period=0.002, channels=3, size=(32, 24),
                 log=None):
        self.generation, self.opened, self.fail_after, self.period = generation, opened, fail_after, period
        self.channels, self.size, self.log = channels, size, log
        self.n = 0
        self.released = False
        self.props = {}

    def isOpened(self):
        return self.opened

    def set(self, prop, value):
        self.props[prop] = value
        return True

    def get(self, prop):
        return self.props.get(prop, 0.0)

    def read(self):
        time.sleep(self.period)
        if self.fail_after is not None and self.n >= self.fail_after:
            if self.log is not None:
                self.log.append(("fail", time.monotonic()))
            return False, None
        w, h = self.size
        img = np.zeros((h, w, self.channels), np.uint8)
        img[0, 0, 0] = self.generation
        if self.channels > 1:
            img[0, 0, 1] = self.n % 256
        self.n += 1
        return True, (img[:, :, 0] if self.channels == 1 else img)

    def release(self):
        self.released = True


def test_backoff_doubles_to_the_maximum():
    d, seq = 0.5, []
    for _ in range(7):
        seq.append(d)
        d = next_backoff(d, 8.0)
    assert seq == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_camera_reconnects_with_backoff_and_frames_continue():
    log, caps = [], []

    def factory(target, api):
        log.append(("open", time.monotonic()))
        n = len(caps)
        # 1st: works for 5 frames then drops; 2nd, 3rd, 4th: device absent; 5th: works again
        cap = FakeCapture(generation=n, opened=n in (0, 4), fail_after=5 if n == 0 else None, log=log)
        caps.append(cap)
        return cap

    src = open_source(0, width=640, height=480, fps=30, fourcc="MJPG", capture_factory=factory,
                      reconnect_delay=0.02, reconnect_max_delay=0.05, timeout=5)
    assert src.live and src.kind == "camera" and src.name.startswith("camera 0")
    assert caps[0].props[cv2.CAP_PROP_FRAME_WIDTH] == 640 and caps[0].props[cv2.CAP_PROP_FRAME_HEIGHT] == 480
    assert caps[0].props[cv2.CAP_PROP_FPS] == 30
    assert caps[0].props[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"MJPG")
    assert src.fps == 30.0 and src.frame_size == (32, 24)
    seen = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5:
        f = src.read()
        assert f is not None
        seen.append((f.index, int(f.image[0, 0, 0])))
        if f.image[0, 0, 0] == 4 and len([s for s in seen if s[1] == 4]) >= 3:
            break
    src.close()
    generations = [g for _, g in seen]
    assert generations[0] == 0 and generations[-1] == 4 and set(generations) <= {0, 4}
    assert generations == sorted(generations)  # frames from before the drop, then after
    indices = [i for i, _ in seen]
    assert indices == sorted(set(indices))  # strictly increasing across the reconnect
    assert src.reconnects == 1
    assert caps[0].released and caps[4].released and all(c.released for c in caps[1:4])
    # back-off: drop -> 0.02 s -> open (absent) -> 0.04 s -> open (absent) -> 0.05 s (max) -> ...
    fail_t = [t for k, t in log if k == "fail"][0]
    opens = [t for k, t in log if k == "open"][1:]
    assert len(opens) == 4
    gaps = [opens[0] - fail_t] + [b - a for a, b in zip(opens, opens[1:])]
    assert gaps[0] >= 0.02 and gaps[1] >= 0.04 and gaps[2] >= 0.05 and gaps[3] >= 0.05, gaps
    assert max(gaps) < 1.0, gaps


def test_no_reconnect_ends_the_run():
    caps = []

    def factory(target, api):
        caps.append(FakeCapture(fail_after=3))
        return caps[-1]

    src = open_source("/dev/video2", capture_factory=factory, reconnect=False)
    assert src.name == "camera 2 (/dev/video2)"
    frames = []
    while True:
        f = src.read()
        if f is None:
            break
        frames.append(f)
    assert 1 <= len(frames) <= 3 and frames[-1].index == 2  # the newest frame is never lost
    assert len(caps) == 1 and caps[0].released and src.reconnects == 0
    src.close()


def test_timeout_while_the_camera_stays_away():
    caps = []

    def factory(target, api):
        caps.append(FakeCapture(opened=not caps, fail_after=2))
        return caps[-1]

    src = open_source(1, capture_factory=factory, reconnect_delay=0.01, reconnect_max_delay=0.02, timeout=0.3)
    assert src.read().index in (0, 1)
    t0 = time.monotonic()
    with pytest.raises(EdgeferError, match=r"no frame from camera 1 .*for 0.3 s \(reconnecting"):
        while True:
            src.read()
    assert time.monotonic() - t0 < 2.0
    assert len(caps) > 3  # it kept trying
    src.close()


def test_latest_frame_only_with_a_slow_consumer():
    cap = FakeCapture(period=0.002)
    src = open_source("0", capture_factory=lambda t, a: cap)
    indices = []
    for _ in range(8):
        f = src.read()
        assert time.time() - f.timestamp < 0.5  # a fresh frame, not a queued old one
        indices.append(f.index)
        time.sleep(0.03)
    dropped_at_end = src.dropped
    src.close()
    assert all(b > a for a, b in zip(indices, indices[1:]))
    gaps = [b - a for a, b in zip(indices, indices[1:])]
    assert max(gaps) > 1
    assert dropped_at_end >= indices[0] + sum(g - 1 for g in gaps) > 0
    assert not src._thread.is_alive() and cap.released


def test_live_frames_gray_and_bgra_become_bgr():
    for channels in (1, 4):
        with open_source(0, capture_factory=lambda t, a: FakeCapture(generation=7, channels=channels)) as src:
            img = src.read().image
            assert img.shape == (24, 32, 3) and img.dtype == np.uint8 and img.flags.c_contiguous
            assert img[0, 0, 0] == 7 and img[0, 0, 2] == (7 if channels == 1 else 0)


class BlockingCapture(FakeCapture):
    """Gives one frame, then blocks in read() until released by the test."""

    def __init__(self):
        FakeCapture.__init__(self)
        self.unblock = threading.Event()

    def read(self):
        if self.n >= 1:
            self.unblock.wait(10)
            return False, None
        return FakeCapture.read(self)


def test_close_from_another_thread_unblocks_read(monkeypatch):
    cap = BlockingCapture()
    src = open_source(0, capture_factory=lambda t, a: cap, reconnect=False)
    monkeypatch.setattr(src, "join_timeout", 0.1)
    assert src.read().index == 0
    closer = threading.Timer(0.2, src.close)
    closer.start()
    t0 = time.monotonic()
    assert src.read() is None
    assert 0.15 < time.monotonic() - t0 < 1.5
    closer.join()
    assert not cap.released  # still inside the blocked read: the thread releases it afterwards
    cap.unblock.set()
    src._thread.join(2)
    assert not src._thread.is_alive() and cap.released
    src.close()  # twice is fine


def test_close_is_prompt():
    cap = FakeCapture(period=0.01)
    src = open_source(0, capture_factory=lambda t, a: cap)
    src.read()
    t0 = time.monotonic()
    src.close()
    assert time.monotonic() - t0 < 1.0 and not src._thread.is_alive() and cap.released
    assert src.read() is None and list(src) == []


def test_camera_that_cannot_be_opened():
    with pytest.raises(EdgeferError, match=r"^camera 3 \(/dev/video3\) cannot be opened: "):
        open_source(3, capture_factory=lambda t, a: FakeCapture(opened=False))
    with pytest.raises(EdgeferError, match=r"camera 3 \(/dev/video3\) opened but gave no frame"):
        open_source(3, capture_factory=lambda t, a: FakeCapture(fail_after=0))
    if sys.platform.startswith("linux") and not os.path.exists("/dev/video97"):
        # the real OpenCV V4L2 backend on an absent device
        with pytest.raises(EdgeferError, match=r"camera 97 \(/dev/video97\) cannot be opened: no such device"):
            open_source(97)


# ------------------------------------------------------------------------ stream, gst, csi, picam

class FlakyFileCapture(object):
    """A real cv2.VideoCapture of a local file standing in for a network stream; fails after
    ``fail_after`` frames (a dropped connection)."""

    def __init__(self, path, fail_after=None):
        self.cap = cv2.VideoCapture(path)
        self.fail_after, self.n = fail_after, 0

    def isOpened(self):
        return self.cap.isOpened()

    def get(self, prop):
        return self.cap.get(prop)

    def set(self, prop, value):
        return self.cap.set(prop, value)

    def read(self):
        time.sleep(0.005)
        if self.fail_after is not None and self.n >= self.fail_after:
            return False, None
        self.n += 1
        return self.cap.read()

    def release(self):
        self.cap.release()


def test_stream_reconnects_through_the_factory(video, written):
    calls = []

    def factory(target, api):
        calls.append((target, api))
        return FlakyFileCapture(video, fail_after=4 if len(calls) == 1 else None)

    src = open_source("rtsp://camera.local:554/live", capture_factory=factory, reconnect_delay=0.01, timeout=5)
    assert src.kind == "stream" and src.live and src.fps == 10.0
    assert calls[0] == ("rtsp://camera.local:554/live", cv2.CAP_FFMPEG)
    got = []
    deadline = time.monotonic() + 10
    while src.reconnects == 0 or len(got) < 3 or got[-1][0] < 6:
        assert time.monotonic() < deadline, got
        f = src.read()
        got.append((f.index, _nearest(f.image, written)))
    src.close()
    assert src.reconnects >= 1 and len(calls) >= 2 and all(c == calls[0] for c in calls)
    indices = [i for i, _ in got]
    assert indices == sorted(set(indices))
    # before the drop: the first 4 video frames in order; after it the stream starts over
    contents = [c for _, c in got]
    assert contents[0] == 0 and all(c < 4 for c in contents[:2])
    assert any(b < a for a, b in zip(contents, contents[1:])), contents  # restarted after reconnecting


def test_gstreamer_pipelines_go_to_the_gstreamer_backend():
    calls = []

    def factory(target, api):
        calls.append((target, api))
        return FakeCapture()

    with open_source("videotestsrc ! videoconvert ! appsink", capture_factory=factory) as src:
        assert src.kind == "gstreamer" and src.read() is not None
    with open_source("gst:v4l2src device=/dev/video0", capture_factory=factory) as src:
        assert src.read() is not None
    with open_source("csi://1", width=640, height=480, fps=15, flip_method=2, capture_factory=factory) as src:
        assert src.kind == "csi" and src.name == "CSI camera 1 (csi://1)" and src.fps == 15.0
    assert calls[0] == ("videotestsrc ! videoconvert ! appsink", cv2.CAP_GSTREAMER)
    assert calls[1] == ("v4l2src device=/dev/video0 ! videoconvert ! video/x-raw,format=BGR ! appsink drop=1 "
                        "max-buffers=1", cv2.CAP_GSTREAMER)
    assert calls[2] == ("nvarguscamerasrc sensor-id=1 ! video/x-raw(memory:NVMM),width=640,height=480,"
                        "framerate=15/1 ! nvvidconv flip-method=2 ! video/x-raw,format=BGRx ! videoconvert ! "
                        "video/x-raw,format=BGR ! appsink drop=1 max-buffers=1", cv2.CAP_GSTREAMER)


def test_csi_without_gstreamer_says_so(monkeypatch):
    if sources.opencv_has_gstreamer(cv2):  # this machine's OpenCV has none; elsewhere pretend
        monkeypatch.setattr(sources, "opencv_has_gstreamer", lambda cv2=None: False)
    for uri in ("csi://0", "gst:videotestsrc ! appsink"):
        with pytest.raises(EdgeferError, match="needs an OpenCV built with GStreamer.*sudo apt install "
                                               "python3-opencv.*not pip's opencv wheels"):
            open_source(uri)
    with pytest.raises(EdgeferError, match="csi://N with a camera number"):
        open_source("csi://left")


def _fake_picamera2(fail_after=None):
    mod = types.ModuleType("picamera2")
    mod.instances = []

    class Picamera2(object):
        def __init__(self, camera_num=0):
            self.camera_num, self.config, self.calls, self.n = camera_num, None, [], 0
            mod.instances.append(self)

        def create_video_configuration(self, main=None, controls=None):
            return {"main": dict(main), "controls": controls}

        def configure(self, config):
            self.config = config
            self.calls.append("configure")

        def start(self):
            self.calls.append("start")

        def capture_array(self, name="main"):
            time.sleep(0.002)
            if fail_after is not None and len(mod.instances) == 1 and self.n >= fail_after:
                raise RuntimeError("camera frontend has timed out")
            self.n += 1
            w, h = self.config["main"].get("size", (64, 48))
            img = np.empty((h, w, 3), np.uint8)
            img[:] = (10, 20, 30)  # RGB888 is [B, G, R] in memory: must come through unchanged
            return img

        def stop(self):
            self.calls.append("stop")

        def close(self):
            self.calls.append("close")

    mod.Picamera2 = Picamera2
    return mod


def test_picam_frames_with_the_requested_size(monkeypatch):
    mod = _fake_picamera2()
    monkeypatch.setitem(sys.modules, "picamera2", mod)
    with open_source("picam://1", width=320, height=240, fps=20) as src:
        assert src.kind == "picam" and src.live and src.fps == 20
        frames = [src.read() for _ in range(3)]
    (cam,) = mod.instances
    assert cam.camera_num == 1
    assert cam.config["main"] == {"format": "RGB888", "size": (320, 240)}
    assert cam.config["controls"] == {"FrameDurationLimits": (50000, 50000)}
    assert cam.calls[:2] == ["configure", "start"] and cam.calls[-2:] == ["stop", "close"]
    assert [f.index for f in frames] == sorted(set(f.index for f in frames))
    for f in frames:
        assert f.image.shape == (240, 320, 3) and tuple(f.image[5, 5]) == (10, 20, 30)


def test_picam_reconnects(monkeypatch):
    mod = _fake_picamera2(fail_after=3)
    monkeypatch.setitem(sys.modules, "picamera2", mod)
    with open_source("picam://0", reconnect_delay=0.01, timeout=5) as src:
        while src.reconnects == 0:
            assert src.read() is not None
        assert src.read() is not None
    assert len(mod.instances) == 2 and mod.instances[0].calls[-2:] == ["stop", "close"]


def test_picam_missing_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import picamera2 -> ImportError
    with pytest.raises(MissingDependencyError, match="sudo apt install python3-picamera2.*--system-site-packages"):
        open_source("picam://0")


def test_passing_a_source_returns_it(video):
    with open_source(video) as src:
        assert open_source(src) is src


def test_no_threads_left_behind():
    before = {t for t in threading.enumerate() if t.name.startswith("edgefer-source")}
    with open_source(0, capture_factory=lambda t, a: FakeCapture()) as src:
        src.read()
    time.sleep(0.05)
    after = {t for t in threading.enumerate() if t.name.startswith("edgefer-source") and t.is_alive()}
    assert after <= before



# -- streams that never answer, files that end early (issue 12, class 8) -----------------------


def test_a_stream_that_never_answers_times_out_and_releases_what_it_opens_later():
    caps = []

    def slow_factory(target, api):  # OpenCV's FFmpeg open, blocked on a peer that never answers
        time.sleep(1.5)
        caps.append(FakeCapture())
        return caps[-1]

    t = time.monotonic()
    with pytest.raises(EdgeferError) as e:
        open_source("rtsp://10.255.255.1/stream", capture_factory=slow_factory, open_timeout=0.3)
    assert time.monotonic() - t < 1.0
    assert str(e.value).startswith("stream rtsp://10.255.255.1/stream did not start within 0.3 s") \
        and "--open-timeout" in str(e.value)
    time.sleep(1.6)
    assert len(caps) == 1 and caps[0].released  # the abandoned open let go of its capture
    with pytest.raises(EdgeferError, match="open_timeout"):
        open_source("rtsp://x/y", open_timeout=0)


def test_ctrl_c_is_prompt_while_a_stream_opens():
    import _thread
    import signal

    # a background job inherits SIGINT ignored, and interrupt_main then does nothing: give the
    # test the terminal's disposition while it runs
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Timer(0.3, _thread.interrupt_main).start()
        t = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            open_source("rtsp://10.255.255.1/stream", capture_factory=lambda t, a: time.sleep(5) or FakeCapture(),
                        open_timeout=None)
        assert time.monotonic() - t < 1.0
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_truncated_video_file_warns_with_frames_read_against_declared(tmp_path, caplog):
    path = str(tmp_path / "cut.avi")
    _write_video(path, (_numbered_frames(20) * 5)[:100], "MJPG")
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) // 2])
    with open_source(path) as src:
        n = sum(1 for _ in src)
    assert 0 < n < 100
    warned = [r.getMessage() for r in caplog.records if r.name == "edgefer.runtime.sources"]
    assert warned == ["video file %s ended after %d of the 100 frames its header declares (truncated or damaged?)"
                      % (path, n)]
    caplog.clear()
    whole = str(tmp_path / "whole.avi")
    _write_video(whole, _numbered_frames(20), "MJPG")
    with open_source(whole) as src:
        assert sum(1 for _ in src) == 20
    assert not [r for r in caplog.records if r.name == "edgefer.runtime.sources"]
