"""Face detectors: one small interface, ``detect(bgr_frame) -> [Detection]``.

===================  =========================================================  ==============================
name                 model                                                      use it for
===================  =========================================================  ==============================
``blazeface``        MediaPipe BlazeFace short-range, 128 px (shipped); where   default: kiosks, robots; faces
                     it finds no face, the back-camera model looks again        near and far, fast where a
                                                                                face is in view
``blazeface-front``  BlazeFace short-range alone                                faces within ~2 m only; the
                                                                                least work on empty frames
``blazeface-back``   MediaPipe BlazeFace back camera, 256 px (shipped)          room view: smaller, farther
                                                                                faces, group photos
``yunet``            OpenCV zoo YuNet via ``cv2.FaceDetectorYN`` (user-given    multi-scale 10-300 px faces,
                     model path, MIT; not shipped)                              any frame size
===================  =========================================================  ==============================

Each detector is one module (:mod:`~edgefer.runtime.blazeface`, :mod:`~edgefer.runtime.yunet`)
on the interface of :mod:`~edgefer.runtime.face_detector`, and one line in :data:`DETECTORS`
below; a program adds its own with ``DETECTORS.register(name, factory)``.
"""

from typing import Optional, Union

from ..registry import Registry
from . import blazeface, yunet
from .face_detector import FaceDetector

# name -> factory(model_path=None, threads=1, **options) -> FaceDetector
DETECTORS = Registry("--detector")
DETECTORS.register("blazeface", blazeface.front_with_far_look)
DETECTORS.register("blazeface-front", blazeface.front)
DETECTORS.register("blazeface-back", blazeface.back)
DETECTORS.register("yunet", yunet.create)

DEFAULT_DETECTOR = "blazeface"


def create_detector(name: Union[str, FaceDetector] = DEFAULT_DETECTOR, model_path: Optional[str] = None,
                    threads: int = 1, **options) -> FaceDetector:
    """A detector by its :data:`DETECTORS` name: ``blazeface`` (default), ``blazeface-back`` or
    ``yunet`` (needs ``model_path``); a :class:`FaceDetector` is returned as it is.
    ``options``: score_threshold, nms_threshold, min_size, max_faces, close_up (look again on
    a padded frame when none is found; on by default)."""
    if isinstance(name, FaceDetector):
        return name
    return DETECTORS.get(name)(model_path=model_path, threads=threads, **options)
