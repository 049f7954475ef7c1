"""Face detectors: one small interface, ``detect(bgr_frame) -> [Detection]``.

=================  =========================================================  ==============================
name               model                                                      use it for
=================  =========================================================  ==============================
``blazeface``      MediaPipe BlazeFace short-range, 128 px (shipped)          default: kiosks, robots, faces
                                                                              within ~2 m; fastest
``blazeface-back`` MediaPipe BlazeFace back camera, 256 px (shipped)          room view: smaller, farther
                                                                              faces, group photos
``yunet``          OpenCV zoo YuNet via ``cv2.FaceDetectorYN`` (user-given     multi-scale 10-300 px faces,
                   model path, MIT; not shipped)                              any frame size
=================  =========================================================  ==============================

Both BlazeFace models share one decoder (896 anchors: a 16x16 grid with 2 anchors per cell,
then an 8x8 grid with 6, centres at (i + 0.5) / grid, unit anchor size), the frame is
letterboxed to the model's square input, and overlapping boxes are merged with MediaPipe's
weighted NMS. Landmarks come in the order (subject's) right eye, left eye, then the
model's others (BlazeFace: nose, mouth, right ear, left ear; YuNet: nose, right and left
mouth corner), so the framing's eye alignment works with both.

Box calibration: detectors draw boxes differently (BlazeFace's box ends above the
eyebrows, YuNet's reaches the forehead). Each detector maps its raw box to the *reference
face box*, defined as the tight crop of FER2013 (a preprocessing block with margin 0 frames
faces like FER2013). The scale and shift per detector were measured by detecting faces on
FER2013 PublicTest images padded into a larger canvas (``benchmarks/detector_framing.py``,
results in ``benchmarks/results/detector_framing.md``).
"""

import os

import numpy as np

from .. import deps
from ..errors import EdgeferError
from .types import Detection, to_bgr

MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
BLAZEFACE_FRONT = os.path.join(MODELS_DIR, "face_detection_front_128x128_barracuda.onnx")
BLAZEFACE_BACK = os.path.join(MODELS_DIR, "face_detection_back_256x256_barracuda.onnx")

DETECTORS = ("blazeface", "blazeface-back", "yunet")
DEFAULT_DETECTOR = "blazeface"

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

    def detect(self, image):
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

    def _detect_close_up(self, image):
        """A face that fills the whole frame (an ID photo, a data-set crop, a face right in
        front of a kiosk camera) is larger than the detectors were trained to find: look
        again with the frame in the middle of a canvas twice its size, borders replicated
        (as the crops of faces at the frame edge are), and map the boxes back. Only frames
        where the plain pass found nothing pay for it. Measured on FER2013 PublicTest crops
        shown whole at 192 px, BlazeFace short-range: 161 of 200 found plain, 188 with this."""
        cv2 = deps.cv2("face detection")
        pad = max(image.shape[:2]) // 2
        canvas = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        out = []
        for d in self._detect(canvas):
            x0, y0, x1, y1 = d.box
            lm = None if d.landmarks is None else d.landmarks - np.float32(pad)
            out.append(Detection((x0 - pad, y0 - pad, x1 - pad, y1 - pad), d.score, lm))
        return out

    def describe(self):
        return "%s (score >= %.2f, NMS IoU %.2f)" % (self.name, self.score_threshold, self.nms_threshold)

    def close(self):
        pass


def _calibrate(det, cal):
    x0, y0, x1, y1 = det.box
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    side = max(x1 - x0, y1 - y0) * cal["scale"]
    cy += cal["shift_y"] * side
    return Detection((cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), det.score, det.landmarks)


def iou(a, b):
    """IoU of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def iou_matrix(a, b):
    """Pairwise IoU of (N, 4) and (M, 4) box arrays -> (N, M)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(boxes, scores, keypoints, iou_threshold):
    """MediaPipe's weighted non-maximum suppression: each kept face is the score-weighted
    mean of the boxes (and keypoints) overlapping the best one. Written here because
    OpenCV's ``cv2.dnn.NMSBoxes`` only drops boxes; blending them steadies the box from
    frame to frame, which the tracker and the crop framing both benefit from."""
    order = np.argsort(-scores)
    boxes, scores, keypoints = boxes[order], scores[order], keypoints[order]
    out = []
    remaining = np.arange(len(scores))
    while len(remaining):
        ious = iou_matrix(boxes[remaining[:1]], boxes[remaining])[0]
        ious[0] = 1.0  # the best box always joins its own group
        group = remaining[ious > iou_threshold]
        w = scores[group][:, None]
        box = (boxes[group] * w).sum(0) / w.sum()
        kps = (keypoints[group] * w[:, :, None]).sum(0) / w.sum()
        out.append((box, float(scores[group[0]]), kps))
        remaining = remaining[ious <= iou_threshold]
    return out


def blazeface_anchors():
    """The 896 anchor centres (x, y) in [0, 1] of both BlazeFace models."""
    out = []
    for grid, per_cell in ((16, 2), (8, 6)):
        c = (np.arange(grid, dtype=np.float32) + 0.5) / grid
        yy, xx = np.meshgrid(c, c, indexing="ij")
        centres = np.stack([xx.ravel(), yy.ravel()], 1)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out)


class BlazeFace(FaceDetector):
    """MediaPipe BlazeFace (short-range 128 px or back-camera 256 px) with ONNX Runtime."""

    def __init__(self, model="front", threads=1, score_threshold=0.6, nms_threshold=0.3, min_size=0, max_faces=0,
                 calibrate=True, providers=None, spinning=True, close_up=True):
        path = {"front": BLAZEFACE_FRONT, "back": BLAZEFACE_BACK}.get(model, model)
        self.name = "blazeface-back" if path == BLAZEFACE_BACK else "blazeface"
        super(BlazeFace, self).__init__(score_threshold, nms_threshold, min_size, max_faces, calibrate, close_up)
        if not os.path.isfile(path):
            raise EdgeferError("BlazeFace model %s does not exist" % path)
        from ..onnx_predict import session

        self.session = session(path, threads=threads, providers=providers, spinning=spinning)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.size = int(inp.shape[1])
        if inp.shape[1] != inp.shape[2] or inp.shape[3] != 3:
            raise EdgeferError("%s is not a BlazeFace model (input %s, expected 1xNxNx3)" % (path, inp.shape))
        outs = self.session.get_outputs()
        # Scores are the two (1, K, 1) outputs, regressors the two (1, K, 16) outputs; order
        # the grids by their anchor count (512 first), whatever the names.
        by = sorted(outs, key=lambda o: (o.shape[2], -o.shape[1]))
        self.output_names = [o.name for o in by]  # score512, score384, reg512, reg384
        if [tuple(o.shape[1:]) for o in by] != [(512, 1), (384, 1), (512, 16), (384, 16)]:
            raise EdgeferError("%s: unexpected BlazeFace outputs %s" % (path, [o.shape for o in outs]))
        self.anchors = blazeface_anchors()
        self._canvas = None

    def _letterbox(self, image):
        """Frame -> (1, S, S, 3) float32 RGB in [-1, 1], plus the scale and padding used."""
        cv2 = deps.cv2("face detection")
        h, w = image.shape[:2]
        s = float(self.size) / max(h, w)
        nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
        small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        px, py = (self.size - nw) // 2, (self.size - nh) // 2
        if self._canvas is None:
            self._canvas = np.zeros((self.size, self.size, 3), np.uint8)
        canvas = self._canvas
        canvas[:] = 0
        canvas[py:py + nh, px:px + nw] = small
        rgb = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)
        x = rgb.astype(np.float32) * (2.0 / 255.0) - 1.0
        return x[None], s, px, py

    def _detect(self, image):
        x, s, px, py = self._letterbox(image)
        s512, s384, r512, r384 = self.session.run(self.output_names, {self.input_name: x})
        logits = np.concatenate([s512[0, :, 0], s384[0, :, 0]])
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100, 100)))
        keep = np.nonzero(scores >= self.score_threshold)[0]
        if not len(keep):
            return []
        reg = np.concatenate([r512[0], r384[0]])[keep] / self.size
        anchors = self.anchors[keep]
        cx, cy = anchors[:, 0] + reg[:, 0], anchors[:, 1] + reg[:, 1]
        w, h = reg[:, 2], reg[:, 3]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
        kps = reg[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
        out = []
        for box, score, kp in weighted_nms(boxes, scores[keep], kps, self.nms_threshold):
            # Model coordinates in [0, 1] of the letterboxed square -> frame pixels.
            box = (box * self.size - np.array([px, py, px, py])) / s
            kp = (kp * self.size - np.array([px, py])) / s
            if box[2] - box[0] > 1 and box[3] - box[1] > 1:
                out.append(Detection(box, score, kp))
        return out

    def describe(self):
        return "%s %dpx (score >= %.2f, NMS IoU %.2f)" % (self.name, self.size, self.score_threshold, self.nms_threshold)


class YuNet(FaceDetector):
    """OpenCV zoo YuNet through ``cv2.FaceDetectorYN`` (OpenCV >= 4.5.4). The model file is
    the user's (MIT, not shipped): ``--detector yunet --detector-model PATH``."""

    name = "yunet"

    def __init__(self, model_path, score_threshold=0.6, nms_threshold=0.3, min_size=0, max_faces=0, top_k=5000,
                 calibrate=True, threads=1, close_up=True):
        super(YuNet, self).__init__(score_threshold, nms_threshold, min_size, max_faces, calibrate, close_up)
        cv2 = deps.cv2("YuNet face detection")
        if not model_path:
            raise EdgeferError("--detector yunet needs --detector-model PATH (the YuNet ONNX file from the OpenCV zoo, "
                               "e.g. face_detection_yunet_2023mar.onnx)")
        if not os.path.isfile(model_path):
            raise EdgeferError("YuNet model %s does not exist (--detector-model)" % model_path)
        if not hasattr(cv2, "FaceDetectorYN"):
            raise EdgeferError("YuNet needs OpenCV >= 4.5.4 (cv2.FaceDetectorYN); this OpenCV is %s" % cv2.__version__)
        if threads:
            cv2.setNumThreads(int(threads))
        try:
            self._det = cv2.FaceDetectorYN.create(model_path, "", (320, 320), self.score_threshold,
                                                  self.nms_threshold, int(top_k))
        except cv2.error as exc:
            raise EdgeferError("YuNet model %s cannot be loaded by OpenCV: %s" % (model_path, str(exc).strip().splitlines()[-1]))
        self._size = (320, 320)

    def _detect(self, image):
        h, w = image.shape[:2]
        if self._size != (w, h):
            self._det.setInputSize((w, h))
            self._size = (w, h)
        _, faces = self._det.detect(image)
        out = []
        if faces is None:
            return out
        for f in faces:
            x, y, bw, bh = [float(v) for v in f[:4]]
            # YuNet landmarks: right eye, left eye, nose tip, right and left mouth corner.
            out.append(Detection((x, y, x + bw, y + bh), float(f[14]), np.asarray(f[4:14], np.float32).reshape(5, 2)))
        return out


def create_detector(name=DEFAULT_DETECTOR, model_path=None, threads=1, **options):
    """A detector by name: ``blazeface`` (default), ``blazeface-back`` or ``yunet`` (needs
    ``model_path``). ``options``: score_threshold, nms_threshold, min_size, max_faces,
    close_up (look again on a padded frame when none is found; on by default)."""
    if isinstance(name, FaceDetector):
        return name
    if name == "blazeface":
        return BlazeFace(model_path or "front", threads=threads, **options)
    if name == "blazeface-back":
        return BlazeFace(model_path or "back", threads=threads, **options)
    if name == "yunet":
        return YuNet(model_path, threads=threads, **options)
    raise EdgeferError("--detector %r: expected one of %s" % (name, ", ".join(DETECTORS)))
