"""edgefer: facial emotion recognition from a training host to embedded devices.

``import edgefer`` is light: it imports no torch, timm or OpenCV. Host features (training,
export) and device features (runtime, benchmarks) load their dependencies when used.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
