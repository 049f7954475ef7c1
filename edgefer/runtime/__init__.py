"""The device-side runtime: source -> face detector -> crops -> classifier -> tracker -> sinks.

Imports numpy and the standard library only; OpenCV, onnxruntime, TensorRT, pycuda and
picamera2 are imported where they are used.
"""

from .types import Detection, Event, Face, Frame, FrameResult  # noqa: F401
from .classifier import Classifier  # noqa: F401,E402
from .detectors import FaceDetector, create_detector  # noqa: F401,E402
from .pipeline import Pipeline, RunSummary  # noqa: F401,E402
from .tracking import Tracker  # noqa: F401,E402
