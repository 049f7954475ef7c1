"""The device-side runtime: source -> face detector -> crops -> classifier -> tracker -> sinks.

Imports numpy and the standard library only; OpenCV, onnxruntime, TensorRT, pycuda and
picamera2 are imported where they are used.
"""

from .types import Detection, Event, Face, Frame, FrameResult  # noqa: F401
