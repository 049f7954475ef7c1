"""The runtime pipeline: source -> face detector -> crops -> classifier -> tracker -> sinks.

::

    import edgefer
    pipe = edgefer.Pipeline(bundle="my.edgefer")
    for result in pipe.stream(0):                 # or "video.mp4", "rtsp://...", "csi://0", "picam://0"
        for face in result.faces:
            print(face.track_id, face.emotion, round(face.confidence, 2))

``process(frame)`` handles one frame (the tracker still links it to the previous ones),
``on("emotion_changed", fn)`` registers callbacks, ``stop()`` ends a stream from another
thread. Every result carries per-stage timings in milliseconds: ``read``, ``detect``,
``preprocess``, ``classify``, ``track``, ``output`` and ``total`` (from the start of the read
to the end of the sinks, so ``total`` >= the sum of the stages). In ``stream`` the read and
detect stages of the next frames run in a thread (:class:`DetectAhead`) while this frame is
classified, so frames come faster than ``1 / total``.
"""

import logging
import os
import threading
import time

from typing import Any, Callable, Iterator, List, Optional, Sequence, Union

import numpy as np

from ..bundle import Bundle
from ..errors import EdgeferError
from .classifier import Classifier
from .detectors import DEFAULT_DETECTOR, create_detector
from .face_detector import FaceDetector
from .privacy import blur_faces, check_sinks
from .privacy import check_mode as check_privacy
from .tracking import Tracker
from .types import Event, Frame, FrameResult, to_bgr

log = logging.getLogger(__name__)

STAGES = ("read", "detect", "preprocess", "classify", "track", "output")
# Frames whose faces are detected ahead of the classifier (Pipeline.stream's detect_ahead).
DETECT_AHEAD = 2
CALLBACK_KINDS = ("result", "event", Event.APPEARED, Event.EMOTION_CHANGED, Event.LOST)
DEFAULT_BUNDLE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bundles")


def shipped_bundles() -> List[str]:
    """The names of the bundles shipped in the package (``default``, ``ferplus``, ...)."""
    if not os.path.isdir(DEFAULT_BUNDLE_DIR):
        return []
    return sorted(n[:-len(".edgefer")] for n in os.listdir(DEFAULT_BUNDLE_DIR) if n.endswith(".edgefer"))


def resolve_bundle(bundle: Union[None, str, Bundle]) -> Union[str, Bundle]:
    """``"default"``/None -> the bundle shipped in the package; the name of another shipped
    bundle (``"ferplus"``) -> that one; anything else is a path."""
    if bundle is not None and not isinstance(bundle, str):
        return bundle  # a Bundle, or a path object
    name = "default" if bundle is None else bundle
    shipped = os.path.join(DEFAULT_BUNDLE_DIR, "%s.edgefer" % name)
    if os.sep not in name and "/" not in name and not name.endswith(".edgefer") and os.path.isdir(shipped) \
            and not os.path.exists(name):
        return shipped
    if name == "default":
        raise EdgeferError("the default model is missing from this install (%s): reinstall edgefer, or pass --bundle "
                           "PATH (a NAME.edgefer folder made by `edgefer export CHECKPOINT --int8`)" % shipped)
    return bundle


class Pipeline(object):
    """Faces and emotions from frames. Options: ``detector`` (``blazeface``, ``blazeface-back``,
    ``yunet`` + ``detector_model``), ``backend`` and ``precision`` (see
    :mod:`edgefer.runtime.classifier`), ``threads`` (ONNX Runtime threads per model; 0 =
    its default; 1, the default, was fastest end to end for 48-112 px models on 2 cores),
    ``spinning`` (ONNX Runtime's busy-waiting worker threads; off by default: with a
    decoder thread and two models sharing the cores, spinning workers slowed the 2-thread
    pipeline from 194 to 128 FPS here), detector thresholds (``score_threshold``, ``nms_threshold``, ``min_face``
    pixels, ``max_faces``, ``close_up``: when a frame shows no face, look again on it padded
    into a larger canvas, for faces that fill the frame), and tracking (``smoothing`` ema/window/none, ``alpha``,
    ``window``, ``hysteresis``, ``iou_threshold``, ``max_missed``), and ``privacy``
    (:mod:`edgefer.runtime.privacy`: ``off``; ``blur``: the faces of every frame are blurred
    before any output or caller sees it; ``no-video``: outputs that carry frames are refused
    and the web page shows no stream), and ``tta`` (test-time augmentation of the classifier:
    ``none``; ``flip``: each face and its mirror image, at twice the classifier's work)."""

    def __init__(self, bundle: Union[str, Bundle] = "default", detector: Union[str, FaceDetector] = DEFAULT_DETECTOR,
                 detector_model: Optional[str] = None, backend: str = "auto", precision: str = "auto",
                 threads: int = 1, score_threshold: float = 0.6, nms_threshold: float = 0.3, min_face: float = 0,
                 max_faces: int = 0, smoothing: str = "ema", alpha: float = 0.3, window: int = 8,
                 hysteresis: float = 0.1, iou_threshold: float = 0.3, max_missed: int = 10, verify: bool = True,
                 trt_options: Optional[dict] = None, spinning: bool = False, close_up: bool = True,
                 privacy: str = "off", tta: str = "none") -> None:
        self.privacy = check_privacy(privacy)
        self.classifier = Classifier(resolve_bundle(bundle), backend=backend, precision=precision, threads=threads,
                                     verify=verify, trt_options=trt_options, spinning=spinning, tta=tta)
        self.labels = self.classifier.labels
        det_opts = dict(score_threshold=score_threshold, nms_threshold=nms_threshold, min_size=min_face,
                        max_faces=max_faces, close_up=close_up, spinning=spinning)
        self.detector = create_detector(detector, model_path=detector_model, threads=threads or 1, **det_opts)
        self.tracker = Tracker(self.labels, iou_threshold=iou_threshold, max_missed=max_missed, smoothing=smoothing,
                               alpha=alpha, window=window, hysteresis=hysteresis)
        self._callbacks = dict((k, []) for k in CALLBACK_KINDS)
        self._stop = threading.Event()
        self._source = None
        self._index = 0
        self._closed = False

    def _check_open(self):
        if self._closed:
            raise EdgeferError("this Pipeline is closed (close() was called): make a new one")

    def describe(self) -> str:
        """One line: the detector and the classifier (model, artifact, backend)."""
        return "detector %s; classifier %s" % (self.detector.describe(), self.classifier.describe())

    # -- callbacks --------------------------------------------------------------------------
    def on(self, kind: str, fn: Optional[Callable] = None) -> Callable:
        """Call ``fn(result)`` for every frame (``"result"``), ``fn(event)`` for every event
        (``"event"``) or for one kind (``"appeared"``, ``"emotion_changed"``, ``"lost"``).
        Returns ``fn``, so it works as a decorator: ``@pipe.on("emotion_changed")``."""
        if kind not in self._callbacks:
            raise EdgeferError("unknown callback kind %r (expected one of %s)" % (kind, ", ".join(CALLBACK_KINDS)))
        if fn is None:
            return lambda f: self.on(kind, f)
        self._callbacks[kind].append(fn)
        return fn

    def _emit(self, result=None, events=()):
        for e in events:
            for fn in self._callbacks["event"] + self._callbacks[e.kind]:
                fn(e)
        if result is not None:
            for fn in self._callbacks["result"]:
                fn(result)

    # -- one frame --------------------------------------------------------------------------
    def _detect(self, frame):
        """The frame as BGR and its faces; returns (detections, detect ms)."""
        t0 = time.perf_counter()
        frame.image = to_bgr(frame.image, strict=True)
        dets = self.detector.detect(frame.image)
        return dets, 1000 * (time.perf_counter() - t0)

    def _process(self, frame, read_ms=0.0, detected=None):
        dets, detect_ms = self._detect(frame) if detected is None else detected
        image = frame.image
        t1 = time.perf_counter()
        boxes = [d.box for d in dets]
        lms = [d.landmarks for d in dets]
        probs = self.classifier.classify(image, boxes, lms if self.classifier.preprocess.framing.align else None)
        t2 = time.perf_counter()
        faces, events = self.tracker.update(dets, probs, frame.index, frame.timestamp)
        h, w = image.shape[:2]
        for f in faces:
            # Reported boxes are clipped to the frame; the crop used the whole framed box,
            # replicating the border where it leaves the frame (as for data-set crops).
            x0, y0, x1, y1 = f.box
            f.box = (min(max(x0, 0.0), w), min(max(y0, 0.0), h), min(max(x1, 0.0), w), min(max(y1, 0.0), h))
        if self.privacy == "blur" and faces:
            frame.image = blur_faces(image, [f.box for f in faces])
        t3 = time.perf_counter()
        timings = {"read": read_ms, "detect": detect_ms, "preprocess": self.classifier.preprocess_ms,
                   "classify": self.classifier.classify_ms, "track": 1000 * (t3 - t2)}
        return FrameResult(frame, faces, events, timings)

    def process(self, image: Union[np.ndarray, Frame], timestamp: Optional[float] = None) -> FrameResult:
        """Detect, classify and track the faces of one frame (BGR, grayscale or BGRA uint8).
        Successive calls form a stream: ids and smoothing carry over (``reset()`` to start
        afresh)."""
        self._check_open()
        frame = image if isinstance(image, Frame) else Frame(
            np.asarray(image), self._index, time.time() if timestamp is None else timestamp)
        self._index = frame.index + 1
        t0 = time.perf_counter()
        result = self._process(frame)
        result.timings["output"] = 0.0
        result.timings["total"] = 1000 * (time.perf_counter() - t0)
        self._emit(result, result.events)
        return result

    def reset(self) -> None:
        """Forget the tracks: the next frame starts a new stream."""
        self.tracker.reset()
        self._index = 0

    # -- streams ----------------------------------------------------------------------------
    def stream(self, source: Any, sinks: Sequence[Any] = (), max_frames: Optional[int] = None, prefetch: int = 4,
               track_stills: bool = False, detect_ahead: int = DETECT_AHEAD,
               **source_options) -> Iterator[FrameResult]:
        """Results for every frame of ``source`` (a camera index, path, URI, list of image
        paths or an open :class:`~edgefer.runtime.sources.Source`), written to ``sinks`` on the
        way. Ends at the end of a file, after ``max_frames``, when ``stop()`` is called, or when
        a sink asks to stop (the window's q/Esc). Open tracks get ``lost`` events at the end.
        Video files and image folders are decoded ``prefetch`` frames ahead in a thread
        (in order, no drops; 0 turns it off). Faces are detected ``detect_ahead`` frames ahead
        in a thread of their own (:class:`DetectAhead`; 0: detect and classify in turn), so the
        detector's work on the next frame overlaps the classifier's on this one; results and
        their order are the same either way. The photos of an image, folder or list source
        are unrelated: each is classified afresh (no ids, smoothing or events carried from one
        to the next) unless ``track_stills`` (say, a folder of frames from one video).
        ``sinks`` are sink objects or output URIs as on the command line (``"out.mp4"``,
        ``"frames/"``, ``"out.jsonl"``, ``"-"``, ``"display://0"``, ``"web://127.0.0.1:8080"``;
        :func:`~edgefer.runtime.sinks.make_sink`): those opened here are closed at the end,
        and a half-written video is dropped if the stream fails."""
        from .sources import STILLS

        self._check_open()
        owned = not hasattr(source, "read")
        src = open_prefetched(source, prefetch, **source_options) if owned else source
        self._source = src
        self._stop.clear()
        fresh = getattr(src, "kind", None) in STILLS and not track_stills
        sinks, opened = _open_outputs(sinks, self.privacy)
        count = 0
        last = None
        frames = DetectAhead(src, self._detect, detect_ahead) if detect_ahead else _DetectInTurn(src, self._detect)
        try:
            while not self._stop.is_set() and (max_frames is None or count < max_frames):
                item = frames.read()
                if item is None:
                    break
                frame, read_ms, detected, t0 = item
                if fresh:
                    self.tracker.reset()
                result = self._process(frame, read_ms, detected)
                t2 = time.perf_counter()
                for sink in sinks:
                    sink.write(result)
                self._emit(result, result.events)
                t3 = time.perf_counter()
                result.timings["output"] = 1000 * (t3 - t2)
                result.timings["total"] = 1000 * (t3 - t0)
                count += 1
                last = result
                yield result
                if any(getattr(s, "stopped", False) for s in sinks):
                    break
        except BaseException as exc:
            if opened is not None and not isinstance(exc, GeneratorExit):
                opened.__exit__(type(exc), exc, exc.__traceback__)  # drops a half-written video
                opened = None
            raise
        finally:
            self._source = None
            frames.close()  # a detection thread waiting on a camera ends with its next frame
            end = self.tracker.finish(last.index if last else 0, last.timestamp if last else 0.0)
            self._emit(None, end)
            if opened is not None:
                opened.close()
            if owned:
                src.close()

    def run(self, source: Any, sinks: Sequence[Any] = (), max_frames: Optional[int] = None,
            progress: Optional[Callable[[FrameResult], None]] = None, prefetch: int = 4, track_stills: bool = False,
            detect_ahead: int = DETECT_AHEAD, **source_options) -> "RunSummary":
        """Consume a whole stream; returns a :class:`RunSummary`. ``progress`` (optional) is
        called with each result."""
        summary = RunSummary()
        for result in self.stream(source, sinks, max_frames, prefetch=prefetch, track_stills=track_stills,
                                  detect_ahead=detect_ahead, **source_options):
            summary.add(result)
            if progress is not None:
                progress(result)
        summary.finish()
        return summary

    def stop(self) -> None:
        """End the current stream after the frame in progress (safe from any thread)."""
        self._stop.set()
        src = self._source
        if src is not None and getattr(src, "live", False):
            src.close()  # unblocks a read() waiting on a camera

    def close(self) -> None:
        """Stop, and release the models; the pipeline cannot be used afterwards."""
        self._closed = True
        self.stop()
        self.classifier.close()
        self.detector.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _DetectInTurn(object):
    """The source's next frame and its faces, read and detected now by the caller."""

    def __init__(self, source, detect):
        self.source, self.detect = source, detect

    def read(self):
        """(frame, read ms, (detections, detect ms), read start) or None at the end."""
        t0 = time.perf_counter()
        frame = self.source.read()
        if frame is None:
            return None
        read_ms = 1000 * (time.perf_counter() - t0)
        return frame, read_ms, self.detect(frame), t0

    def close(self):
        pass


class DetectAhead(_DetectInTurn):
    """Reads the source and detects its faces in a thread, up to ``depth`` frames ahead of
    the caller, in order and without drops. ONNX Runtime and OpenCV release the GIL while
    they work, so the detector runs on one core while the classifier runs on another: on a
    one-face video the two take about the same time, and a frame costs about the longer of
    the two instead of their sum. A live source is read as fast as the pipeline takes its
    frames, so at most ``depth`` detected frames wait (when the classifier is the slower
    stage). Exceptions of the thread are raised by :meth:`read`."""

    def __init__(self, source, detect, depth=DETECT_AHEAD):
        import queue

        _DetectInTurn.__init__(self, source, detect)
        self._queue = queue.Queue(maxsize=max(1, int(depth)))
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="edgefer-detect", daemon=True)
        self._thread.start()

    def _run(self):
        from .sources import put_unless_stopped

        try:
            item = True
            while item is not None and not self._done.is_set():
                item = _DetectInTurn.read(self)
                put_unless_stopped(self._queue, item, self._done)
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            put_unless_stopped(self._queue, exc, self._done)

    def read(self):
        if self._done.is_set():
            return None
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._done.set()
            raise item
        if item is None:
            self._done.set()
        return item

    def close(self):
        """Stop the thread (it ends after the frame in hand); the source stays open."""
        self._done.set()
        self._thread.join(timeout=2.0)


def open_prefetched(source: Any, prefetch: int = 4, **source_options):
    """:func:`~edgefer.runtime.sources.open_source`, with video files and image folders
    decoded ``prefetch`` frames ahead in a thread (0: not)."""
    from .sources import PrefetchSource, open_source

    src = open_source(source, **source_options)
    if not getattr(src, "live", False) and src.kind in ("file", "folder", "list") and prefetch:
        src = PrefetchSource(src, prefetch)
    return src


def run_source(source: Any, outputs: Sequence[Any] = (), bundle: str = "default", max_frames: Optional[int] = None,
               progress: Optional[Callable[[FrameResult], None]] = None, track_stills: bool = False,
               source_options: Optional[dict] = None, **pipeline_options) -> "RunSummary":
    """What ``edgefer run`` does: check the outputs' locations and open ``source`` first (a
    missing file, an absent camera or an unwritable output is reported before any model loads), then a :class:`Pipeline` (``pipeline_options``), log
    what it runs, stream every frame to ``outputs`` (URIs or sinks, see :meth:`Pipeline.stream`)
    and close everything. Returns the :class:`RunSummary`."""
    if max_frames is not None and max_frames < 1:
        raise EdgeferError("--max-frames %d: expected >= 1" % max_frames)
    from .sinks import check_outputs

    check_outputs(outputs, pipeline_options.get("privacy", "off"))
    src = open_prefetched(source, **(source_options or {}))
    try:
        with Pipeline(bundle, **pipeline_options) as pipe:
            log.info(pipe.describe())
            return pipe.run(src, outputs, max_frames=max_frames, progress=progress, track_stills=track_stills)
    finally:
        src.close()


def _open_outputs(sinks, privacy="off"):
    """Sink objects as given; URIs, paths and callables opened as one group (returned
    second, to be closed by the caller), as ``privacy`` allows."""
    from .sinks import open_sinks

    sinks = list(sinks or ())
    if all(hasattr(s, "write") and hasattr(s, "close") for s in sinks):
        check_sinks(sinks, privacy)
        return sinks, None
    group = open_sinks(sinks, privacy=privacy)
    return [group], group


class RunSummary(object):
    """Frames, faces, FPS and per-stage latency of a run."""

    def __init__(self):
        self.frames = 0
        self.faces = 0
        self.tracks = set()
        self.timings = dict((k, []) for k in STAGES + ("total",))
        self._t0 = time.perf_counter()
        self.seconds = 0.0

    def add(self, result):
        self.frames += 1
        self.faces += len(result.faces)
        self.tracks.update(f.track_id for f in result.faces)
        for k in self.timings:
            self.timings[k].append(result.timings.get(k, 0.0))

    def finish(self):
        self.seconds = time.perf_counter() - self._t0

    @property
    def fps(self):
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def stage_ms(self, q=50):
        return dict((k, float(np.percentile(v, q)) if v else 0.0) for k, v in self.timings.items())

    def line(self):
        med = self.stage_ms()
        stages = " ".join("%s %.2f" % (k, med[k]) for k in STAGES)
        return ("%d frames, %d faces (%d tracks), %.1f FPS; median ms: %s, total %.2f"
                % (self.frames, self.faces, len(self.tracks), self.fps, stages, med["total"]))

    def to_dict(self):
        return {"frames": self.frames, "faces": self.faces, "tracks": len(self.tracks), "seconds": self.seconds,
                "fps": self.fps, "median_ms": self.stage_ms(50), "p99_ms": self.stage_ms(99)}
