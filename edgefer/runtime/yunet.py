"""OpenCV zoo YuNet through ``cv2.FaceDetectorYN``: multi-scale faces, the user's model file."""

import os

import numpy as np

from .. import deps
from ..errors import EdgeferError
from .face_detector import FaceDetector
from .types import Detection


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


def create(model_path=None, spinning=None, **options):
    """YuNet from ``model_path`` (required: the model is not shipped). ``spinning`` is ONNX
    Runtime's and means nothing to OpenCV's DNN module."""
    return YuNet(model_path, **options)
