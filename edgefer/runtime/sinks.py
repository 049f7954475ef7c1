"""Sinks: where each :class:`~edgefer.runtime.types.FrameResult` goes.

A sink is any object with ``write(result)`` and ``close()``; the ones here are also context
managers and have a ``stopped`` flag the pipeline reads after each write (the window's q/Esc,
a callback returning ``False``, a closed stdout pipe).

=====================  ==========================================  ================================
class                  writes                                      ``make_sink`` spec
=====================  ==========================================  ================================
:class:`WindowSink`    an OpenCV window with the overlay           ``display``, ``window``
:class:`VideoFileSink` an annotated video (.mp4: mp4v, .avi: MJPG)  ``out.mp4``, ``out.avi``
:class:`ImageFileSink` one image, or one image per frame in a      ``out.jpg``, ``out.png``,
                       folder (``frame_000123.jpg``)               ``frames/``
:class:`JsonLinesSink` one JSON line per frame                     ``-`` (stdout), ``out.jsonl``
:class:`CallbackSink`  calls a Python function                     a callable
``web.WebSink``        a local web page: MJPEG + live emotion bars ``web``, ``web://HOST:PORT``,
                                                                   ``http://HOST:PORT``
=====================  ==========================================  ================================

Files are never left looking complete when they are not: the video is written under a
hidden temporary name in the same folder and renamed on :meth:`~VideoFileSink.close`; when
the ``with`` block ends with an error (an ``Exception``) the temporary file is deleted
instead. Ctrl-C, ``sys.exit()`` and a consumer leaving a generator early end the block
normally and keep what was recorded. Images are written to a temporary name and renamed.
The JSON-lines records follow ``frame.schema.json`` beside this module. Nothing is stored on
disk except by the file sinks the user asks for (see "Responsible use" in the README).
"""

import io
import json
import logging
import os
import re
import sys
from collections import namedtuple
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence, Union
from urllib.parse import parse_qs

import numpy as np

from .. import deps
from ..atomic import check_writable, temp_beside
from ..errors import EdgeferError
from ..registry import Registry
from .overlay import Overlay
from .privacy import check_outputs as privacy_check_outputs
from .privacy import check_sinks as privacy_check_sinks
from .types import Sink  # noqa: F401  (the base class, here for ``sinks.Sink``)

if TYPE_CHECKING:  # for the annotations only
    from .types import FrameResult  # noqa: F401

VIDEO_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")
JSONL_EXTS = (".jsonl", ".ndjson", ".json")
DEFAULT_VIDEO_FPS = 30.0
NO_GUI_MESSAGE = "no OpenCV GUI: install edgefer[gui] or the system's python3-opencv; continuing headless"
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "frame.schema.json")


log = logging.getLogger(__name__)


def _warn(msg):
    log.warning(msg)


def _renderer(overlay):
    """``overlay``: an :class:`Overlay` (shared between sinks), ``None`` for a default one, or
    ``False`` for the frames as they came (no annotation)."""
    if overlay is False:
        return lambda result: result.image
    return overlay if overlay is not None else Overlay()


class CallbackSink(Sink):
    """Calls ``fn(result)`` for every frame; ``fn`` returning ``False`` (not ``None``) stops
    the pipeline. ``on_close`` (optional) is called once by :meth:`close`."""

    def __init__(self, fn: Callable[["FrameResult"], Optional[bool]], on_close: Optional[Callable[[], None]] = None) -> None:
        if not callable(fn):
            raise TypeError("CallbackSink needs a callable, not %r" % (fn,))
        self.fn = fn
        self.on_close = on_close
        self._closed = False

    def write(self, result: "FrameResult") -> None:
        if self.fn(result) is False:
            self.stopped = True

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.on_close is not None:
                self.on_close()


class JsonLinesSink(Sink):
    """One JSON line per frame (``FrameResult.to_dict()``, schema ``frame.schema.json``).

    ``path``: a file name, ``"-"`` for stdout, or an open text file. Each line is flushed
    as it is written, so ``tail -f`` shows it at once. ``append``: add to an existing file
    instead of replacing it. A closed pipe on stdout (``... | head``) sets ``stopped``."""

    def __init__(self, path: Any = "-", decimals: int = 4, append: bool = False) -> None:
        self.decimals = decimals
        self.count = 0
        self._own = False
        if hasattr(path, "write"):
            self.path, self._file = getattr(path, "name", "<stream>"), path
        elif path == "-":
            self.path, self._file = "-", sys.stdout
        else:
            self.path = os.fspath(path)
            folder = os.path.dirname(os.path.abspath(self.path))
            try:
                os.makedirs(folder, exist_ok=True)
                self._file = open(self.path, "a" if append else "w", encoding="utf-8", buffering=1)
            except OSError as exc:
                raise EdgeferError("cannot write JSON lines to %s: %s" % (self.path, exc.strerror or exc))
            self._own = True

    def write(self, result: "FrameResult") -> None:
        if self._file is None or self.stopped:
            return
        line = json.dumps(result.to_dict(self.decimals), separators=(",", ":"))
        try:
            self._file.write(line + "\n")
            self._file.flush()
        except BrokenPipeError:
            self.stopped = True
            if self._file is sys.stdout:
                # The reader went away: point stdout at /dev/null so the interpreter's final
                # flush does not print a second error.
                try:
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, sys.stdout.fileno())
                except (OSError, ValueError):
                    pass
            return
        except OSError as exc:
            raise EdgeferError("cannot write JSON lines to %s: %s" % (self.path, exc.strerror or exc))
        self.count += 1

    def close(self) -> None:
        f, self._file = self._file, None
        if f is not None and self._own:
            f.close()


def _gui_from_build_info(cv2):
    """True/False from OpenCV's build information ("GUI: NONE" in headless wheels), or None
    when it does not say."""
    m = re.search(r"^\s*GUI:\s*(\S+)", cv2.getBuildInformation(), re.MULTILINE)
    if m is None:
        return None
    return m.group(1).upper() != "NONE"


def _no_display_reason():
    """Why a window cannot open on this Linux session (no X11/Wayland display), or None."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY is not set: run it from the desktop session or set DISPLAY=:0); continuing headless"
    return None


class WindowSink(Sink):
    """Shows the annotated frames in an OpenCV window (``cv2.imshow`` + ``waitKey(1)``).

    Pressing q or Esc, or closing the window, sets ``stopped``. An OpenCV without a GUI (the
    headless wheels) or a session without a display is reported once as a one-line warning
    on stderr; the sink then does nothing (``available`` is ``False``) and never raises."""

    carries_frames = True

    QUIT_KEYS = (ord("q"), ord("Q"), 27)

    def __init__(self, title: str = "edgefer", overlay: Union[Overlay, None, bool] = None,
                 quit_keys: Optional[Sequence[int]] = None, fullscreen: bool = False) -> None:
        self.title = title
        self.fullscreen = fullscreen
        self.quit_keys = tuple(self.QUIT_KEYS if quit_keys is None else
                               [ord(k) if isinstance(k, str) else int(k) for k in quit_keys])
        self.available = None  # decided on the first frame
        self._render = _renderer(overlay)
        self._shown = False
        self._cv2 = None

    def _disable(self, msg):
        self.available = False
        _warn(msg)

    def _check(self):
        cv2 = self._cv2 = deps.cv2("showing a window")
        if _gui_from_build_info(cv2) is False:
            return self._disable(NO_GUI_MESSAGE)
        reason = _no_display_reason()
        if reason:
            return self._disable(reason)
        self.available = True

    def write(self, result: "FrameResult") -> None:
        if self.available is None:
            self._check()
        if self.available is False:
            if hasattr(self._render, "note"):
                self._render.note(result)  # keep the FPS meter of a shared overlay honest
            return
        cv2 = self._cv2
        image = self._render(result)
        try:
            if not self._shown and self.fullscreen:
                cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
                cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
            cv2.imshow(self.title, image)
            key = cv2.waitKey(1)
        except cv2.error:
            if self._shown:  # the GUI worked before: the window went away
                self.stopped = True
                return
            return self._disable(NO_GUI_MESSAGE)
        self._shown = True
        if key != -1 and (key & 0xFF) in self.quit_keys:
            self.stopped = True
            return
        try:
            if cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
                self.stopped = True  # closed with the window's close button
        except cv2.error:
            pass

    def hold(self, poll_ms=100):
        """Keep the window open until a key is pressed or the window is closed (after a single
        image). Returns at once when no window is shown."""
        cv2 = self._cv2
        while self._shown:
            try:
                if cv2.waitKey(poll_ms) != -1 or cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
                    return
            except cv2.error:
                return

    def close(self) -> None:
        if self._shown:
            self._shown = False
            try:
                self._cv2.destroyWindow(self.title)
                self._cv2.waitKey(1)
            except self._cv2.error:
                pass


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


class VideoFileSink(Sink):
    """Writes the annotated frames to a video file with ``cv2.VideoWriter``.

    ``path``: ``.mp4`` (also .m4v, .mov, .mkv; fourcc mp4v) or ``.avi`` (MJPG, built into
    every OpenCV, also JetPack's); ``fourcc`` overrides. ``fps``: the playback rate; ``None``
    measures it from the median interval between the first frames' timestamps (5 frames are
    held back for that): the file's own rate for video files, the rate the pipeline keeps up
    for cameras (which drop frames when it is slower than the camera, so the camera's nominal
    rate would play too fast); when the timestamps do not tell (stills), the source's ``fps``
    attribute if it has one, else 30. The size is the first frame's, rounded down to even
    numbers (what the MPEG-4 encoder accepts); frames of another size are resized to it.
    ``overlay``: see :class:`Overlay` (``False``: the frames without annotation).

    The file is written under a hidden temporary name (``.NAME.XXXX.tmp.mp4``) in the same
    folder and renamed to ``path`` by :meth:`close`; :meth:`abort` (a ``with`` block left by
    an ``Exception``; Ctrl-C closes normally) deletes it, so a partial video never appears under
    ``path``. A run killed outright leaves only the hidden temporary file."""

    carries_frames = True

    def __init__(self, path: str, fps: Optional[float] = None, fourcc: Optional[str] = None,
                 overlay: Union[Overlay, None, bool] = None) -> None:
        self.path = os.fspath(path)
        ext = os.path.splitext(self.path)[1].lower()
        if fourcc is None and ext not in VIDEO_FOURCC:
            raise EdgeferError("video output %s: unknown extension '%s'; expected .mp4 (mp4v) or .avi (MJPG)"
                               % (self.path, ext))
        if fps is not None and not float(fps) > 0:
            raise EdgeferError("video output %s: fps must be > 0, not %r" % (self.path, fps))
        if fourcc is not None and len(fourcc) != 4:
            raise EdgeferError("video output %s: a fourcc has 4 characters, not %r" % (self.path, fourcc))
        check_writable(os.path.dirname(os.path.abspath(self.path)), "video output")
        self.fourcc = fourcc or VIDEO_FOURCC[ext]
        self.fps = None if fps is None else float(fps)
        self._fps_option = self.fps
        self.size = None  # (width, height) once the writer is open
        self.frames = 0
        self._render = _renderer(overlay)
        self._writer = None
        self._tmp = None
        self._pending = []  # (timestamp, image, source) of the first frames while the rate is unknown
        self._closed = False

    def _open(self, shape, fps):
        cv2 = deps.cv2("writing a video")
        h, w = shape[:2]
        size = (max(2, w - w % 2), max(2, h - h % 2))
        try:
            tmp = temp_beside(self.path)
        except OSError as exc:
            raise EdgeferError("cannot write video %s: %s" % (self.path, exc.strerror or exc))
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*self.fourcc), float(fps), size)
        if not writer.isOpened():
            writer.release()
            _remove(tmp)
            ext = os.path.splitext(self.path)[1]
            raise EdgeferError(
                "cannot write video %s: this OpenCV cannot open a '%s' writer for %s files; expected a .mp4 "
                "or .avi path (.avi/MJPG works with every OpenCV build)" % (self.path, self.fourcc, ext or "such")
            )
        self._writer, self._tmp, self.size, self.fps = writer, tmp, size, float(fps)

    def _fit(self, image):
        cv2 = deps.cv2("writing a video")
        w, h = self.size
        ih, iw = image.shape[:2]
        if (iw, ih) == (w, h):
            return image
        if 0 <= iw - w <= 1 and 0 <= ih - h <= 1:
            return image[:h, :w]
        return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)

    def _emit(self, image):
        self._writer.write(self._fit(image))
        self.frames += 1
        if self.frames % self.DISK_CHECK_FRAMES == 0:
            self._check_space()

    DISK_CHECK_FRAMES = 30
    MIN_FREE_BYTES = 16 << 20

    def _check_space(self):
        """OpenCV's writer does not report a full disk (the encoder's writes fail silently and
        the file ends up cut short): look at the free space every few frames and stop while
        the previous good file is still intact, with one line (exit 2)."""
        try:
            st = os.statvfs(os.path.dirname(os.path.abspath(self._tmp)))
            written = os.path.getsize(self._tmp)
        except OSError:
            return
        free = st.f_bavail * st.f_frsize
        per_check = written / float(self.frames // self.DISK_CHECK_FRAMES)
        if free < max(self.MIN_FREE_BYTES, 2 * per_check):
            raise EdgeferError("video output %s: the disk is almost full (%.1f MB left after %d frames); stopped, "
                               "and any earlier file at that path is kept" % (self.path, free / 1e6, self.frames))

    PROBE_FRAMES = 5

    def _measured_fps(self):
        times = sorted(t for t, _, _ in self._pending)
        steps = sorted(b - a for a, b in zip(times, times[1:]) if 0.001 <= b - a <= 10.0)
        if steps:
            return 1.0 / steps[len(steps) // 2]
        src_fps = getattr(self._pending[0][2], "fps", None)
        if isinstance(src_fps, (int, float)) and 0 < src_fps <= 1000:
            return float(src_fps)
        return DEFAULT_VIDEO_FPS

    def _start_pending(self):
        pending, fps = self._pending, self._measured_fps()
        self._open(pending[0][1].shape, fps)
        self._pending = []
        for _, image, _ in pending:
            self._emit(image)

    def write(self, result: "FrameResult") -> None:
        if self._closed:
            raise RuntimeError("write() on a closed VideoFileSink (%s)" % self.path)
        image = self._render(result)
        if self._writer is None:
            if self._fps_option is not None:
                self._open(image.shape, self._fps_option)
            else:
                source = getattr(result.frame, "source", None)
                self._pending.append((result.timestamp, np.array(image, copy=True), source))
                if len(self._pending) >= self.PROBE_FRAMES:
                    self._start_pending()
                return
        self._emit(image)

    def close(self) -> None:
        """Finish the file and rename it to ``path`` (nothing is written when no frame came)."""
        if self._closed:
            return
        self._closed = True
        if self._pending:
            self._start_pending()
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        try:
            with open(self._tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(self._tmp, self.path)
        except OSError as exc:
            _remove(self._tmp)
            raise EdgeferError("cannot write video %s: %s" % (self.path, exc.strerror or exc))

    def abort(self) -> None:
        """Stop and delete the unfinished temporary file; ``path`` is not created."""
        self._closed = True
        self._pending = []
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self._tmp is not None:
            _remove(self._tmp)


def _is_folder_spec(path):
    return os.path.isdir(path) or path.endswith("/") or path.endswith(os.sep) or not os.path.splitext(path)[1]


class ImageFileSink(Sink):
    """Writes annotated frames as images.

    ``path`` ending in .jpg/.jpeg/.png/.bmp: one image (each frame replaces it, so it holds
    the last one: meant for a single-image source). A folder (an existing one, a path ending
    in ``/`` or without extension): one file per frame named ``pattern % frame.index``
    (``frame_000123.jpg``). Each image is written under a temporary name and renamed.
    ``quality``: JPEG quality. ``overlay``: see :class:`Overlay`."""

    carries_frames = True

    def __init__(self, path: str, overlay: Union[Overlay, None, bool] = None, pattern: str = "frame_%06d.jpg",
                 quality: int = 95) -> None:
        self.path = os.fspath(path)
        self.folder = _is_folder_spec(self.path)
        ext = os.path.splitext(pattern if self.folder else self.path)[1].lower()
        if ext not in IMAGE_EXTS:
            raise EdgeferError("image output %s: unknown extension '%s'; expected a .jpg or .png file, or a folder "
                               "(ending in /)" % (pattern if self.folder else self.path, ext))
        if self.folder:
            try:
                pattern % 0
            except (TypeError, ValueError):
                raise EdgeferError("image file pattern %r needs one %%d for the frame number, e.g. frame_%%06d.jpg"
                                   % (pattern,))
        check_writable(self.path if self.folder else os.path.dirname(os.path.abspath(self.path)), "image output")
        self.pattern = pattern
        self.ext = ext
        self.quality = int(quality)
        self.count = 0
        self.last_path = None
        self._render = _renderer(overlay)

    def write(self, result: "FrameResult") -> None:
        cv2 = deps.cv2("writing images")
        name = os.path.join(self.path, self.pattern % result.index) if self.folder else self.path
        params = [cv2.IMWRITE_JPEG_QUALITY, self.quality] if self.ext in (".jpg", ".jpeg") else []
        ok, buf = cv2.imencode(self.ext, self._render(result), params)
        if not ok:
            raise EdgeferError("cannot write image %s: OpenCV could not encode %s" % (name, self.ext))
        tmp = None
        try:
            os.makedirs(os.path.dirname(os.path.abspath(name)), exist_ok=True)
            tmp = temp_beside(name)
            with open(tmp, "wb") as f:
                f.write(buf.tobytes())
                if not self.folder:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, name)
        except OSError as exc:
            if tmp is not None:
                _remove(tmp)
            raise EdgeferError("cannot write image %s: %s" % (name, exc.strerror or exc))
        self.count += 1
        self.last_path = name


class SinkGroup(Sink):
    """Several sinks as one: writes to each; ``stopped`` when any is; closes all (even when
    one fails, re-raising the first failure afterwards)."""

    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = list(sinks)

    @property
    def carries_frames(self):
        return any(getattr(s, "carries_frames", False) for s in self.sinks)

    @property
    def stopped(self):
        return any(getattr(s, "stopped", False) for s in self.sinks)

    def write(self, result: "FrameResult") -> None:
        for s in self.sinks:
            s.write(result)

    def _end(self, how, *exc_info):
        first = None
        for s in self.sinks:
            try:
                if how == "exit" and hasattr(s, "__exit__"):
                    s.__exit__(*exc_info)
                elif how == "abort" and hasattr(s, "abort"):
                    s.abort()
                else:
                    s.close()
            except Exception as exc:  # close the others first
                first = first or exc
        if first is not None:
            raise first

    def close(self) -> None:
        self._end("close")

    def abort(self) -> None:
        self._end("abort")

    def __exit__(self, exc_type, exc, tb):
        self._end("exit", exc_type, exc, tb)
        return False


def _web_address(spec):
    """(host, port) from ``web``, ``web:PORT``, ``web://HOST:PORT`` or ``http://HOST:PORT/``."""
    rest = re.sub(r"^(web|https?)(://|:)?", "", spec).rstrip("/")
    if spec.startswith("https"):
        raise EdgeferError("output %s: the web page is served over plain http on the local network; use http://" % spec)
    host, port = "127.0.0.1", 8080
    if rest:
        if rest.isdigit():
            return host, int(rest)
        m = re.match(r"^(\[[^\]]*\]|[^:]*)(?::(\d+))?$", rest)
        if m is None:
            raise EdgeferError("output %s: expected web://HOST:PORT (e.g. web://127.0.0.1:8080)" % spec)
        host = m.group(1).strip("[]") or host
        if m.group(2):
            port = int(m.group(2))
    return host, port


class OutputURI(namedtuple("OutputURI", "scheme target spec")):
    """An output spec parsed: ``scheme`` (a :data:`SINKS` name), ``target`` (what follows
    ``scheme://``, or the file path) and the ``spec`` as given."""


def _window(uri, overlay=None, video_fps=None, privacy="off"):
    return WindowSink(overlay=overlay)


def _web(uri, overlay=None, video_fps=None, privacy="off"):
    from .web import WebSink

    spec, _, query = uri.spec.partition("?")
    host, port = _web_address(spec.lower())
    token = parse_qs(query).get("token", [None])[0]
    return WebSink(host=host, port=port, overlay=overlay, token=token, privacy=privacy)


def _json_lines(uri, overlay=None, video_fps=None, privacy="off"):
    return JsonLinesSink(uri.target)


def _video(uri, overlay=None, video_fps=None, privacy="off"):
    return VideoFileSink(uri.target, fps=video_fps, overlay=overlay)


def _images(uri, overlay=None, video_fps=None, privacy="off"):
    return ImageFileSink(uri.target, overlay=overlay)


# Output scheme -> factory(OutputURI, overlay=None, video_fps=None, privacy="off") -> Sink, as jetson-inference's
# videoOutput URIs (``display://0``, ``file://out.mp4``); a file path picks its scheme by its
# extension (FILE_SCHEMES). Adding a sink is a class and a line here.
SINKS = Registry("output")
SINKS.register("display", _window, aliases=("window", "screen"))
SINKS.register("web", _web, aliases=("http", "https"))
SINKS.register("jsonl", _json_lines)
SINKS.register("video", _video)
SINKS.register("image", _images)
FILE_SCHEMES = dict([(e, "jsonl") for e in JSONL_EXTS] + [(e, "video") for e in VIDEO_FOURCC]
                    + [(e, "image") for e in IMAGE_EXTS])
_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)(://|:)(.*)$")


def parse_output(spec: str) -> OutputURI:
    """An output spec -> :class:`OutputURI`: ``-`` (JSON lines on stdout), ``SCHEME://TARGET``
    or ``SCHEME`` / ``SCHEME:TARGET`` for a :data:`SINKS` scheme or alias (``display://0``,
    ``web:8080``, ``http://HOST:PORT``), ``file://PATH`` or a path (by its extension, or a
    folder for one image per frame)."""
    s = spec.strip()
    if s == "-":
        return OutputURI("jsonl", "-", spec)
    m = _URI.match(s)
    if m and m.group(1).lower() == "file" and m.group(2) == "://":
        s = m.group(3)
    elif m and m.group(1) in SINKS:
        return OutputURI(SINKS.resolve(m.group(1)), m.group(3), spec)
    elif s in SINKS:
        return OutputURI(SINKS.resolve(s), "", spec)
    elif m and m.group(2) == "://":
        raise EdgeferError("output %s: unknown scheme %s:// (expected one of: %s, file://)"
                           % (spec, m.group(1), ", ".join(s + "://" for s in SINKS)))
    scheme = FILE_SCHEMES.get(os.path.splitext(s)[1].lower())
    if scheme is None and _is_folder_spec(s):
        scheme = "image"
    if scheme is None:
        raise EdgeferError(
            "unknown output %r: expected a video (.mp4, .avi), an image (.jpg, .png), a folder (ending in /), "
            "JSON lines (.jsonl or - for stdout), 'display://0' or 'web://HOST:PORT'" % spec
        )
    return OutputURI(scheme, s, spec)


def output_uris(outputs: Sequence[str] = (), save: Sequence[str] = (), show: bool = False, json: Optional[str] = None,
                serve: Optional[str] = None) -> List[str]:
    """The command line's outputs as URIs, in one list: ``--output URI`` as given, then the
    aliases ``--save PATH`` (a video, image or folder), ``--show`` (``display://0``),
    ``--json PATH|-`` and ``--serve [HOST:]PORT`` (``web://HOST:PORT``)."""
    uris = list(outputs) + list(save)
    if show:
        uris.append("display://0")
    if json:
        uris.append(json)
    if serve:
        uris.append("web://" + (serve if ":" in serve else "127.0.0.1:" + serve))
    return uris


def check_outputs(specs: Sequence[Any], privacy: str = "off") -> None:
    """Parse every output URI, refuse those the ``privacy`` mode forbids and prove each file
    output's folder writable, before any work."""
    for uri in _refuse_for_privacy(specs, privacy):
        if uri.scheme in ("video", "image", "jsonl") and uri.target != "-":
            folder = uri.target if uri.scheme == "image" and _is_folder_spec(uri.target) else \
                os.path.dirname(os.path.abspath(uri.target))
            check_writable(folder, "output %s:" % uri.spec)


def _refuse_for_privacy(specs, privacy):
    """Refuse the outputs ``privacy`` forbids, URIs and sink objects alike; returns the
    parsed URIs."""
    uris = [parse_output(os.fspath(spec)) for spec in specs if isinstance(spec, (str, os.PathLike))]
    privacy_check_outputs(uris, privacy)
    privacy_check_sinks([spec for spec in specs if not isinstance(spec, (str, os.PathLike))], privacy)
    return uris


def make_sink(spec: Any, overlay: Union[Overlay, None, bool] = None, video_fps: Optional[float] = None,
              privacy: str = "off") -> Sink:
    """A sink for ``spec``: a sink object (anything with ``write`` and ``close``) as it is; an
    open text file as :class:`JsonLinesSink`; a callable as :class:`CallbackSink`; an output
    URI or path (:func:`parse_output`) through its :data:`SINKS` factory:

    * ``-``, ``out.jsonl`` (``.ndjson``, ``.json``): :class:`JsonLinesSink`;
    * ``display://0`` (``display``, ``window``): :class:`WindowSink`;
    * ``web://HOST:PORT`` (``web``, ``web:PORT``, ``http://HOST:PORT``; ``?token=SECRET`` sets
      the access token a non-loopback address needs, else one is made): ``web.WebSink``
      (127.0.0.1:8080 unless given);
    * ``out.mp4`` (``.avi``, ``.m4v``, ``.mov``, ``.mkv``; ``file://out.mp4``): :class:`VideoFileSink` (``video_fps``);
    * ``out.jpg`` (``.png``) or ``frames/``: :class:`ImageFileSink`.

    ``overlay``: the :class:`Overlay` the image sinks draw with (``False``: none);
    ``privacy``: a :mod:`~edgefer.runtime.privacy` mode (``no-video`` refuses the outputs
    that carry frames and makes the web page's without a stream)."""
    _refuse_for_privacy([spec], privacy)
    return _make(spec, overlay, video_fps, privacy)


def _make(spec, overlay, video_fps, privacy):
    """:func:`make_sink` after its privacy check."""
    if isinstance(spec, io.IOBase):
        return JsonLinesSink(spec)
    if isinstance(spec, Sink) or (hasattr(spec, "write") and hasattr(spec, "close")):
        return spec
    if callable(spec):
        return CallbackSink(spec)
    uri = parse_output(spec if isinstance(spec, str) else os.fspath(spec))
    return SINKS.get(uri.scheme)(uri, overlay=overlay, video_fps=video_fps, privacy=privacy)


def open_sinks(specs: Any, landmarks: bool = True, bars: bool = False, show_fps: bool = False,
               overlay: Optional[Overlay] = None, video_fps: Optional[float] = None,
               privacy: str = "off") -> "SinkGroup":
    """A :class:`SinkGroup` of ``make_sink(spec)`` for each spec, drawing with one shared
    :class:`Overlay` (built from ``landmarks``, ``bars``, ``show_fps`` unless ``overlay`` is
    given), as the ``privacy`` mode allows (checked for all before any opens). If one spec
    fails, the sinks opened before it are closed."""
    if isinstance(specs, (str, bytes)) or callable(specs) or hasattr(specs, "write"):
        specs = [specs]
    if overlay is None:
        overlay = Overlay(landmarks=landmarks, bars=bars, show_fps=show_fps)
    specs = list(specs)
    _refuse_for_privacy(specs, privacy)
    sinks = []
    try:
        for spec in specs:
            sinks.append(_make(spec, overlay, video_fps, privacy))
    except BaseException:
        SinkGroup(sinks).abort()
        raise
    return SinkGroup(sinks)


def load_schema():
    """The JSON Schema of one JSON-lines record (``frame.schema.json``)."""
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)
