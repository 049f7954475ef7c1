"""MediaPipe BlazeFace, short-range (128 px, shipped as the default) and back-camera (256 px).

Both BlazeFace models share one decoder (896 anchors: a 16x16 grid with 2 anchors per cell,
then an 8x8 grid with 6, centres at (i + 0.5) / grid, unit anchor size), the frame is
letterboxed to the model's square input, and overlapping boxes are merged with MediaPipe's
weighted NMS. Landmarks come in the order (subject's) right eye, left eye, then the
model's others (BlazeFace: nose, mouth, right ear, left ear; YuNet: nose, right and left
mouth corner), so the framing's eye alignment works with both.
"""

import os

import numpy as np

from .. import deps
from ..errors import EdgeferError
from .boxes import iou_matrix
from .face_detector import FaceDetector, WithFarLook
from .types import Detection

MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
BLAZEFACE_FRONT = os.path.join(MODELS_DIR, "face_detection_front_128x128_barracuda.onnx")
BLAZEFACE_BACK = os.path.join(MODELS_DIR, "face_detection_back_256x256_barracuda.onnx")


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


def front(model_path=None, **options):
    """The short-range model (faces within ~2 m), or ``model_path``."""
    return BlazeFace(model_path or "front", **options)


def front_with_far_look(model_path=None, **options):
    """The short-range model, and the back-camera model looking again at the frames where it
    finds no face (:class:`~edgefer.runtime.face_detector.WithFarLook`)."""
    return WithFarLook(front(model_path, **options), back(**dict(options, close_up=False)))


def back(model_path=None, **options):
    """The back-camera model (smaller, farther faces), or ``model_path``."""
    return BlazeFace(model_path or "back", **options)
