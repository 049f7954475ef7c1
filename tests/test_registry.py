"""The name -> factory tables: detectors, outputs and classifier backends (edgefer/registry.py)."""

import numpy as np
import pytest

from edgefer.errors import EdgeferError
from edgefer.registry import Registry
from edgefer.runtime import classifier, detectors, sinks
from edgefer.runtime.face_detector import FaceDetector
from edgefer.runtime.types import Detection, Sink


def test_registry_names_aliases_and_errors():
    reg = Registry("--thing")
    reg.register("alpha", lambda: 1, aliases=("a",))

    @reg.register("beta")
    def _beta():
        return 2

    assert reg.names() == ("alpha", "beta") and list(reg) == ["alpha", "beta"] and len(reg) == 2
    assert reg.get("A")() == 1 and reg.get(" Beta ")() == 2 and "a" in reg and "gamma" not in reg
    with pytest.raises(EdgeferError) as e:
        reg.get("gamma")
    assert str(e.value) == "--thing 'gamma': expected one of alpha, beta"
    with pytest.raises(ValueError):
        reg.register("a", lambda: 3)  # an alias is taken too


def test_the_runtime_tables_hold_what_the_cli_offers():
    assert detectors.DETECTORS.names() == ("blazeface", "blazeface-front", "blazeface-back", "yunet")
    assert classifier.BACKENDS.names() == ("onnxruntime", "onnxruntime-cuda", "onnxruntime-tensorrt", "tensorrt")
    assert classifier.BACKEND_CHOICES == ("auto",) + classifier.BACKENDS.names()
    from edgefer import cli

    run = cli.main.commands["run"]
    choices = {p.name: getattr(p.type, "choices", None) for p in run.params}
    assert tuple(choices["detector"]) == detectors.DETECTORS.names()
    assert tuple(choices["backend"]) == classifier.BACKEND_CHOICES
    # a backend this machine lacks says why, in one line; the CPU one is usable here
    assert classifier.BACKENDS.get("onnxruntime").unavailable_reason() is None
    why = classifier.BACKENDS.get("onnxruntime-cuda").unavailable_reason()
    assert why and "CUDAExecutionProvider" in why and "\n" not in why


class _CentreFace(FaceDetector):
    """A detector that always finds one face in the middle of the frame (a plug-in's shape)."""

    name = "centre"

    def _detect(self, image):
        h, w = image.shape[:2]
        return [Detection((w * 0.25, h * 0.25, w * 0.75, h * 0.75), 0.9)]


def test_a_new_detector_and_a_new_output_are_one_registration_each(monkeypatch):
    monkeypatch.setattr(detectors, "DETECTORS", Registry("--detector"))
    detectors.DETECTORS.register("centre", lambda model_path=None, threads=1, spinning=None, **o: _CentreFace(**o))
    det = detectors.create_detector("centre", max_faces=1)
    faces = det.detect(np.zeros((100, 200, 3), np.uint8))
    assert len(faces) == 1 and faces[0].box == (50.0, 25.0, 150.0, 75.0)

    seen = []

    class ListSink(Sink):
        def __init__(self, uri):
            self.uri = uri

        def write(self, result):
            seen.append((self.uri.target, result))

    monkeypatch.setattr(sinks, "SINKS", Registry("output"))
    sinks.SINKS.register("memory", lambda uri, overlay=None, video_fps=None, privacy="off": ListSink(uri))
    sink = sinks.make_sink("memory://buffer-1")
    sink.write("r0")
    assert isinstance(sink, ListSink) and seen == [("buffer-1", "r0")]
    with pytest.raises(EdgeferError) as e:
        sinks.make_sink("rtp://10.0.0.2:5000")
    assert "memory://" in str(e.value)
