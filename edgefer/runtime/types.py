"""The small value types every runtime stage passes along (device side: numpy + stdlib).

Coordinates are pixels of the *source frame* (float, x right, y down); boxes are
``(x0, y0, x1, y1)``. Frames are ``uint8`` BGR ``HxWx3`` arrays, as OpenCV delivers them.
"""

import numpy as np

from ..errors import EdgeferError


class FrameFormatError(EdgeferError, ValueError):
    """An image that is not a gray, BGR or BGRA frame (one line, like every EdgeferError)."""


def to_bgr(image, strict=False, copy=False):
    """The one frame-format conversion: ``image`` as a C-contiguous ``uint8`` BGR ``HxWx3`` array.

    Gray (``HxW`` or ``HxWx1``) is replicated to three channels, BGRA/BGRX drops the fourth.
    ``strict`` (frames handed to the pipeline and the detectors): anything but a non-empty
    ``uint8`` image is refused; otherwise (what sources decode) 16-bit input is scaled to 8
    bits and other depths are clipped. ``copy``: always a new array (the overlay draws on
    it). Other shapes raise :class:`FrameFormatError` (an EdgeferError and a ValueError)."""
    a = np.asarray(image)
    if strict and (a.dtype != np.uint8 or a.size == 0):
        raise FrameFormatError("frame must be a non-empty uint8 image, got %s %s" % (a.dtype, a.shape))
    if a.dtype != np.uint8:
        a = (a >> 8).astype(np.uint8) if a.dtype == np.uint16 else np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        return np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    elif not (a.ndim == 3 and a.shape[2] == 3):
        raise FrameFormatError("frame has shape %s (expected HxW, HxWx3 BGR or HxWx4 BGRA)" % (a.shape,))
    return np.array(a, order="C") if copy else np.ascontiguousarray(a)


class Frame(object):
    """One frame from a source.

    ``index``: 0-based frame counter of the source (for files: the frame number in the file);
    ``timestamp``: seconds — for files the position in the file, for live sources
    ``time.time()`` when the frame was captured (camera-to-result latency is
    ``time.time() - timestamp``); ``image``: the BGR uint8 frame; ``source``: the file it came
    from (video files, images, folders, lists of images) or the live source's name."""

    __slots__ = ("image", "index", "timestamp", "source")

    def __init__(self, image, index, timestamp, source=None):
        self.image = image
        self.index = int(index)
        self.timestamp = float(timestamp)
        self.source = source

    def __repr__(self):
        return "Frame(#%d, t=%.3f, %s)" % (self.index, self.timestamp, "x".join(map(str, self.image.shape)))


class Detection(object):
    """A face found by a detector: box, score in [0, 1] and optional landmarks ((K, 2) array;
    rows 0 and 1 are the subject's right and left eye when present)."""

    __slots__ = ("box", "score", "landmarks")

    def __init__(self, box, score, landmarks=None):
        self.box = tuple(float(v) for v in box)
        self.score = float(score)
        self.landmarks = None if landmarks is None else np.asarray(landmarks, np.float32).reshape(-1, 2)

    @property
    def width(self):
        return self.box[2] - self.box[0]

    @property
    def height(self):
        return self.box[3] - self.box[1]

    def __repr__(self):
        return "Detection(box=(%.1f, %.1f, %.1f, %.1f), score=%.3f)" % (self.box + (self.score,))


class Face(object):
    """A tracked, classified face in one frame's result.

    ``track_id``: stable while the face stays; ``emotion``: the reported label (changes
    only past the tracker's hysteresis margin); ``confidence``: its smoothed probability;
    ``probs``: smoothed probabilities over ``labels``; ``raw_probs``: this frame's
    classifier output; ``score``: the detector's score.

    The JSON-lines record (:meth:`to_dict`, ``frame.schema.json``) uses the same names except
    where :data:`JSON_NAMES` maps them (the one place they differ): ``track_id`` is ``id`` and
    ``emotion`` is ``label``; ``probs`` becomes a ``{label: p}`` object; ``raw_probs`` and
    ``labels`` are left out."""

    JSON_NAMES = {"track_id": "id", "emotion": "label"}

    __slots__ = ("track_id", "box", "score", "landmarks", "labels", "probs", "raw_probs", "emotion", "confidence")

    def __init__(self, track_id, box, score, landmarks, labels, probs, raw_probs, emotion, confidence):
        self.track_id = int(track_id)
        self.box = tuple(float(v) for v in box)
        self.score = float(score)
        self.landmarks = landmarks
        self.labels = labels
        self.probs = probs
        self.raw_probs = raw_probs
        self.emotion = emotion
        self.confidence = float(confidence)

    def to_dict(self, decimals=4):
        """The JSON-lines form (see ``frame.schema.json``)."""
        r = lambda v: round(float(v), decimals)  # noqa: E731
        return {
            self.JSON_NAMES["track_id"]: self.track_id,
            "box": [r(v) for v in self.box],
            "score": r(self.score),
            "landmarks": None if self.landmarks is None else [[r(x), r(y)] for x, y in self.landmarks],
            self.JSON_NAMES["emotion"]: self.emotion,
            "confidence": r(self.confidence),
            "probs": {name: r(p) for name, p in zip(self.labels, self.probs)},
        }

    def __repr__(self):
        return "Face(id=%d, %s %.2f, box=(%.0f, %.0f, %.0f, %.0f))" % ((self.track_id, self.emotion, self.confidence)
                                                                      + self.box)


class Event(object):
    """Something that happened to a track: ``kind`` is ``"appeared"``, ``"emotion_changed"`` or
    ``"lost"``; ``emotion`` the label after the event (the last one for ``"lost"``),
    ``previous`` the label before (``"emotion_changed"`` only)."""

    APPEARED = "appeared"
    EMOTION_CHANGED = "emotion_changed"
    LOST = "lost"
    __slots__ = ("kind", "track_id", "emotion", "previous", "frame_index", "timestamp")

    def __init__(self, kind, track_id, emotion=None, previous=None, frame_index=0, timestamp=0.0):
        self.kind = kind
        self.track_id = int(track_id)
        self.emotion = emotion
        self.previous = previous
        self.frame_index = int(frame_index)
        self.timestamp = float(timestamp)

    def to_dict(self):
        d = {"event": self.kind, "id": self.track_id, "label": self.emotion}
        if self.kind == Event.EMOTION_CHANGED:
            d["previous"] = self.previous
        return d

    def __repr__(self):
        return "Event(%s, id=%d, %s)" % (self.kind, self.track_id, self.emotion)


class FrameResult(object):
    """What the pipeline hands to sinks and callers for each frame.

    ``frame``: the :class:`Frame` (its image is the unannotated BGR frame); ``faces``: list of
    :class:`Face`; ``events``: list of :class:`Event` raised on this frame; ``timings``:
    milliseconds per stage (``read``, ``detect``, ``preprocess``, ``classify``, ``track``,
    ``output``) and ``total``."""

    __slots__ = ("frame", "faces", "events", "timings")

    def __init__(self, frame, faces, events=None, timings=None):
        self.frame = frame
        self.faces = list(faces)
        self.events = list(events or [])
        self.timings = dict(timings or {})

    @property
    def index(self):
        return self.frame.index

    @property
    def timestamp(self):
        return self.frame.timestamp

    @property
    def image(self):
        return self.frame.image

    def to_dict(self, decimals=4):
        """One JSON line (schema: ``frame.schema.json`` beside this module)."""
        h, w = self.frame.image.shape[:2]
        d = {} if self.frame.source is None else {"source": str(self.frame.source)}
        return dict(d, **{
            "frame": self.frame.index,
            "timestamp": round(self.frame.timestamp, 6),
            "width": int(w),
            "height": int(h),
            "faces": [f.to_dict(decimals) for f in self.faces],
            "events": [e.to_dict() for e in self.events],
        })

    def __repr__(self):
        return "FrameResult(#%d, %d faces, %d events)" % (self.frame.index, len(self.faces), len(self.events))


class Sink(object):
    """Base class: ``write(result)``, ``close()``, a context manager, and ``stopped``."""

    stopped = False
    carries_frames = False  # whether frames leave through it (privacy mode no-video refuses those)

    def write(self, result: "FrameResult") -> None:
        """Take one frame's result."""
        raise NotImplementedError

    def close(self) -> None:
        """Finish: flush and release what the sink holds (files are complete after it)."""

    def abort(self) -> None:
        """End after a failure: like :meth:`close`, except file sinks drop unfinished files."""
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # Ctrl-C, sys.exit() and a consumer leaving a generator early (GeneratorExit) end a
        # run normally: keep what was written. Only an error (an Exception) aborts.
        if exc_type is not None and issubclass(exc_type, Exception):
            self.abort()
        else:
            self.close()
        return False
