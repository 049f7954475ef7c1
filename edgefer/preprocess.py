"""The one preprocessing implementation (numpy + OpenCV), shared by training, evaluation,
the export's accuracy gate and the runtime, so host and device numbers are measured on
the same input.

A :class:`Preprocess` block travels in every checkpoint and bundle manifest::

    {"size": 64,                    # square input side, pixels
     "color": "gray3",              # "gray3": grayscale replicated to 3 channels; "rgb"
     "interpolation": "area",       # OpenCV resize: "area", "linear", "cubic", "nearest"
     "mean": [0.5, 0.5, 0.5],       # per channel, on [0, 1] pixel values (RGB order)
     "std": [0.5, 0.5, 0.5],        # (x/255 - mean) / std; 0.5/0.5 gives [-1, 1]
     "framing": {"margin": 0.0,     # box side grows by this fraction (0.2 = 20 %) ...
                 "shift_y": 0.0,    # ... and moves down by this fraction of its side
                 "square": true,    # the crop is a square around the box centre
                 "align": false}}   # rotate so the eyes are level (needs eye landmarks)

Face boxes given to the framing are *reference face boxes*: the runtime's detectors map
their own boxes onto FER2013's tight framing (``edgefer.runtime.face_detector.BOX_CALIBRATION``,
measured by ``benchmarks/detector_framing.py``), so margin 0 frames a detected face as
FER2013 framed its faces, whatever detector found it; a looser data set (RAF-DB original
images, AffectNet boxes) records its own margin relative to that.

Images are ``uint8`` arrays: ``HxW`` grayscale, ``HxWx3`` RGB, or ``HxWx4`` RGBA. Camera
frames from OpenCV are BGR: pass ``bgr=True``.
"""

import math

import numpy as np

from . import deps
from .errors import EdgeferError

_INTERP = {"nearest": 0, "linear": 1, "cubic": 2, "area": 3}  # cv2.INTER_* values
COLORS = ("gray3", "rgb")
SCHEMA_KEYS = ("size", "color", "interpolation", "mean", "std", "framing")


def _known_keys(d, keys, what):
    """``d`` when every key is one of ``keys``; a clear error naming the others otherwise."""
    unknown = set(d) - set(keys)
    if unknown:
        raise EdgeferError("%s: unknown keys %s" % (what, sorted(unknown)))
    return d


class Framing(object):
    """How a face box becomes a crop: margin, vertical shift, square, eye alignment."""

    def __init__(self, margin=0.0, shift_y=0.0, square=True, align=False):
        self.margin = float(margin)
        self.shift_y = float(shift_y)
        self.square = bool(square)
        self.align = bool(align)

    def to_dict(self):
        return {"margin": self.margin, "shift_y": self.shift_y, "square": self.square, "align": self.align}

    @classmethod
    def from_dict(cls, d):
        return cls(**_known_keys(dict(d or {}), ("margin", "shift_y", "square", "align"), "preprocessing framing"))

    def __eq__(self, other):
        return isinstance(other, Framing) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return "Framing(%s)" % ", ".join("%s=%r" % kv for kv in self.to_dict().items())


class Preprocess(object):
    """The preprocessing block (see module docstring)."""

    def __init__(self, size=64, color="gray3", interpolation="area", mean=(0.5, 0.5, 0.5),
                 std=(0.5, 0.5, 0.5), framing=None):
        if int(size) < 16:
            raise EdgeferError("preprocessing: input size %r is too small (expected >= 16 pixels)" % (size,))
        if color not in COLORS:
            raise EdgeferError("preprocessing: color %r (expected one of %s)" % (color, ", ".join(COLORS)))
        if interpolation not in _INTERP:
            raise EdgeferError(
                "preprocessing: interpolation %r (expected one of %s)" % (interpolation, ", ".join(_INTERP))
            )
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise EdgeferError("preprocessing: mean and std need 3 values each, std > 0")
        self.size = int(size)
        self.color = color
        self.interpolation = interpolation
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.framing = framing if isinstance(framing, Framing) else Framing.from_dict(framing)
        # Normalisation folded into one multiply-add on uint8 input: (x - 255*mean) / (255*std).
        self._scale = (1.0 / (255.0 * np.asarray(self.std, np.float32))).reshape(3, 1, 1)
        self._shift = (np.asarray(self.mean, np.float32) / np.asarray(self.std, np.float32)).reshape(3, 1, 1)

    # -- (de)serialisation -------------------------------------------------------------
    def to_dict(self):
        return {
            "size": self.size,
            "color": self.color,
            "interpolation": self.interpolation,
            "mean": list(self.mean),
            "std": list(self.std),
            "framing": self.framing.to_dict(),
        }

    @classmethod
    def from_dict(cls, d):
        if not isinstance(d, dict):
            raise EdgeferError("preprocessing block: expected a JSON object, got %s" % type(d).__name__)
        return cls(**_known_keys(d, SCHEMA_KEYS, "preprocessing block"))

    def __eq__(self, other):
        return isinstance(other, Preprocess) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return "Preprocess(%r)" % self.to_dict()

    # -- the pipeline --------------------------------------------------------------------
    def to_model_colour(self, image, bgr=False):
        """Grayscale, RGB, BGR or RGBA uint8 image -> the block's colour (HxW for gray3, HxWx3 RGB)."""
        cv2 = deps.cv2("preprocessing")
        image = _as_uint8(image)
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        if image.ndim == 2:
            return image if self.color == "gray3" else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise EdgeferError("image has shape %s (expected HxW, HxWx3 or HxWx4)" % (image.shape,))
        if image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR if bgr else cv2.COLOR_RGBA2RGB)
        if self.color == "gray3":
            return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY if bgr else cv2.COLOR_RGB2GRAY)
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if bgr else image

    def crop(self, image, box=None, landmarks=None):
        """Cut the face out of ``image`` by the framing: ``box`` is (x0, y0, x1, y1) in pixels,
        None for an image that already is a face crop (data-set crops such as FER2013).
        ``landmarks`` (optional) is a (K, 2) array whose first two rows are the right and
        left eye, used when ``framing.align`` is set. Parts outside the image are filled by
        replicating the border."""
        if box is None:
            return image
        return crop_box(image, box, self.framing, landmarks, interpolation=self.interpolation)

    def resize(self, image):
        """Resize a face crop to ``size x size`` with the block's interpolation."""
        cv2 = deps.cv2("preprocessing")
        if image.shape[0] == self.size and image.shape[1] == self.size:
            return image
        if image.shape[0] < 1 or image.shape[1] < 1:
            raise EdgeferError("empty face crop %s" % (image.shape,))
        # INTER_AREA is for shrinking; when enlarging OpenCV treats it as linear.
        return cv2.resize(image, (self.size, self.size), interpolation=_INTERP[self.interpolation])

    def prepare(self, image, box=None, landmarks=None, bgr=False):
        """Colour conversion, framing crop and resize: a ``size x size`` uint8 image, HxW
        (gray3) or HxWx3 (rgb). Training augments this image; evaluation normalises it."""
        return self.resize(self.crop(self.to_model_colour(image, bgr=bgr), box, landmarks))

    def normalize(self, prepared):
        """uint8 ``size x size`` (HxW or HxWx3) -> float32 3xHxW normalised tensor."""
        x = np.asarray(prepared, dtype=np.float32)
        if x.ndim == 2:
            x = np.broadcast_to(x[None], (3,) + x.shape)
        else:
            x = x.transpose(2, 0, 1)
        return x * self._scale - self._shift

    def __call__(self, image, box=None, landmarks=None, bgr=False):
        """One image -> float32 3xHxW model input."""
        return self.normalize(self.prepare(image, box, landmarks, bgr=bgr))

    def batch(self, images, boxes=None, landmarks=None, bgr=False):
        """A list of images (and optional boxes) -> float32 Nx3xHxW."""
        out = np.empty((len(images), 3, self.size, self.size), np.float32)
        for i, img in enumerate(images):
            out[i] = self(img, None if boxes is None else boxes[i],
                          None if landmarks is None else landmarks[i], bgr=bgr)
        return out


def _as_uint8(image):
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise EdgeferError("image has dtype %s (expected uint8 pixels 0-255)" % image.dtype)
    if image.size == 0:
        raise EdgeferError("image is empty, shape %s" % (image.shape,))
    return image


def framed_box(box, framing, image_shape=None):
    """The crop rectangle (x0, y0, x1, y1), floats, that ``framing`` makes of a face box."""
    x0, y0, x1, y1 = [float(v) for v in box]
    w, h = x1 - x0, y1 - y0
    if w <= 0 or h <= 0:
        raise EdgeferError("face box %s has no area" % (list(box),))
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    if framing.square:
        w = h = max(w, h)
    cy += framing.shift_y * h
    w *= 1.0 + framing.margin
    h *= 1.0 + framing.margin
    return (cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0)


def crop_box(image, box, framing, landmarks=None, interpolation="linear"):
    """Crop by ``framing`` around ``box``; with ``framing.align`` and eye landmarks the crop
    is rotated so the eyes are level. Out-of-image parts replicate the border."""
    cv2 = deps.cv2("face cropping")
    x0, y0, x1, y1 = framed_box(box, framing)
    w, h = x1 - x0, y1 - y0
    out_w, out_h = max(1, int(round(w))), max(1, int(round(h)))
    angle = 0.0
    if framing.align and landmarks is not None and len(landmarks) >= 2:
        (rx, ry), (lx, ly) = np.asarray(landmarks, np.float64)[:2]
        angle = math.degrees(math.atan2(ly - ry, lx - rx))
    if angle == 0.0:
        # Integer crop with border replication: no resampling of the face pixels.
        ix0, iy0 = int(math.floor(x0)), int(math.floor(y0))
        ix1, iy1 = ix0 + out_w, iy0 + out_h
        H, W = image.shape[:2]
        pad = (max(0, -iy0), max(0, iy1 - H), max(0, -ix0), max(0, ix1 - W))
        crop = image[max(0, iy0):min(H, iy1), max(0, ix0):min(W, ix1)]
        if any(pad):
            if crop.size == 0:
                raise EdgeferError("face box %s lies outside the %dx%d image" % (list(box), W, H))
            crop = cv2.copyMakeBorder(crop, pad[0], pad[1], pad[2], pad[3], cv2.BORDER_REPLICATE)
        return crop
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    m = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    m[0, 2] += out_w / 2.0 - cx
    m[1, 2] += out_h / 2.0 - cy
    return cv2.warpAffine(image, m, (out_w, out_h), flags=_INTERP[interpolation], borderMode=cv2.BORDER_REPLICATE)
