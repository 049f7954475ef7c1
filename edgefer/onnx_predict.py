"""Run an ONNX classifier over a data set with ONNX Runtime (device side: no torch).

Used by ``edgefer eval BUNDLE``, the export's parity check and accuracy gate, and the
benchmarks, so every number comes from the same preprocessing and the same session setup."""

import os

import numpy as np

from . import deps, progress
from .errors import EdgeferError, require

ORT_HINT = ("pip install 'edgefer[cpu]' (x86, Raspberry Pi OS 64-bit); on a Jetson install NVIDIA's "
            "onnxruntime-gpu wheel for your JetPack")


def onnxruntime():
    return require("onnxruntime", "running ONNX models", ORT_HINT)


# How an artifact's accuracy is computed (manifest ``accuracy.arithmetic``), by exact_qdq().
ARITHMETIC = {False: "ONNX Runtime CPU kernels",
              True: "exact Q/DQ arithmetic in ONNX Runtime (what TensorRT's int8 computes; not its x86 kernels)"}


def exact_qdq(artifact):
    """Whether ``artifact`` (a manifest entry) is measured in exact Q/DQ arithmetic: the INT8
    files built for TensorRT. A GPU's int8 dot products do not saturate; ONNX Runtime's fused
    x86 kernels do on CPUs without VNNI (u8s8 pairs summed in int16: the vit64 model's
    TensorRT flavour agreed with FP32 on 66 % of images there against 98 % in exact
    arithmetic), so a CPU host would report an accuracy the Jetson never has."""
    return artifact.get("precision") == "int8" and artifact.get("target") == "tensorrt"


def session(path, threads=0, providers=None, spinning=True, exact_qdq=False):
    """An InferenceSession with full graph optimisation; ``threads`` 0 = ONNX Runtime's default.
    ``spinning=False`` stops idle intra-op worker threads from busy-waiting for work: what a
    pipeline wants when several models and a decoder thread share a few cores.
    ``exact_qdq=True`` keeps the graph's QuantizeLinear/DequantizeLinear pairs unfused (basic
    optimisations only), so an INT8 model computes exactly what its Q/DQ nodes say (see
    :func:`exact_qdq`); slower, for measuring, never for running."""
    ort = onnxruntime()
    so = ort.SessionOptions()
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_BASIC if exact_qdq
                                   else ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    if threads:
        so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = 1
    if not spinning:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), so, providers=providers or ["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise EdgeferError("ONNX model %s cannot be loaded by ONNX Runtime: %s" % (path, str(exc).splitlines()[0][:300])) from None


def input_batch(sess):
    """The graph's fixed batch size, or None when the batch axis is dynamic."""
    b = sess.get_inputs()[0].shape[0]
    return b if isinstance(b, int) else None


def run(sess, x):
    """Logits for a float32 N x 3 x H x W array; fixed-batch graphs get padded chunks."""
    inp = sess.get_inputs()[0]
    dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
    b = input_batch(sess)
    if b is None:
        return sess.run(None, {inp.name: x.astype(dtype, copy=False)})[0].astype(np.float32)
    out = []
    for s in range(0, len(x), b):
        chunk = x[s:s + b]
        n = len(chunk)
        if n < b:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], b - n, axis=0)])
        out.append(sess.run(None, {inp.name: chunk.astype(dtype, copy=False)})[0][:n])
    return np.concatenate(out).astype(np.float32)


# Test-time augmentation (``--tta``): ``none``, the runtime's default and what every reported
# number uses unless it says otherwise; ``flip``: each face and its mirror image, logits averaged
# (twice the classifier's work).
TTA_MODES = ("none", "flip")


def check_tta(tta):
    if tta not in TTA_MODES:
        raise EdgeferError("--tta: %r is not a test-time augmentation (expected one of %s)" % (tta, ", ".join(TTA_MODES)))
    return tta


def with_tta(logits_of, tta="none"):
    """``logits_of`` (N x 3 x H x W float32 -> N x C logits) with test-time augmentation
    ``tta``: for ``flip`` one call on the faces and their mirror images (a horizontal flip,
    which the training augmentation also uses), the two halves' logits averaged, so a face and
    its mirror image get the same answer."""
    if check_tta(tta) == "none":
        return logits_of

    def flipped(x):
        n = len(x)
        y = logits_of(np.concatenate([x, x[..., ::-1]]))
        return 0.5 * (y[:n] + y[n:])
    return flipped


def predict(path_or_session, dataset, preprocess, indices=None, chunk=256, threads=0, exact_qdq=False, tta="none"):
    """Logits of an ONNX model over a data set (or some of its sample indices), with
    test-time augmentation ``tta`` (:func:`with_tta`); the images done are reported through
    the progress hook (:func:`edgefer.progress.bar`)."""
    sess = (session(path_or_session, threads, exact_qdq=exact_qdq) if isinstance(path_or_session, str)
            else path_or_session)
    shape = sess.get_inputs()[0].shape
    if isinstance(shape[2], int) and shape[2] != preprocess.size:
        raise EdgeferError("the ONNX model takes %sx%s input but the preprocessing block says %d: the bundle's "
                           "model and manifest disagree" % (shape[2], shape[3], preprocess.size))
    idx = np.arange(len(dataset)) if indices is None else np.asarray(indices)
    logits_of = with_tta(lambda x: run(sess, x), tta)
    out = []
    name = os.path.basename(path_or_session) if isinstance(path_or_session, str) else "ONNX model"
    with progress.bar(total=len(idx), desc=name, unit="img") as bar:
        for s in range(0, len(idx), chunk):
            part = idx[s:s + chunk]
            out.append(logits_of(dataset.inputs(part, preprocess)))
            bar.update(len(part))
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
