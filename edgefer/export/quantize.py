"""Static INT8 quantization with ONNX Runtime, QDQ format, per-channel weights (host side).

Flavours (``target``):

* ``cpu`` — U8S8: uint8 activations, int8 per-channel weights. ONNX Runtime's x86 (VNNI)
  and ARM (dot-product) kernels run this fastest.
* ``tensorrt`` — S8S8: symmetric int8 activations and weights, what TensorRT's explicit
  quantization expects (ONNX Runtime on x86 runs it slower than FP32: it is not for CPUs).

Calibration statistics are collected in chunks (``CalibStridedMinMax``), so 1,000+
images fit in memory, and the computed ranges are kept in a cache file
(``calibration_cache_path``), so the accuracy gate's retries re-quantize without
re-calibrating. The graph is pre-processed with ONNX Runtime's ``quant_pre_process``
(shape inference + graph optimisation) first, as ONNX Runtime recommends.
"""

import os
import tempfile

from ..atomic import atomic_path

METHODS = ("minmax", "entropy", "percentile")
# Which ops get Q/DQ (``--int8-ops``). Measured on EfficientViT-M5 at 48 px, batch 1, 1 thread
# (benchmarks/README.md): FP32 3.13 ms, every op ("all") 1.28 ms, Conv only 1.50 ms, and
# Conv + MatMul 2.54 ms (more Q/DQ boundaries than the int8 MatMuls save). On FER2013
# PublicTest "all" lost 2.7 top-1 points and Conv-only 0.6, but that comparison used ranges
# from ONNX Runtime's chunk bug (see quantize()) and is to be redone.
OP_POLICIES = {
    "conv": ("Conv", "Gemm"),
    "compute": ("Conv", "Gemm", "MatMul"),
    "all": None,
}
TARGETS = ("cpu", "tensorrt")
# ONNX Runtime turns each SiLU (x * sigmoid(x)) into QLinearSigmoid + QLinearMul, which costs
# more than the float ops it replaces (EfficientNet-B0: 1.45 ms of 3.95 ms vs 0.62 ms in float).
SILU_FLOAT_OPS = ("Sigmoid", "Mul")


class ArrayReader(object):
    """ONNX Runtime ``CalibrationDataReader`` over batches of preprocessed images."""

    def __init__(self, input_name, batches):
        self.input_name = input_name
        self.batches = list(batches)
        self._it = iter(self.batches)

    def get_next(self):
        x = next(self._it, None)
        return None if x is None else {self.input_name: x}

    def rewind(self):
        self._it = iter(self.batches)

    def __len__(self):
        return len(self.batches)

    def __iter__(self):  # qdq_loss_debug.collect_activations iterates the reader
        for x in self.batches:
            yield {self.input_name: x}

    def set_range(self, start_index, end_index):
        self._it = iter(self.batches[start_index:end_index])


def preprocess_for_quantization(src, dst):
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with atomic_path(dst) as tmp:
        quant_pre_process(src, tmp, skip_symbolic_shape=True)


def _stride(n, chunk):
    """The largest divisor of ``n`` not above ``chunk`` (quantize_static needs n % stride == 0)."""
    for d in range(min(n, max(1, int(chunk))), 0, -1):
        if n % d == 0:
            return d
    return 1


def silu_nodes(model_path):
    """Names of the Sigmoid and Mul nodes of every x*sigmoid(x) pair (SiLU) in the graph."""
    import onnx

    g = onnx.load(model_path).graph
    sig_by_out = {n.output[0]: n for n in g.node if n.op_type == "Sigmoid"}
    out = []
    for n in g.node:
        if n.op_type != "Mul" or len(n.input) != 2:
            continue
        for a, b in ((n.input[0], n.input[1]), (n.input[1], n.input[0])):
            s = sig_by_out.get(b)
            if s is not None and s.input[0] == a:
                out += [s.name, n.name]
                break
    return out


def quantize(fp32_path, out_path, target, reader=None, method="entropy", cache_path=None, nodes_to_exclude=(),
             chunk=64, percentile=99.99, ops="conv"):
    """Quantize ``fp32_path`` (already through :func:`preprocess_for_quantization`) to
    ``out_path``. ``reader`` may be None when ``cache_path`` holds the ranges already."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    calib = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
             "percentile": CalibrationMethod.Percentile}[method]
    # Chunked statistics. Not with ``CalibMaxIntermediateOutputs``: in ONNX Runtime 1.32 the
    # MinMax calibrator clears each full chunk without merging it (collect_data calls
    # clear_collected_data() before compute_data()), so ranges come from the last chunk only:
    # measured on EfficientViT-M5, 518 of 537 ranges came out narrower than the full-data
    # ranges, costing several top-1 points; the histogram calibrators (entropy, percentile)
    # ignore the option and keep every activation. ``CalibStridedMinMax`` instead makes
    # quantize_static call collect_data once per stride, and each call merges its ranges /
    # histograms before clearing: correct results, memory bounded by one stride.
    extra = {}
    if reader is not None:
        extra["CalibStridedMinMax"] = _stride(len(reader), chunk)
    if method == "percentile":
        extra["CalibPercentile"] = percentile
    if target == "cpu":
        act = QuantType.QUInt8
    else:
        act = QuantType.QInt8
        extra.update({"ActivationSymmetric": True, "WeightSymmetric": True})
    with atomic_path(out_path) as tmp, tempfile.TemporaryDirectory(prefix="edgefer-quant-") as work:
        os.environ.setdefault("ORT_QUANT_TMPDIR", work)
        quantize_static(fp32_path, tmp, calibration_data_reader=reader, quant_format=QuantFormat.QDQ,
                        per_channel=True, reduce_range=False, activation_type=act, weight_type=QuantType.QInt8,
                        op_types_to_quantize=list(OP_POLICIES[ops]) if OP_POLICIES[ops] else None,
                        nodes_to_exclude=list(nodes_to_exclude), calibrate_method=calib, extra_options=extra,
                        calibration_cache_path=cache_path)
    return {"format": "QDQ", "activations": "uint8" if target == "cpu" else "int8 symmetric",
            "weights": "int8 per-channel" + (" symmetric" if target != "cpu" else ""), "method": method,
            "ops": ops, "op_types": list(OP_POLICIES[ops]) if OP_POLICIES[ops] else "all",
            "excluded_nodes": list(nodes_to_exclude)}
