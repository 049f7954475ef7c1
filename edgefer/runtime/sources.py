"""Frame sources: one interface for cameras, streams, pipelines, video files, images and folders.

``open_source(uri, ...)`` returns a :class:`Source`. ``read()`` gives the next
:class:`~edgefer.runtime.types.Frame` (``uint8`` BGR ``HxWx3``; gray and BGRA input is converted)
or ``None`` at the end of the stream; a source is also an iterator of frames and a context
manager, and ``close()`` may be called any number of times, from any thread.

URI forms (``uri`` may also be an ``int`` or a path object)::

    0, "0", "/dev/video0", "v4l2:///dev/video0"   USB / V4L2 camera (OpenCV, CAP_V4L2 on Linux)
    "rtsp://...", "rtsps://", "rtmp://", "http(s)://..."   network stream (OpenCV + FFmpeg)
    "gst:PIPELINE", or any string holding " ! "    GStreamer pipeline (OpenCV built with GStreamer)
    "csi://0"                                      Jetson CSI camera (nvarguscamerasrc, GStreamer)
    "picam://0"                                    Raspberry Pi camera through picamera2
    "clip.mp4", "file:///abs/clip.mp4"             video file
    "photo.jpg"                                    one image: one frame
    "folder/"                                      the images in a folder, in natural name order
    ["a.jpg", "b.png", ...]                        a list of images, in the order given

Images, folders and lists are *stills* (``STILLS``): unrelated photos, which the pipeline
classifies one by one without carrying tracks over (see ``Pipeline.stream``). The
``Frame.source`` of a file, image, folder or list frame is the path of the file it came
from; that of a live frame is the source's name.

Live sources (cameras, streams, pipelines, csi, picam) run a reader thread that keeps only the
newest frame: ``read()`` returns a frame newer than the last one it returned, so latency never
grows; frames overwritten before anyone read them are counted in ``dropped``. A camera or stream
that stops delivering is reopened with exponential back-off (``reconnect_delay`` doubling up to
``reconnect_max_delay``) while ``read()`` keeps waiting; ``reconnects`` counts the recoveries.
Their ``Frame.timestamp`` is ``time.time()`` at capture. Files, images and folders are read in
the caller's thread, in order, without drops; their timestamp is the position in seconds.

Reconnects and the like are logged on the ``edgefer.runtime.sources`` logger. Images in a folder
that cannot be decoded are skipped with a :class:`SkippedImageWarning` (``warnings``) and listed
in ``Source.skipped``.
"""

import logging
import math
import os
import re
import sys
import threading
import time
import warnings

import numpy as np

from .. import deps
from ..errors import EdgeferError, require
from .types import Frame, to_bgr  # noqa: F401  (to_bgr: also for ``sources.to_bgr``)

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".webp", ".tif", ".tiff", ".pgm", ".ppm",
                    ".pbm", ".pnm", ".jp2", ".sr", ".ras")
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https")
STILLS = ("image", "folder", "list")  # source kinds whose frames are unrelated photos

PICAMERA2_HINT = ("on Raspberry Pi OS: sudo apt install python3-picamera2, and create the venv with "
                  "--system-site-packages so that it sees the system's picamera2")
GSTREAMER_HINT = ("on a Jetson use JetPack's OpenCV (sudo apt install python3-opencv; a venv needs "
                  "--system-site-packages) and not pip's opencv wheels (pip uninstall opencv-python "
                  "opencv-python-headless)")

DEFAULT_CSI_SIZE = (1280, 720)
DEFAULT_CSI_FPS = 30
# Seconds a live source may take to open and give its first frame (a CSI camera's Argus
# daemon takes a few; FFmpeg's own limit for a peer that never answers is ~30 s).
DEFAULT_OPEN_TIMEOUT = 20.0


class SkippedImageWarning(UserWarning):
    """An image in a source folder could not be decoded and was skipped."""


class _OpenFailed(Exception):
    """An opener could not open its device; the message is the reason."""


# --------------------------------------------------------------------------------------- helpers

def next_backoff(delay, max_delay):
    """The back-off delay after ``delay``: doubled, at most ``max_delay``."""
    return min(delay * 2.0, max_delay)


def opencv_has_gstreamer(cv2=None):
    """Whether this OpenCV was built with GStreamer (from ``cv2.getBuildInformation()``)."""
    cv2 = cv2 or deps.cv2("GStreamer sources")
    m = re.search(r"GStreamer:\s*(\S+)", cv2.getBuildInformation())
    return bool(m) and m.group(1).upper() != "NO"


def csi_pipeline(sensor_id=0, width=None, height=None, fps=None, flip_method=0):
    """The GStreamer pipeline of a Jetson CSI camera (``nvarguscamerasrc``), ending in a BGR appsink
    that keeps only the newest buffer. Defaults: 1280x720 at 30 fps."""
    w, h = int(width or DEFAULT_CSI_SIZE[0]), int(height or DEFAULT_CSI_SIZE[1])
    f = int(round(fps or DEFAULT_CSI_FPS))
    return ("nvarguscamerasrc sensor-id=%d ! video/x-raw(memory:NVMM),width=%d,height=%d,framerate=%d/1 ! "
            "nvvidconv flip-method=%d ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! "
            "appsink drop=1 max-buffers=1" % (int(sensor_id), w, h, f, int(flip_method)))


def _default_capture_factory(target, api):
    return deps.cv2("video capture").VideoCapture(target, api)


def _natural_key(name):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.lower()) for t in re.split(r"(\d+)", name)]


def _release(obj):
    try:
        obj.release()
    except Exception:  # noqa: BLE001 - releasing a broken capture must not mask the real error
        log.debug("release failed", exc_info=True)


def _reason(exc):
    text = str(exc).strip().splitlines()
    return "%s: %s" % (type(exc).__name__, text[0]) if text else type(exc).__name__


def _positive(name, value, allow_none=True):
    if value is None and allow_none:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (v > 0 and math.isfinite(v)):
        raise EdgeferError("%s must be a positive number, got %r" % (name, value))
    return v


# ---------------------------------------------------------------------------------------- Source

class Source(object):
    """A stream of :class:`Frame`. ``read()`` -> Frame or None (end); iterate it; ``close()`` it.

    Attributes: ``uri`` (as given), ``name`` (human-readable, used in messages), ``kind``
    (``camera``, ``stream``, ``gstreamer``, ``csi``, ``picam``, ``file``, ``image``, ``folder``),
    ``live``, ``fps`` (nominal, may be None), ``frame_size`` ((width, height) once known),
    ``dropped``, ``reconnects``, ``closed``."""

    kind = "source"
    live = False

    def __init__(self, uri, name):
        self.uri = uri
        self.name = name
        self.fps = None
        self.frame_size = None
        self.dropped = 0
        self.reconnects = 0
        self.closed = False

    def read(self):
        raise NotImplementedError

    def close(self):
        self.closed = True

    def __iter__(self):
        return self

    def __next__(self):
        frame = self.read()
        if frame is None:
            raise StopIteration
        return frame

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return "<%s %s%s>" % (type(self).__name__, self.name, " closed" if self.closed else "")


class VideoFileSource(Source):
    """A video file read in order in the caller's thread. Timestamps come from the decoder's
    position (``CAP_PROP_POS_MSEC``), else ``index / fps``; they always increase."""

    kind = "file"

    def __init__(self, uri, path, fps=None, capture_factory=None):
        Source.__init__(self, uri, "video file %s" % path)
        self.path = path
        cv2 = self._cv2 = deps.cv2("reading video files")
        factory = capture_factory or _default_capture_factory
        try:
            cap = factory(path, cv2.CAP_ANY)
        except Exception as exc:  # noqa: BLE001
            raise EdgeferError("video file %s cannot be opened: %s" % (path, _reason(exc))) from None
        if cap is None or not cap.isOpened():
            if cap is not None:
                _release(cap)
            raise EdgeferError("video file %s cannot be opened (not a video, or no OpenCV backend here decodes it)"
                               % path)
        self._cap = cap
        file_fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(file_fps) if file_fps and 0 < file_fps < 1000 else fps
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        self.frame_size = (w, h) if w > 0 and h > 0 else None
        declared = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.declared_frames = int(declared) if declared and 0 < declared < 1e9 else None
        self._index = 0
        self._last_ts = None

    def read(self):
        if self.closed or self._cap is None:
            return None
        try:
            ok, image = self._cap.read()
        except Exception as exc:  # noqa: BLE001 - a decoder error mid-file ends the run
            log.warning("%s: read failed at frame %d (%s); treating it as the end", self.name, self._index,
                        _reason(exc))
            ok, image = False, None
        if not ok or image is None or image.size == 0:
            self._warn_if_short()
            self._end()
            return None
        image = to_bgr(image)
        frame = Frame(image, self._index, self._timestamp(), self.path)
        self.frame_size = (image.shape[1], image.shape[0])
        self._index += 1
        return frame

    def _warn_if_short(self):
        """A file that ends well before the frame count its header declares is truncated or
        damaged: say so instead of ending as if it were complete (a count off by a frame or
        two is the container's estimate, not damage)."""
        if self._cap is not None and self.declared_frames and self._index < self.declared_frames - 2:
            log.warning("%s ended after %d of the %d frames its header declares (truncated or damaged?)",
                        self.name, self._index, self.declared_frames)

    def _timestamp(self):
        ts = None
        try:
            pos = float(self._cap.get(self._cv2.CAP_PROP_POS_MSEC)) / 1000.0
        except Exception:  # noqa: BLE001
            pos = float("nan")
        if math.isfinite(pos) and pos >= 0 and (self._last_ts is None or pos > self._last_ts):
            ts = pos
        if ts is None:
            ts = self._index / (self.fps or 30.0)
            if self._last_ts is not None and ts <= self._last_ts:
                ts = self._last_ts + 1e-6
        self._last_ts = ts
        return ts

    def _end(self):
        if self._cap is not None:
            _release(self._cap)
            self._cap = None

    def close(self):
        self._end()
        self.closed = True


class ImageSource(Source):
    """One image (one frame) or the images of a folder, read in order in the caller's thread.

    A folder's image files (by extension, hidden files left out, no recursion) are read in
    natural name order (``img2`` before ``img10``); ones that cannot be decoded are skipped with a
    :class:`SkippedImageWarning` and listed in ``skipped``. ``last_path`` is the file of the last
    frame returned. Timestamps are ``index / fps``, one second apart when ``fps`` is not given."""

    def __init__(self, uri, paths, name, kind, fps=None):
        Source.__init__(self, uri, name)
        self.kind = kind
        self.fps = fps
        self.paths = list(paths)
        self.skipped = []
        self.last_path = None
        self._cv2 = deps.cv2("reading images")
        self._pos = 0
        self._index = 0
        self._first = None
        if kind == "image":
            image, why = self._load(self.paths[0])
            if image is None:
                raise EdgeferError("image %s cannot be read: %s" % (self.paths[0], why))
            self._first = image
            self.frame_size = (image.shape[1], image.shape[0])

    def _load(self, path):
        cv2 = self._cv2
        try:
            data = np.fromfile(path, dtype=np.uint8)
        except (OSError, IOError) as exc:
            return None, _reason(exc)
        if data.size == 0:
            return None, "the file is empty"
        try:
            image = cv2.imdecode(data, cv2.IMREAD_COLOR)
        except Exception as exc:  # noqa: BLE001 - OpenCV raises on some corrupt inputs
            return None, "not a decodable image (%s)" % _reason(exc)
        if image is None or image.size == 0:
            return None, "not a decodable image (corrupt, or a format this OpenCV cannot read)"
        return to_bgr(image), None

    def read(self):
        while not self.closed and self._pos < len(self.paths):
            path = self.paths[self._pos]
            self._pos += 1
            if self._first is not None:
                image, self._first = self._first, None
            else:
                image, why = self._load(path)
                if image is None:
                    self.skipped.append(path)
                    warnings.warn("skipping %s: %s" % (path, why), SkippedImageWarning, stacklevel=2)
                    continue
            frame = Frame(image, self._index, self._index / self.fps if self.fps else float(self._index), path)
            self._index += 1
            self.last_path = path
            self.frame_size = (image.shape[1], image.shape[0])
            return frame
        return None

    def close(self):
        self.closed = True
        self._first = None


# ---------------------------------------------------------------------------------- live sources

class _CaptureBackend(object):
    """An OpenCV-like capture (``read() -> (ok, image)``, ``release()``, ``get(prop)``)."""

    def __init__(self, cap, cv2):
        self.cap = cap
        fps = 0.0
        try:
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        except Exception:  # noqa: BLE001
            pass
        self.fps = fps if 0 < fps < 1000 else None

    def read(self):
        return self.cap.read()

    def release(self):
        _release(self.cap)


class _PicamBackend(object):
    """A started ``picamera2.Picamera2``; ``capture_array()`` of an ``RGB888`` stream is already
    BGR in memory (picamera2's format names follow the DRM little-endian convention)."""

    def __init__(self, cam, fps):
        self.cam = cam
        self.fps = fps

    def read(self):
        return True, self.cam.capture_array()

    def release(self):
        for method in ("stop", "close"):
            try:
                getattr(self.cam, method)()
            except Exception:  # noqa: BLE001
                log.debug("picamera2 %s failed", method, exc_info=True)


def put_unless_stopped(q, item, stop):
    """Put ``item`` on the bounded queue ``q`` for a reader thread, giving up once the
    event ``stop`` is set (the reader has gone: a plain put would block for ever)."""
    import queue

    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


class PrefetchSource(Source):
    """Reads a file source ahead in a thread (``depth`` frames, in order, no drops), so
    decoding the next frame overlaps the pipeline's work on this one. OpenCV releases the
    GIL while it decodes, so this uses a second core. Exceptions in the reader thread are
    raised by :meth:`read`."""

    def __init__(self, source, depth=4):
        import queue

        Source.__init__(self, source.uri, source.name)
        self.source = source
        self.kind = source.kind
        self.fps = source.fps
        self.frame_size = source.frame_size
        self._queue = queue.Queue(maxsize=max(1, int(depth)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="edgefer-prefetch", daemon=True)
        self._thread.start()

    def _run(self):
        item = None
        try:
            while not self._stop.is_set():
                item = self.source.read()
                put_unless_stopped(self._queue, item, self._stop)
                if item is None:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            put_unless_stopped(self._queue, exc, self._stop)

    def read(self):
        if self.closed:
            return None
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        if item is None:
            self.closed = True
            return None
        self.frame_size = (item.image.shape[1], item.image.shape[0])
        return item

    def close(self):
        self._stop.set()
        self.closed = True
        self._thread.join(timeout=2.0)
        self.source.close()

    def __getattr__(self, name):
        # Attributes of the wrapped source (skipped, paths, ...) stay reachable.
        if name == "source":
            raise AttributeError(name)
        return getattr(self.source, name)


class LiveSource(Source):
    """A camera, stream or pipeline read by a background thread that keeps only the newest frame.

    ``opener()`` returns a backend with ``read() -> (ok, image)``, ``release()`` and ``fps``; it
    raises when the device cannot be opened. The first open and the first frame happen in the
    constructor, so a source that cannot start fails there with an :class:`EdgeferError`."""

    live = True
    join_timeout = 2.0  # seconds close() waits for the reader thread

    def __init__(self, uri, name, kind, opener, fps=None, reconnect=True, timeout=None, reconnect_delay=0.5,
                 reconnect_max_delay=8.0, hint="", open_timeout=DEFAULT_OPEN_TIMEOUT):
        Source.__init__(self, uri, name)
        self.kind = kind
        self.timeout = timeout
        self.reconnect = bool(reconnect)
        self.reconnect_delay = reconnect_delay
        self.reconnect_max_delay = max(reconnect_max_delay, reconnect_delay)
        self.last_error = None
        self._opener = opener
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._pending = None
        self._ended = False
        self._failure = None
        self._index = 0
        started = _start_within(lambda: _first_frame(opener, self._grab), open_timeout, name, hint)
        backend, (ok, image, why) = started
        if not ok:
            _release(backend)
            raise EdgeferError("%s opened but gave no frame: %s%s" % (name, why, hint))
        self.fps = backend.fps or fps
        self._publish(image)
        self._thread = threading.Thread(target=self._run, args=(backend,), name="edgefer-source %s" % name)
        self._thread.daemon = True
        self._thread.start()

    @staticmethod
    def _grab(backend):
        try:
            ok, image = backend.read()
        except Exception as exc:  # noqa: BLE001 - any capture error is a dropped source
            return False, None, _reason(exc)
        if not ok or image is None or getattr(image, "size", 0) == 0:
            return False, None, "the read failed"
        try:
            return True, to_bgr(image), None
        except ValueError as exc:
            return False, None, str(exc)

    def _publish(self, image):
        frame = Frame(image, self._index, time.time(), self.name)
        with self._cond:
            if self._pending is not None:
                self.dropped += 1
            self._pending = frame
            self._index += 1
            self.frame_size = (image.shape[1], image.shape[0])
            self._cond.notify_all()

    def _run(self, backend):
        delay = self.reconnect_delay
        recovering = False
        try:
            while not self._stop.is_set():
                if backend is None:
                    if self._stop.wait(delay):
                        break
                    delay = next_backoff(delay, self.reconnect_max_delay)
                    try:
                        backend = self._opener()
                    except Exception as exc:  # noqa: BLE001
                        self.last_error = str(exc) if isinstance(exc, (_OpenFailed, EdgeferError)) else _reason(exc)
                        log.warning("%s: reopening failed (%s); next try in %.1f s", self.name, self.last_error,
                                    delay)
                        continue
                    continue
                ok, image, why = self._grab(backend)
                if self._stop.is_set():
                    break
                if ok:
                    if recovering:
                        recovering = False
                        self.reconnects += 1
                        log.warning("%s: reconnected (%d so far)", self.name, self.reconnects)
                    delay = self.reconnect_delay
                    self._publish(image)
                    continue
                self.last_error = why
                _release(backend)
                backend = None
                if not self.reconnect:
                    log.warning("%s: stopped delivering frames (%s); ending", self.name, why)
                    break
                recovering = True
                log.warning("%s: stopped delivering frames (%s); reconnecting in %.1f s", self.name, why, delay)
        except BaseException as exc:  # noqa: BLE001 - report it from read() instead of dying silently
            self._failure = exc
        finally:
            if backend is not None:
                _release(backend)
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def read(self):
        """The newest frame not yet returned; waits for one. None when closed (also from another
        thread while waiting) or when the source ended. Raises EdgeferError after ``timeout``
        seconds without a new frame."""
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        with self._cond:
            while True:
                if self.closed:
                    return None
                if self._pending is not None:
                    frame, self._pending = self._pending, None
                    return frame
                if self._ended:
                    if self._failure is not None:
                        raise EdgeferError("%s: the reader thread failed: %s" % (self.name, _reason(self._failure)))
                    return None
                wait = 0.5
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise EdgeferError("no frame from %s for %.1f s%s" % (
                            self.name, self.timeout,
                            " (reconnecting: %s)" % self.last_error if self.last_error else ""))
                    wait = min(wait, remaining)
                self._cond.wait(wait)

    def close(self):
        """Stop the reader thread and release the device; safe to call twice and from any thread.
        If the capture is blocked inside a read, the thread releases it when that read returns."""
        with self._cond:
            if self.closed:
                return
            self.closed = True
            self._stop.set()
            self._pending = None
            self._cond.notify_all()
        thread = getattr(self, "_thread", None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.join_timeout)
            if thread.is_alive():
                log.warning("%s: the reader thread is still blocked in the capture after %.1f s; it releases "
                            "the device when that read returns", self.name, self.join_timeout)


def _first_frame(opener, grab):
    """Open a live source and read its first frame: (backend, (ok, image, why))."""
    try:
        backend = opener()
    except (_OpenFailed, EdgeferError):
        raise
    except Exception as exc:  # noqa: BLE001
        raise _OpenFailed(_reason(exc)) from None
    return backend, grab(backend)


def _start_within(start, seconds, name, hint):
    """``start()`` in a helper thread, waited for in short steps, so that a peer that never
    answers (OpenCV's FFmpeg open blocks ~30 s in C, deaf to Ctrl-C) costs at most ``seconds``
    (None: no limit) and Ctrl-C stays prompt. An abandoned start releases what it opened
    when it returns."""
    box, done, abandoned = {}, threading.Event(), threading.Event()

    def work():
        try:
            box["result"] = start()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = exc
        done.set()
        if abandoned.is_set() and "result" in box:
            _release(box["result"][0])

    threading.Thread(target=work, name="edgefer-open %s" % name, daemon=True).start()
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        while not done.wait(0.05):
            if deadline is not None and time.monotonic() > deadline:
                raise EdgeferError("%s did not start within %g s (open timeout; --open-timeout SECONDS)%s"
                                   % (name, seconds, hint))
    except BaseException:
        abandoned.set()
        if done.is_set() and "result" in box:
            _release(box["result"][0])
        raise
    if "error" in box:
        exc = box["error"]
        if isinstance(exc, _OpenFailed):
            raise EdgeferError("%s cannot be opened: %s%s" % (name, exc, hint)) from None
        raise exc
    return box["result"]


# ---------------------------------------------------------------------------------------- openers

def _cv_opener(factory, cv2, target, api, reason, width=None, height=None, fps=None, fourcc=None, camera=False):
    def open_():
        cap = factory(target, api)
        if cap is None or not cap.isOpened():
            if cap is not None:
                _release(cap)
            raise _OpenFailed(reason())
        if camera:
            if fourcc:
                cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*fourcc))
            if width:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, float(width))
            if height:
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, float(height))
            if fps:
                cap.set(cv2.CAP_PROP_FPS, float(fps))
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return _CaptureBackend(cap, cv2)
    return open_


def _picam_opener(module, num, width, height, fps):
    def open_():
        cam = module.Picamera2(camera_num=num)
        try:
            main = {"format": "RGB888"}  # [B, G, R] bytes per pixel: OpenCV's order
            if width and height:
                main["size"] = (int(width), int(height))
            kwargs = {"main": main}
            if fps:
                us = int(round(1e6 / fps))
                kwargs["controls"] = {"FrameDurationLimits": (us, us)}
            cam.configure(cam.create_video_configuration(**kwargs))
            cam.start()
        except Exception:
            try:
                cam.close()
            except Exception:  # noqa: BLE001
                pass
            raise
        return _PicamBackend(cam, fps)
    return open_


def _camera_reason(index, device):
    def reason():
        if sys.platform.startswith("linux") and device.startswith("/dev/video") and not os.path.exists(device):
            present = sorted((n for n in os.listdir("/dev") if re.match(r"video\d+$", n)),
                             key=_natural_key) if os.path.isdir("/dev") else []
            return "no such device (cameras present: %s)" % (", ".join("/dev/" + n for n in present) or "none")
        return "OpenCV could not open it (busy, unplugged, or not a capture device)"
    return reason


def _split_scheme(text):
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", text)
    return (m.group(1).lower(), m.group(2)) if m else (None, text)


def _sensor_number(scheme, rest, uri):
    rest = rest.strip("/") or "0"
    if not rest.isdigit():
        raise EdgeferError("source %s: expected %s://N with a camera number N" % (uri, scheme))
    return int(rest)


# ------------------------------------------------------------------------------------ open_source

def open_source(uri, width=None, height=None, fps=None, reconnect=True, timeout=None, fourcc=None,
                reconnect_delay=0.5, reconnect_max_delay=8.0, flip_method=0, capture_factory=None,
                open_timeout=DEFAULT_OPEN_TIMEOUT):
    """Open a frame source; see the module docstring for the URI forms.

    ``width``/``height``/``fps``: requested capture settings of cameras (USB, csi, picam);
    ``fps`` also sets the timestamps of image folders and stands in for a video file's missing
    frame rate. ``fourcc``: a USB camera's pixel format, e.g. ``"MJPG"`` (faster at high
    resolutions). ``reconnect``: reopen a live source that stops delivering (back-off
    ``reconnect_delay`` doubling up to ``reconnect_max_delay`` seconds); ``timeout``: seconds
    ``read()`` waits for a live frame before raising :class:`EdgeferError` (None: forever);
    ``open_timeout``: seconds a live source may take to open and give its first frame (None:
    no limit; Ctrl-C is prompt meanwhile either way).
    ``flip_method``: ``nvvidconv`` flip for ``csi://``. ``capture_factory(target, api)``: what
    makes an OpenCV-like capture (default ``cv2.VideoCapture``; tests pass fakes). A
    :class:`Source` passed as ``uri`` is returned as is."""
    if isinstance(uri, Source):
        return uri
    width, height, fps, live = _checked_options(width, height, fps, timeout, fourcc, reconnect, reconnect_delay,
                                                reconnect_max_delay, open_timeout)
    factory = capture_factory or _default_capture_factory
    if isinstance(uri, (list, tuple)):
        return _open_list(uri, fps)
    if isinstance(uri, bool) or uri is None:
        raise EdgeferError("source must be a camera number, a path or a URI, got %r" % (uri,))
    if isinstance(uri, int):
        return _open_camera(uri, uri, factory, width, height, fps, fourcc, live)
    text = _source_text(uri)
    if text.lower().startswith("gst:") or " ! " in text:
        pipeline = text[4:].strip() if text.lower().startswith("gst:") else text
        return _open_gstreamer(uri, "GStreamer pipeline '%s'" % pipeline, "gstreamer", pipeline, factory,
                               capture_factory is None, live)
    scheme, rest = _split_scheme(text)
    if scheme == "file":
        text = rest
    elif scheme is not None:
        return _open_scheme(uri, scheme, rest, text, factory, capture_factory is None, width, height, fps, fourcc,
                            flip_method, live)
    if text.isdigit():
        return _open_camera(uri, int(text), factory, width, height, fps, fourcc, live)
    if text.startswith("/dev/"):
        return _open_camera(uri, text, factory, width, height, fps, fourcc, live)
    return _open_path(uri, text, fps, capture_factory)


def _checked_options(width, height, fps, timeout, fourcc, reconnect, reconnect_delay, reconnect_max_delay,
                     open_timeout=DEFAULT_OPEN_TIMEOUT):
    """``open_source``'s numbers checked: width, height, fps and the options of a live source."""
    width = _positive("width", width)
    height = _positive("height", height)
    fps = _positive("fps", fps)
    timeout = _positive("timeout", timeout)
    reconnect_delay = _positive("reconnect_delay", reconnect_delay, allow_none=False)
    reconnect_max_delay = _positive("reconnect_max_delay", reconnect_max_delay, allow_none=False)
    if fourcc is not None and (not isinstance(fourcc, str) or len(fourcc) != 4):
        raise EdgeferError("fourcc must be four characters such as 'MJPG', got %r" % (fourcc,))
    live = dict(reconnect=reconnect, timeout=timeout, reconnect_delay=reconnect_delay,
                reconnect_max_delay=reconnect_max_delay, fps=fps,
                open_timeout=_positive("open_timeout", open_timeout))
    return width, height, fps, live


def _source_text(uri):
    """A path-like or string source as stripped text; an empty one is an error."""
    text = os.fspath(uri)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    text = text.strip()
    if not text:
        raise EdgeferError("source is empty: give a camera number, a path or a URI")
    return text


def _open_scheme(uri, scheme, rest, text, factory, check_build, width, height, fps, fourcc, flip_method, live):
    """A source named by a URI scheme other than ``file://``: a network stream, ``csi://N``,
    ``picam://N`` or ``v4l2://``."""
    if scheme in STREAM_SCHEMES:
        cv2 = deps.cv2("reading network streams")
        name = "stream %s" % text
        opener = _cv_opener(factory, cv2, text, cv2.CAP_FFMPEG,
                            lambda: "OpenCV's FFmpeg backend could not open it (wrong URL or credentials, "
                                    "network, or codec)")
        return LiveSource(uri, name, "stream", opener, **live)
    if scheme == "csi":
        n = _sensor_number(scheme, rest, text)
        pipeline = csi_pipeline(n, width, height, fps, flip_method)
        return _open_gstreamer(uri, "CSI camera %d (%s)" % (n, text), "csi", pipeline, factory,
                               check_build, dict(live, fps=fps or DEFAULT_CSI_FPS),
                               hint=" (is nvargus-daemon running? try: gst-launch-1.0 nvarguscamerasrc "
                                    "sensor-id=%d num-buffers=1 ! fakesink)" % n)
    if scheme == "picam":
        n = _sensor_number(scheme, rest, text)
        module = require("picamera2", "the Raspberry Pi camera (%s)" % text, PICAMERA2_HINT)
        return LiveSource(uri, "Raspberry Pi camera %d (%s)" % (n, text), "picam",
                          _picam_opener(module, n, width, height, fps), hint=(
                              " (is the camera connected and enabled? list the cameras with: "
                              "rpicam-hello --list-cameras)"), **live)
    if scheme == "v4l2":
        return _open_camera(uri, rest if rest.startswith("/") else rest.strip("/") or "0", factory,
                            width, height, fps, fourcc, live)
    raise EdgeferError("source %s: unknown scheme '%s://' (use a camera number, a path, rtsp://, "
                       "http(s)://, csi://N, picam://N, v4l2:///dev/videoN or a GStreamer pipeline)"
                       % (text, scheme))


def _open_camera(uri, target, factory, width, height, fps, fourcc, live):
    cv2 = deps.cv2("reading a camera")
    if isinstance(target, str) and target.isdigit():
        target = int(target)
    if isinstance(target, str):
        m = re.match(r"^/dev/video(\d+)$", target)
        index, device = (int(m.group(1)) if m else None), target
        if m:
            target = index
    else:
        index, device = target, "/dev/video%d" % target
    if index is not None:
        name = "camera %d (%s)" % (index, device) if sys.platform.startswith("linux") else "camera %d" % index
    else:
        name = "camera %s" % device
    api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
    opener = _cv_opener(factory, cv2, target, api, _camera_reason(index, device), width, height, fps, fourcc,
                        camera=True)
    return LiveSource(uri, name, "camera", opener, **live)


def _open_gstreamer(uri, name, kind, pipeline, factory, check_build, live, hint=""):
    cv2 = deps.cv2("GStreamer sources")
    if check_build and not opencv_has_gstreamer(cv2):
        raise EdgeferError("%s needs an OpenCV built with GStreamer, and this one (cv2 %s) has none: %s"
                           % (name, getattr(cv2, "__version__", "?"), GSTREAMER_HINT))
    if "appsink" not in pipeline:
        pipeline += " ! videoconvert ! video/x-raw,format=BGR ! appsink drop=1 max-buffers=1"
    opener = _cv_opener(factory, cv2, pipeline, cv2.CAP_GSTREAMER,
                        lambda: "OpenCV's GStreamer backend could not start the pipeline (run it with "
                                "gst-launch-1.0 to see why)")
    return LiveSource(uri, name, kind, opener, hint=hint, **live)


def _open_list(paths, fps):
    """A list of image files, classified in the order given."""
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise EdgeferError("source: the list of images is empty")
    for p in paths:
        if not os.path.isfile(p):
            raise EdgeferError("source %s does not exist (in a list of images)" % p)
        if not p.lower().endswith(IMAGE_EXTENSIONS):
            raise EdgeferError("source %s: a list of sources must be images (%s); open videos one at a time"
                               % (p, ", ".join(IMAGE_EXTENSIONS)))
    return ImageSource(list(paths), paths, "%d images (%s ...)" % (len(paths), paths[0]), "list", fps)


def _open_path(uri, path, fps, capture_factory):
    if not os.path.exists(path):
        raise EdgeferError("source %s does not exist" % path)
    if os.path.isdir(path):
        names = [n for n in os.listdir(path) if not n.startswith(".") and n.lower().endswith(IMAGE_EXTENSIONS)
                 and os.path.isfile(os.path.join(path, n))]
        if not names:
            raise EdgeferError("folder %s holds no images (%s)" % (path, ", ".join(IMAGE_EXTENSIONS)))
        paths = [os.path.join(path, n) for n in sorted(names, key=_natural_key)]
        return ImageSource(uri, paths, "image folder %s" % path, "folder", fps)
    if path.lower().endswith(IMAGE_EXTENSIONS):
        return ImageSource(uri, [path], "image %s" % path, "image", fps)
    return VideoFileSource(uri, path, fps, capture_factory)
