"""Draw a :class:`~edgefer.runtime.types.FrameResult` onto its frame (device side: numpy + OpenCV).

``draw(image, result)`` returns an annotated *copy*: per face a box in the emotion's colour,
a label ``#<track id> <emotion> <confidence %>`` on a filled background (legible on any
picture), optional landmarks, optional per-face probability bars, and optional FPS text in
the top-left corner. :class:`Overlay` holds those options for the sinks, measures the FPS
and draws each result once however many sinks ask for it.

Colours are fixed per canonical emotion (:data:`PALETTE`, BGR); a label outside the
canonical set gets a colour derived from a CRC of its name, the same in every run.
"""

import collections
import colorsys
import threading
import time
import zlib

import numpy as np

from .. import deps
from .types import to_bgr

# BGR, keyed by the canonical names of edgefer.labels.CANONICAL.
PALETTE = {
    "angry": (40, 40, 230),      # red
    "disgust": (40, 150, 40),    # green
    "fear": (170, 60, 170),      # purple
    "happy": (0, 215, 255),      # yellow
    "sad": (200, 120, 40),       # blue
    "surprise": (0, 140, 255),   # orange
    "neutral": (185, 185, 185),  # grey
    "contempt": (150, 150, 0),   # teal
}
UNLABELLED = (255, 255, 255)  # a face not classified yet (emotion None)
_PANEL = (32, 32, 32)         # background of the probability bars and the FPS text


def color_for(label):
    """BGR colour of ``label``: :data:`PALETTE` for canonical names, otherwise a saturated
    colour chosen by the CRC-32 of the name (stable across runs and machines)."""
    if label is None:
        return UNLABELLED
    key = str(label).lower()
    if key in PALETTE:
        return PALETTE[key]
    hue = (zlib.crc32(key.encode("utf-8")) % 360) / 360.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return (int(b * 255), int(g * 255), int(r * 255))


def _ink(color):
    """Black or white, whichever reads better on ``color`` (BGR)."""
    b, g, r = color
    return (0, 0, 0) if 0.114 * b + 0.587 * g + 0.299 * r > 140 else (255, 255, 255)


def _faces_of(result):
    return list(result.faces) if hasattr(result, "faces") else list(result)


class _Style(object):
    """Line width and font size scaled with the frame (640 px wide: 2 px lines, font 0.5)."""

    def __init__(self, cv2, h, w, thickness=None, font_scale=None):
        s = max(h, w) / 640.0
        self.font = cv2.FONT_HERSHEY_SIMPLEX
        self.line = int(thickness) if thickness else max(1, int(round(1.5 * s)))
        self.scale = float(font_scale) if font_scale else max(0.4, 0.5 * s)
        self.text = max(1, int(round(self.scale * 1.6)))
        self.pad = max(2, int(round(3 * s)))

    def size(self, cv2, text):
        (tw, th), base = cv2.getTextSize(text, self.font, self.scale, self.text)
        return tw, th, base


def _text_box(cv2, img, text, x, y, color, st):
    """Text on a filled box whose top-left corner is (x, y), moved inside the image; returns
    the box (x0, y0, x1, y1)."""
    h, w = img.shape[:2]
    tw, th, base = st.size(cv2, text)
    bw, bh = tw + 2 * st.pad, th + base + 2 * st.pad
    x = int(min(max(x, 0), max(w - bw, 0)))
    y = int(min(max(y, 0), max(h - bh, 0)))
    cv2.rectangle(img, (x, y), (x + bw - 1, y + bh - 1), color, -1)
    cv2.putText(img, text, (x + st.pad, y + st.pad + th), st.font, st.scale, _ink(color), st.text, cv2.LINE_AA)
    return x, y, x + bw, y + bh


def _face_label(face):
    if face.emotion is None:
        return "#%d" % face.track_id
    return "#%d %s %d%%" % (face.track_id, face.emotion, int(round(100 * face.confidence)))


def _bars(cv2, img, face, box, st):
    """A small panel of probability bars beside the box (right if it fits, else left)."""
    labels = list(face.labels or [])
    probs = [] if face.probs is None else [float(p) for p in face.probs]
    if not labels or len(labels) != len(probs):
        return
    h, w = img.shape[:2]
    name_w = max(st.size(cv2, str(n))[0] for n in labels)
    th, base = st.size(cv2, "Ag")[1:]
    row = th + base + st.pad
    bar_len = max(40, int(round(100 * st.scale)))
    pw = name_w + bar_len + 3 * st.pad
    ph = row * len(labels) + st.pad
    x0, y0, x1, _ = box
    gap = 2 * st.line
    px = x1 + gap if x1 + gap + pw <= w else x0 - gap - pw
    px = int(min(max(px, 0), max(w - pw, 0)))
    py = int(min(max(y0, 0), max(h - ph, 0)))
    cv2.rectangle(img, (px, py), (px + pw - 1, py + ph - 1), _PANEL, -1)
    for i, (name, p) in enumerate(zip(labels, probs)):
        ty = py + st.pad + i * row
        ink = color_for(name) if name == face.emotion else (235, 235, 235)
        cv2.putText(img, str(name), (px + st.pad, ty + th), st.font, st.scale, ink, st.text, cv2.LINE_AA)
        bx = px + 2 * st.pad + name_w
        length = int(round(bar_len * min(max(p, 0.0), 1.0)))
        if length > 0:
            cv2.rectangle(img, (bx, ty), (bx + length - 1, ty + th + base // 2), color_for(name), -1)


def draw(image, result, landmarks=True, bars=False, fps=None, thickness=None, font_scale=None):
    """Return an annotated copy of ``image`` (BGR uint8; ``None``: ``result.image``).

    ``result``: a :class:`FrameResult` (or a list of :class:`Face`); ``landmarks``: draw the
    detector's landmarks; ``bars``: a probability bar per label beside each face; ``fps``: a
    number to print in the top-left corner (``None``: no FPS text); ``thickness`` and
    ``font_scale`` override the sizes chosen from the frame size. ``image`` is not modified.
    """
    cv2 = deps.cv2("drawing the overlay")
    if image is None:
        image = result.image
    out = to_bgr(image, copy=True)
    h, w = out.shape[:2]
    st = _Style(cv2, h, w, thickness, font_scale)
    faces = [(f, color_for(f.emotion), tuple(int(round(v)) for v in f.box)) for f in _faces_of(result)]
    # Boxes first, then bars, then labels: a label stays readable where a neighbour's
    # bars or box overlap it.
    for face, color, (x0, y0, x1, y1) in faces:
        cv2.rectangle(out, (x0, y0), (x1, y1), color, st.line)
        if landmarks and face.landmarks is not None:
            r = max(2, st.line)
            for x, y in np.asarray(face.landmarks, np.float32).reshape(-1, 2):
                cv2.circle(out, (int(round(x)), int(round(y))), r, color, -1, cv2.LINE_AA)
    if bars:
        for face, _, box in faces:
            _bars(cv2, out, face, box, st)
    for face, color, (x0, y0, x1, y1) in faces:
        text = _face_label(face)
        _, th, base = st.size(cv2, text)
        bh = th + base + 2 * st.pad
        top = y0 - bh if y0 - bh >= 0 else y0  # above the box, or inside it at the top edge
        _text_box(cv2, out, text, x0 - st.line // 2, top, color, st)
    if fps is not None:
        _text_box(cv2, out, "%.1f fps" % fps, st.pad, st.pad, _PANEL, st)
    return out


class FpsMeter(object):
    """Frames per second over the last ``window`` results, by the wall clock."""

    def __init__(self, window=30):
        self._times = collections.deque(maxlen=max(2, int(window)))

    def tick(self, now=None):
        self._times.append(time.monotonic() if now is None else now)

    @property
    def fps(self):
        if len(self._times) < 2:
            return None
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else None


class Overlay(object):
    """The overlay options shared by the sinks of one pipeline.

    ``overlay(result)`` returns the annotated frame, drawn once per result (the last one is
    kept, so a window, a video file and the web page showing the same frame draw it once);
    callers must not modify the returned array. ``show_fps`` prints the rate at which
    results arrive (measured by :meth:`note`, which every sink calls once per result)."""

    def __init__(self, landmarks=True, bars=False, show_fps=False, thickness=None, font_scale=None):
        self.landmarks = landmarks
        self.bars = bars
        self.show_fps = show_fps
        self.thickness = thickness
        self.font_scale = font_scale
        self.meter = FpsMeter()
        self._lock = threading.Lock()
        self._noted = None
        self._drawn = None  # (result, image): holding the result keeps its id() unique

    def note(self, result):
        """Count ``result`` for the FPS (once, however many sinks pass it)."""
        with self._lock:
            if self._noted is not result:
                self._noted = result
                self.meter.tick()

    def __call__(self, result):
        """Count ``result`` (:meth:`note`) and return it drawn (:meth:`render`)."""
        self.note(result)
        return self.render(result)

    def render(self, result):
        """``result`` drawn with these options (cached for the last result)."""
        with self._lock:
            if self._drawn is not None and self._drawn[0] is result:
                return self._drawn[1]
            fps = (self.meter.fps or 0.0) if self.show_fps else None
            image = draw(result.image, result, landmarks=self.landmarks, bars=self.bars, fps=fps,
                         thickness=self.thickness, font_scale=self.font_scale)
            self._drawn = (result, image)
            return image
