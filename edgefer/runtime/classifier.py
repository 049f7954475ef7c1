"""Emotion classifier: bundle artifact + backend, chosen for the machine and the face count.

Backends (``backend=``):

* ``onnxruntime`` — ONNX Runtime on the CPU (x86, Raspberry Pi); INT8 U8S8 ``cpu``
  artifacts are the fast ones there (FP16 is slower than FP32 on a CPU).
* ``onnxruntime-cuda`` / ``onnxruntime-tensorrt`` — ONNX Runtime's CUDA or TensorRT
  execution provider (NVIDIA's onnxruntime-gpu wheel on a Jetson).
* ``tensorrt`` — a native TensorRT engine built on the device from the bundle's ONNX and
  cached under ``~/.cache/edgefer/engines/`` (:mod:`edgefer.runtime.tensorrt_runner`,
  :mod:`edgefer.runtime.tensorrt_engine`).
* ``auto`` (default) — ``tensorrt`` when the tensorrt module and a GPU are there, else
  ONNX Runtime's TensorRT or CUDA provider when present, else the CPU.

The artifact follows the backend: int8 of the matching target (``cpu`` U8S8 for ONNX Runtime
on the CPU, ``tensorrt`` S8S8 for TensorRT), else fp16 on GPUs, else fp32. INT8 artifacts
have a fixed batch (a dynamic batch axis costs them most of their speed), so a bundle
usually holds batch 1 and a small fixed batch (e.g. 8). At start-up each batch size is timed
briefly and every frame's faces are then split into the cheapest mix of full large batches
and single calls (:meth:`Classifier.plan`).
"""

import time
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import onnx_predict
from ..errors import EdgeferError
from ..metrics import softmax
from ..bundle import Bundle
from ..registry import Registry
from . import tensorrt_engine

PRECISIONS = ("auto", "fp32", "fp16", "int8")
Box = Tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels


class OnnxRuntimeRunner(object):
    """One ONNX artifact in an ONNX Runtime session: ``run(x) -> logits``."""

    def __init__(self, path, threads=0, providers=None, spinning=True):
        self.path = path
        self.session = onnx_predict.session(path, threads=threads, providers=providers, spinning=spinning)
        self.batch = onnx_predict.input_batch(self.session)
        shape = self.session.get_inputs()[0].shape
        self.input_size = shape[2] if isinstance(shape[2], int) else None
        out = self.session.get_outputs()[0].shape
        self.output_width = out[-1] if out and isinstance(out[-1], int) else None
        self.providers = self.session.get_providers()

    def run(self, x):
        return onnx_predict.run(self.session, x)

    def describe(self):
        return "onnxruntime %s" % self.providers[0].replace("ExecutionProvider", "")

    def close(self):
        self.session = None


def choose_artifacts(bundle, backend, precision="auto"):
    """The bundle artifacts (one per batch size, smallest batch first) for a backend."""
    if precision not in PRECISIONS:
        raise EdgeferError("--precision %r: expected one of %s" % (precision, ", ".join(PRECISIONS)))
    chosen = BACKENDS.get(backend)
    gpu, target = chosen.gpu, chosen.target
    order = {"auto": ["int8", "fp16", "fp32"] if gpu else ["int8", "fp32"]}.get(precision, [precision])
    for p in order:
        found = [a for a in bundle.artifacts if a["precision"] == p and (p != "int8" or a.get("target") == target)]
        if p == "int8" and not found and precision == "int8":
            found = [a for a in bundle.artifacts if a["precision"] == "int8"]
        if found:
            by_batch = {}
            for a in found:
                by_batch.setdefault(a.get("batch"), a)
            return [by_batch[b] for b in sorted(by_batch, key=lambda b: (b is None, b or 0))]
    have = sorted(set("%s/%s" % (a["precision"], a.get("target")) for a in bundle.artifacts))
    raise EdgeferError("bundle %s has no %s artifact for backend %s (it has: %s)"
                       % (bundle.path, precision if precision != "auto" else "usable", backend, ", ".join(have)))


def available_providers() -> List[str]:
    """ONNX Runtime's execution providers on this machine ([] without onnxruntime)."""
    try:
        return list(onnx_predict.onnxruntime().get_available_providers())
    except EdgeferError:
        return []


class OnnxRuntimeBackend(object):
    """ONNX Runtime with ``providers`` (preferred first); ``target`` is the INT8 flavour it runs fast."""

    def __init__(self, providers: Sequence[str], target: str = "cpu", gpu: bool = False) -> None:
        self.providers = tuple(providers)
        self.target = target
        self.gpu = gpu

    def unavailable_reason(self) -> Optional[str]:
        """None when this machine can run the backend, else why not (one line)."""
        have = available_providers()
        if not have:
            return "onnxruntime is not installed (pip install 'edgefer[cpu]')"
        if self.providers[0] not in have:
            return ("ONNX Runtime %s has no %s (providers: %s); it needs onnxruntime-gpu and an NVIDIA GPU (on a "
                    "Jetson NVIDIA's wheel for your JetPack)" % (onnx_predict.onnxruntime().__version__,
                                                                   self.providers[0], ", ".join(have)))
        return None

    def runner(self, bundle: Bundle, artifact: dict, threads: int = 0, spinning: bool = True,
               trt_options: Optional[dict] = None) -> OnnxRuntimeRunner:
        return OnnxRuntimeRunner(bundle.file(artifact), threads=threads, providers=self.providers, spinning=spinning)


class TensorRTBackend(object):
    """A native TensorRT engine built on the device from the bundle's ONNX and cached."""

    providers = ()
    target = "tensorrt"
    gpu = True

    def unavailable_reason(self) -> Optional[str]:
        return tensorrt_engine.unavailable_reason()

    def runner(self, bundle: Bundle, artifact: dict, threads: int = 0, spinning: bool = True,
               trt_options: Optional[dict] = None):
        """A :class:`~edgefer.runtime.tensorrt_runner.TensorRTRunner` set up from the manifest
        (input size, input and output names; ``trt_options`` override them)."""
        from .tensorrt_runner import TensorRTRunner

        model = bundle.manifest["model"]
        opts = dict(input_size=bundle.preprocess.size, input_name=model.get("input", {}).get("name"),
                    output_name=model.get("output", {}).get("name"))
        opts.update(trt_options or {})
        return TensorRTRunner(bundle.file(artifact), artifact["sha256"], artifact["precision"],
                              batch=artifact.get("batch"), **opts)


# The one table of classifier backends (the CLI's
# choices and the benchmarks' rows come from it); adding one is a class with
# ``unavailable_reason()`` and ``runner(...)``, and a line here.
BACKENDS = Registry("--backend")
BACKENDS.register("onnxruntime", OnnxRuntimeBackend(("CPUExecutionProvider",)))
BACKENDS.register("onnxruntime-cuda", OnnxRuntimeBackend(("CUDAExecutionProvider", "CPUExecutionProvider"), gpu=True))
BACKENDS.register("onnxruntime-tensorrt", OnnxRuntimeBackend(
    ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"), target="tensorrt", gpu=True))
BACKENDS.register("tensorrt", TensorRTBackend())
BACKEND_CHOICES = ("auto",) + BACKENDS.names()
# ``auto`` takes the first usable of these
AUTO_ORDER = ("tensorrt", "onnxruntime-tensorrt", "onnxruntime-cuda", "onnxruntime")


def resolve_backend(backend: str = "auto") -> str:
    """The backend ``auto`` stands for on this machine (see the module docstring)."""
    if backend != "auto":
        return BACKENDS.resolve(backend)
    for name in AUTO_ORDER[:-1]:
        if BACKENDS.get(name).unavailable_reason() is None:
            return name
    return AUTO_ORDER[-1]


def make_runner(bundle: Bundle, artifact: dict, backend: str, threads: int = 0, spinning: bool = True,
                trt_options: Optional[dict] = None):
    """The one runner factory: a bundle artifact on a (resolved) backend -> an object with
    ``run(x) -> logits``, ``batch`` (None: dynamic), ``describe()`` and ``close()``."""
    return BACKENDS.get(backend).runner(bundle, artifact, threads=threads, spinning=spinning, trt_options=trt_options)


def _check_runner(bundle: Bundle, artifact: dict, runner) -> None:
    """The model file agrees with its manifest: input size, output width (one logit per
    label) and batch; a clear error naming the bundle, file and field otherwise."""
    got = {"model.preprocess.size": getattr(runner, "input_size", None),
           "model.labels": getattr(runner, "output_width", None),
           "batch": getattr(runner, "batch", None)}
    want = {"model.preprocess.size": bundle.preprocess.size, "model.labels": len(bundle.labels),
            "batch": artifact.get("batch") if isinstance(artifact.get("batch"), int) else None}
    for field in got:
        if got[field] is not None and want[field] is not None and got[field] != want[field]:
            raise EdgeferError("bundle %s: %s has %s %d where the manifest's %s says %d: the bundle's model and "
                               "manifest disagree (re-export it)"
                               % (bundle.path, artifact["file"], _WHAT[field], got[field], field, want[field]))


_WHAT = {"model.preprocess.size": "input size", "model.labels": "output width", "batch": "batch"}


class Classifier(object):
    """Face crops -> class probabilities, with the bundle's preprocessing.

    ``classify(frame, boxes, landmarks)`` crops each face by the bundle's framing, runs the
    model and returns an (N, C) float32 array of probabilities over ``labels``. ``tta``:
    test-time augmentation (``none``; ``flip``: each face and its mirror image, logits
    averaged, at twice the model's work; :func:`edgefer.onnx_predict.with_tta`).
    ``preprocess_ms`` / ``classify_ms`` hold the last call's stage times."""

    def __init__(self, bundle: Union[str, Bundle], backend: str = "auto", precision: str = "auto", threads: int = 0,
                 verify: bool = True, trt_options: Optional[dict] = None, spinning: bool = True,
                 tta: str = "none") -> None:
        self.tta = onnx_predict.check_tta(tta)
        self.bundle = bundle if isinstance(bundle, Bundle) else Bundle.load(bundle, verify=verify)
        self.labels = list(self.bundle.labels)
        self.preprocess = self.bundle.preprocess
        self.backend = resolve_backend(backend)
        artifacts = choose_artifacts(self.bundle, self.backend, precision)
        if self.backend.startswith("onnxruntime-"):
            why = BACKENDS.get(self.backend).unavailable_reason()
            if why is not None:
                raise EdgeferError("--backend %s: %s" % (self.backend, why))
        self.runners = []
        for a in artifacts:
            runner = make_runner(self.bundle, a, self.backend, threads, spinning, trt_options)
            try:
                _check_runner(self.bundle, a, runner)
            except EdgeferError:
                runner.close()
                raise
            self.runners.append((a, runner))
        self.artifacts = [a for a, _ in self.runners]
        self.precision = self.artifacts[0]["precision"]
        # temperature scaling fitted at export on the validation slice (1: probabilities as the model gives them)
        self.temperature = float(self.artifacts[0].get("temperature", {}).get("value", 1.0))
        self.n_classes = len(self.labels)
        self._cost = self._measure()
        self._logits = onnx_predict.with_tta(self._planned_logits, self.tta)
        self._plans = {}
        self.preprocess_ms = 0.0
        self.classify_ms = 0.0

    # -- batching plan --------------------------------------------------------------------
    def _measure(self, repeats=5):
        """Per-call time (s) of each fixed-batch runner on a real-shaped input."""
        cost = []
        for a, runner in self.runners:
            b = runner.batch or 1
            x = np.zeros((b, 3, self.preprocess.size, self.preprocess.size), np.float32)
            runner.run(x)  # warm-up (first call allocates)
            t = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                runner.run(x)
                t.append(time.perf_counter() - t0)
            cost.append(float(np.median(t)))
        return cost

    def plan(self, n: int) -> List[Tuple[int, int]]:
        """Runner calls for ``n`` faces: a list of (runner index, count), the cheapest mix by
        the start-up timings (e.g. 11 faces with b1 and b8 artifacts: one b8 call + three b1
        calls, or two b8 calls, whichever measured cheaper)."""
        if n <= 0:
            return []
        if n in self._plans:
            return self._plans[n]
        self._plans[n] = plan = self._plan(n)
        return plan

    def _plan(self, n):
        batches = [(r.batch or 0) for _, r in self.runners]
        if len(self.runners) == 1 or any(b == 0 for b in batches):
            i = batches.index(0) if 0 in batches else 0
            return [(i, n)] if batches[i] == 0 else [(i, min(n - s, batches[i])) for s in range(0, n, batches[i])]
        # Dynamic programming over the face count: best[k] = cheapest way to classify k faces.
        best = [(0.0, [])] + [None] * n
        for k in range(1, n + 1):
            for i, b in enumerate(batches):
                prev = best[max(0, k - b)]
                c = prev[0] + self._cost[i]
                if best[k] is None or c < best[k][0] - 1e-12:
                    best[k] = (c, prev[1] + [(i, min(b, k))])
        return best[n][1]

    # -- inference ------------------------------------------------------------------------
    def inputs(self, image: np.ndarray, boxes: Sequence[Box], landmarks: Optional[Sequence[np.ndarray]] = None,
               bgr: bool = True) -> np.ndarray:
        """Crops of ``boxes`` framed by the bundle's preprocessing -> float32 Nx3xSxS."""
        pre = self.preprocess
        out = np.empty((len(boxes), 3, pre.size, pre.size), np.float32)
        for i, box in enumerate(boxes):
            lm = None if landmarks is None else landmarks[i]
            # Crop first, then convert the colour of the crop only: the integer crop does not
            # resample, so this equals converting the whole frame first, at a fraction of the cost.
            out[i] = pre.normalize(pre.prepare(pre.crop(image, box, lm), bgr=bgr))
        return out

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The model's logits (N, C) for preprocessed crops (:meth:`inputs`), with the
        test-time augmentation ``tta``."""
        return self._logits(x)

    def _planned_logits(self, x):
        """Logits by the batching plan."""
        out = np.empty((len(x), self.n_classes), np.float32)
        s = 0
        for i, count in self.plan(len(x)):
            out[s:s + count] = self.runners[i][1].run(x[s:s + count])[:count]
            s += count
        return out

    def classify(self, image: np.ndarray, boxes: Sequence[Box], landmarks: Optional[Sequence[np.ndarray]] = None,
                 bgr: bool = True) -> np.ndarray:
        """Probabilities (N, C) for the faces at ``boxes`` in a BGR (``bgr=True``) frame."""
        t0 = time.perf_counter()
        if not len(boxes):
            self.preprocess_ms = self.classify_ms = 0.0
            return np.zeros((0, self.n_classes), np.float32)
        x = self.inputs(image, boxes, landmarks, bgr=bgr)
        t1 = time.perf_counter()
        probs = softmax(self.logits(x) / np.float32(self.temperature), np.float32)
        t2 = time.perf_counter()
        self.preprocess_ms, self.classify_ms = 1000 * (t1 - t0), 1000 * (t2 - t1)
        return probs

    def describe(self) -> str:
        """One line: backend, runner and each artifact's measured time per call."""
        parts = []
        for (a, r), c in zip(self.runners, self._cost):
            parts.append("%s %s b%s %.2f ms/call" % (a["precision"], a.get("target") or "", a.get("batch") or "dyn",
                                                      1000 * c))
        tta = "" if self.tta == "none" else ", test-time augmentation %s" % self.tta
        return "%s: %s [%s]%s" % (self.backend, self.runners[0][1].describe(), "; ".join(parts), tta)

    def close(self) -> None:
        for _, r in self.runners:
            r.close()

