"""The face-detector interface: ``detect(bgr_frame) -> [Detection]``, best first, with boxes
mapped to the reference face box.

Box calibration: detectors draw boxes differently (BlazeFace's box ends above the
eyebrows, YuNet's reaches the forehead). Each detector maps its raw box to the *reference
face box*, defined as the tight crop of FER2013 (a preprocessing block with margin 0 frames
faces like FER2013). The scale and shift per detector were measured by detecting faces on
FER2013 PublicTest images padded into a larger canvas (``benchmarks/detector_framing.py``,
results in ``benchmarks/results/detector_framing.md``).
"""

from typing import List

import numpy as np

from .. import deps
from .types import Detection, to_bgr

# Raw detector box -> reference (FER2013-tight) square box: side = longer side * scale,
# centre y += shift_y * side,
# measured by benchmarks/detector_framing.py (median over FER2013 PublicTest images the
# detector found; see benchmarks/results/detector_framing.md).
# 400 faces, 192 px: BlazeFace's box is tighter than FER2013's crop and sits lower (the
# crop reaches up to the brows); YuNet's box is taller than wide (h/w 1.28) and its longer
# side already matches FER2013's.
BOX_CALIBRATION = {
    "blazeface": {"scale": 1.218, "shift_y": -0.087},
    "blazeface-back": {"scale": 1.177, "shift_y": -0.092},
    "yunet": {"scale": 0.967, "shift_y": -0.008},
}


class FaceDetector(object):
    """Base class. ``detect(image)`` takes a BGR uint8 frame and returns the faces, best
    first, as :class:`~edgefer.runtime.types.Detection` with boxes in frame pixels mapped to
    the reference face box (see the module docstring)."""

    name = "detector"

    def __init__(self, score_threshold=0.6, nms_threshold=0.3, min_size=0, max_faces=0, calibrate=True,
                 close_up=True):
        self.close_up = bool(close_up)
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.min_size = float(min_size)
        self.max_faces = int(max_faces)
        self.calibration = BOX_CALIBRATION.get(self.name) if calibrate else None

    def detect(self, image: np.ndarray) -> List[Detection]:
        """The faces of a BGR (or grayscale / BGRA) uint8 frame, best first."""
        image = to_bgr(image, strict=True)
        dets = self._detect(image)
        if not dets and self.close_up:
            dets = self._detect_close_up(image)
        if self.calibration:
            dets = [_calibrate(d, self.calibration) for d in dets]
        if self.min_size > 0:
            dets = [d for d in dets if min(d.width, d.height) >= self.min_size]
        dets.sort(key=lambda d: -d.score)
        if self.max_faces > 0:
            dets = dets[:self.max_faces]
        return dets

    def _detect(self, image):
        raise NotImplementedError

    # The canvas of the close-up pass: mid-grey, not the frame's edge replicated. Measured on
    # the shipped model's validation slice (2,871 FER2013 Training faces shown whole at 192 px,
    # benchmarks/close_up.py): replicated borders smear the cut-off face into the padding, and
    # the detectors miss more of them (see benchmarks/results/close-up-2026-12-02/).
    CLOSE_UP_FILL = (127, 127, 127)

    def _detect_close_up(self, image):
        """A face that fills the whole frame (an ID photo, a data-set crop, a face right in
        front of a kiosk camera) is larger than the detectors were trained to find: look
        again with the frame in the middle of a mid-grey canvas twice its size and map the
        boxes back. Only frames where the plain pass found nothing pay for it."""
        cv2 = deps.cv2("face detection")
        pad = max(image.shape[:2]) // 2
        if self.CLOSE_UP_FILL is None:
            canvas = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        else:
            canvas = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=self.CLOSE_UP_FILL)
        out = []
        for d in self._detect(canvas):
            x0, y0, x1, y1 = d.box
            lm = None if d.landmarks is None else d.landmarks - np.float32(pad)
            out.append(Detection((x0 - pad, y0 - pad, x1 - pad, y1 - pad), d.score, lm))
        return out

    def describe(self) -> str:
        return "%s (score >= %.2f, NMS IoU %.2f)" % (self.name, self.score_threshold, self.nms_threshold)

    def close(self) -> None:
        """Release the model."""


class WithFarLook(FaceDetector):
    """A close-range detector that looks again with a far-range one on the frames where it
    finds no face at all (after its own close-up pass): BlazeFace short-range misses faces
    under about a fifth of the frame (a person a few metres from a kiosk, a face in a room
    view), which the back-camera model finds. Frames with a face pay nothing more; an empty
    frame pays the second model (7.3 ms against 0.9 ms on this project's Intel machine).
    Each model's boxes get its own calibration. Measured on all 3,589 FER2013 PublicTest faces
    pasted at 160 px into a 640x360 frame (``benchmarks/detector_framing.py``): short-range
    alone missed 14.1 % of them, with the far look 1.4 %."""

    def __init__(self, near: FaceDetector, far: FaceDetector) -> None:
        self.near, self.far = near, far
        self.name = near.name
        self.score_threshold, self.nms_threshold = near.score_threshold, near.nms_threshold
        self.min_size, self.max_faces, self.close_up = near.min_size, near.max_faces, near.close_up
        self.calibration = near.calibration

    def detect(self, image: np.ndarray) -> List[Detection]:
        return self.near.detect(image) or self.far.detect(image)

    def describe(self) -> str:
        return "%s; where it finds none, %s" % (self.near.describe(), self.far.describe())

    def close(self) -> None:
        self.near.close()
        self.far.close()


def _calibrate(det, cal):
    x0, y0, x1, y1 = det.box
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    side = max(x1 - x0, y1 - y0) * cal["scale"]
    cy += cal["shift_y"] * side
    return Detection((cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), det.score, det.landmarks)
