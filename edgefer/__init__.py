"""edgefer: facial emotion recognition from a training host to embedded devices.

``import edgefer`` is light: it imports no torch, timm or OpenCV. Host features (training,
export) and device features (runtime, benchmarks) load their dependencies when used::

    import edgefer
    pipe = edgefer.Pipeline(bundle="my.edgefer")
    for result in pipe.stream(0):
        for face in result.faces:
            print(face.track_id, face.emotion, round(face.confidence, 2))
"""

__version__ = "0.1.0"

# Names resolved on first use (PEP 562), so `import edgefer` stays light.
_LAZY = {
    "Pipeline": ("edgefer.runtime.pipeline", "Pipeline"),
    "Classifier": ("edgefer.runtime.classifier", "Classifier"),
    "FaceDetector": ("edgefer.runtime.face_detector", "FaceDetector"),
    "create_detector": ("edgefer.runtime.detectors", "create_detector"),
    "open_source": ("edgefer.runtime.sources", "open_source"),
    "open_sinks": ("edgefer.runtime.sinks", "open_sinks"),
    "Bundle": ("edgefer.bundle", "Bundle"),
    "EdgeferError": ("edgefer.errors", "EdgeferError"),
}

__all__ = ["__version__"] + sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError("module 'edgefer' has no attribute %r" % name)


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
