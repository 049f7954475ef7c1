"""Static INT8 quantization with ONNX Runtime, QDQ format, per-channel weights (host side).

Flavours (``target``):

* ``cpu`` — U8S8: uint8 activations, int8 per-channel weights held in 7 bits
  (``reduce_range``: no int16 saturation on x86 CPUs without VNNI; see :func:`quantize`).
  ONNX Runtime's x86 and ARM (dot-product) kernels run this fastest.
* ``tensorrt`` — S8S8: symmetric int8 activations and weights, what TensorRT's explicit
  quantization expects (ONNX Runtime on x86 runs it slower than FP32: it is not for CPUs).

Calibration statistics are collected in chunks (``CalibStridedMinMax``), so 1,000+
images fit in memory, and the computed ranges are kept in a cache file
(``calibration_cache_path``), so the accuracy gate's retries re-quantize without
re-calibrating. The graph is pre-processed with ONNX Runtime's ``quant_pre_process``
(shape inference + graph optimisation) first, as ONNX Runtime recommends.

Two corrections to what ``quantize_static`` alone produces (benchmarks/results/
int8_calibration.md has the measurements):

* **Float paths stay float** (:func:`keep_float_paths`). When a quantized op reads a tensor
  made by a float op, ONNX Runtime inserts Q/DQ on that tensor and rewires *every* consumer
  to the dequantized copy, float ones included. In a residual network whose adds stay in
  float (``--int8-ops conv``) that re-quantizes the residual stream itself at every block
  that reads it: rounding errors pile up along the stream, and where the stream has a few
  huge channels (EfficientViT-M5's last stage: per-channel maxima from 0.003 to 48, half
  the channels varying by less than one quantization step) the error is nearly the same
  for every image, so it adds up to a fixed offset of the logits (-2.2 to +2.5 on the
  briefly trained models here) and costs 11-18 top-1 points. The float consumers are
  pointed back at the float tensor; only the quantized op reads the Q/DQ copy. Nothing
  slows down: the float op read a float tensor before as well.
* **Nodes that int8 cannot represent stay float** (:func:`node_sqnr`). For each Conv/Gemm,
  the signal-to-quantization-noise ratio of its output is predicted from calibration
  statistics: the noise its per-tensor activation range puts on each input channel
  (measured, so clipping counts) and the per-channel weight rounding, carried through its
  weights, against the variance of each output channel. The median over output channels
  below ``MIN_SQNR_DB`` keeps the node in float. This picks ops that do not mix channels
  (depthwise convolutions) reading a tensor with very unequal channels: a channel that
  varies by less than the tensor's quantization step is noise after int8, and a depthwise
  conv passes it on unmixed. In EfficientViT-M5 (48 px) that is exactly the 8 residual
  depthwise convs of the last stage (-3.6 to 3.6 dB; the next node at 21-27 dB), which run
  on a 1x1 map and cost nothing in float.

Together they bring EfficientViT-M5 from 40.7-48.9 % to 51.7-51.9 % top-1 on FER2013
PublicTest (FP32 51.94 %) with any calibration method, at the same speed. They do not
rescue the EfficientNet-B0 + attention model measured there, whose INT8 is broken for
another reason (its last blocks' activation ranges); see the results file.
"""

import contextlib
import io
import logging
import os
import tempfile
from typing import Any, Collection, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

import numpy as np

from ..atomic import atomic_path

METHODS = ("minmax", "entropy", "percentile")
# Predicted output SQNR below which a Conv/Gemm stays float (see node_sqnr). 8-bit noise on a
# well-spread activation gives ~40 dB; 15 dB is noise at ~18 % of the signal's amplitude.
# Measured on EfficientViT-M5 (test and 8-epoch models) the nodes that break int8 sit at -3.6 to
# 3.6 dB and the next at 21-27 dB; only entropy ranges from 140 images put 4 attention convs at
# 13-14.6 dB (kept float too, which costs neither accuracy nor measurable time).
MIN_SQNR_DB = 15.0
# Which ops get Q/DQ (``--int8-ops``). EfficientViT-M5, 48 px, batch 1, 1 thread
# (benchmarks/results/int8_policies_48.md): FP32 2.11 ms, Conv+Gemm ("conv") 1.20 ms,
# + MatMul ("compute") 1.48 ms (more Q/DQ boundaries than the int8 MatMuls save), every op
# ("all") 1.07 ms. FER2013 PublicTest, 8-epoch model, entropy / 500 images, FP32 51.94 %
# (benchmarks/results/int8_calibration.md): conv 51.71 %, compute 51.71 %, all 49.29 %:
# under "all" the residual Adds are int8 themselves, so the residual stream is quantized by
# design (see keep_float_paths). "conv" is the default.
#
# Each policy includes the activations ONNX Runtime folds into the op before them (Relu,
# Clip = ReLU6; its ``QDQRemovableActivation``): with uint8 activations the op's output is
# quantized once, on the activation's range, and the activation itself is dropped (an
# asymmetric [0, 6] range clips exactly as ReLU6 does). Left float, the op's output was
# quantized on its own pre-activation range, dequantized, clipped and quantized again: two
# roundings per block, and the negative half of the first range wasted. Measured, all Conv
# nodes int8, validation slice (benchmarks/results/int8-activations-2026-12-02/):
# EfficientNet-Lite0 96 px, FP32 66.99 %: INT8 65.56 -> 67.17 %, agreement with FP32
# 86.7 -> 95.8 %, batch 1 1.27-1.35 -> 0.89-0.95 ms (the 33 requantizations were a third of
# the time); EfficientViT-M5 64 px: the same accuracy (agreement 95.1 / 95.0 %), 1.58-1.64 ->
# 1.40-1.45 ms. The symmetric (TensorRT) flavour keeps the activation between its Q/DQ pairs,
# as TensorRT's fusions expect.
FOLDED_ACTIVATIONS = ("Relu", "Clip")
OP_POLICIES = {
    "conv": ("Conv", "Gemm") + FOLDED_ACTIVATIONS,
    "compute": ("Conv", "Gemm", "MatMul") + FOLDED_ACTIVATIONS,
    "all": None,
}
TARGETS = ("cpu", "tensorrt")
# ONNX Runtime turns each SiLU (x * sigmoid(x)) into QLinearSigmoid + QLinearMul, which on its
# own costs more than the float ops it replaces (EfficientNet-B0: 1.45 ms of 3.95 ms vs 0.62 ms
# in float). In the whole model the float SiLU needs a DequantizeLinear before and a
# QuantizeLinear after it, and that costs more again: B0 + attention with --int8-ops all runs
# 0.85 / 3.26 ms at 48 / 112 px with int8 SiLU and 0.99 / 4.47 ms with float SiLU (FP32 1.27 /
# 3.79 ms; benchmarks/results/int8_calibration.md). Kept as the default with "all" until its
# accuracy can be judged on a B0 whose INT8 works at all (same file).
SILU_FLOAT_OPS = ("Sigmoid", "Mul")


class ArrayReader(object):
    """ONNX Runtime ``CalibrationDataReader`` over batches of preprocessed images."""

    def __init__(self, input_name: str, batches: Iterable[np.ndarray]) -> None:
        self.input_name = input_name
        self.batches = list(batches)
        self._it = iter(self.batches)

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        x = next(self._it, None)
        return None if x is None else {self.input_name: x}

    def rewind(self) -> None:
        self._it = iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[Dict[str, np.ndarray]]:  # qdq_loss_debug.collect_activations iterates the reader
        for x in self.batches:
            yield {self.input_name: x}

    def set_range(self, start_index: int, end_index: int) -> None:
        self._it = iter(self.batches[start_index:end_index])


log = logging.getLogger(__name__)


class _RootToDebug(logging.Filter):
    """A filter on the root logger: a record logged on the root logger itself (ONNX
    Runtime's quantizer calls ``logging.warning(...)``) goes to :data:`log` at DEBUG
    instead of the root logger's handlers. Records of other loggers never pass a root
    logger's filters, so theirs are untouched."""

    def filter(self, record):
        if record.name != "root":
            return True
        log.debug("onnxruntime: %s", record.getMessage())
        return False


@contextlib.contextmanager
def _quiet():
    """Capture ``quantize_static``'s chatter, without changing the root logger for good: its
    calibrators ``print`` progress lines to stdout ("Collecting tensor data and making
    histogram ...", "Number of tensors : 537", once per call, and the gate calls it several
    times) and its QDQ quantizer logs on the root logger that a rank-1 BatchNorm weight has
    no channel axis (it is then quantized per tensor, which is right). Both go to this
    module's logger (``edgefer.export.quantize``) at DEBUG; the exporter says what was done,
    in its own words. For the block, the root logger gets a null handler when it has none,
    so that ``logging.warning()`` does not call ``basicConfig()`` (which would install a
    stderr handler on the root logger for the rest of the process)."""
    root = logging.getLogger()
    divert = _RootToDebug()
    null = logging.NullHandler() if not root.handlers else None
    root.addFilter(divert)
    if null is not None:
        root.addHandler(null)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            yield
    finally:
        root.removeFilter(divert)
        if null is not None:
            root.removeHandler(null)
        for line in out.getvalue().splitlines():
            if line.strip():
                log.debug("onnxruntime: %s", line.strip())


def preprocess_for_quantization(src: str, dst: str) -> None:
    """ONNX Runtime's pre-processing for quantization (shape inference, graph optimisation)
    of ``src``, written to ``dst`` atomically: what :func:`quantize` reads."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with atomic_path(dst) as tmp:
        quant_pre_process(src, tmp, skip_symbolic_shape=True)


def _stride(n, chunk):
    """The largest divisor of ``n`` not above ``chunk`` (quantize_static needs n % stride == 0)."""
    for d in range(min(n, max(1, int(chunk))), 0, -1):
        if n % d == 0:
            return d
    return 1


def silu_nodes(model_path: str) -> List[str]:
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


def quantize(fp32_path: str, out_path: str, target: str, reader: Optional[ArrayReader] = None,
             method: str = "entropy", cache_path: Optional[str] = None, nodes_to_exclude: Sequence[str] = (),
             chunk: int = 64, percentile: float = 99.99, ops: str = "conv", float_paths: bool = True,
             reduce_range: Optional[bool] = None) -> Dict[str, Any]:
    """Quantize ``fp32_path`` (already through :func:`preprocess_for_quantization`) to a QDQ
    ``out_path`` for ``target`` (``cpu``: U8S8; ``tensorrt``: symmetric S8S8), calibrated
    with ``method`` (one of :data:`METHODS`) on ``reader``'s images, or on the ranges in
    ``cache_path`` (then ``reader`` may be None; with a reader the ranges are written
    there). ``nodes_to_exclude`` stay float; ``ops``: a key of :data:`OP_POLICIES`.
    ``float_paths=False`` leaves ONNX Runtime's graph as it is (for comparisons only).
    Returns what was done (the manifest's ``quantization`` entry).

    ``reduce_range`` (default: on for the CPU target) keeps weights in 7 bits, the documented
    workaround (ONNX Runtime's ``reduce_range``, OpenVINO's "saturation issue") for x86 CPUs
    without VNNI: their u8s8 kernels (AVX2 ``vpmaddubsw``, also AVX-512 without VNNI) add two
    u8 x s8 products in int16 and saturate. Measured on a 2-core AMD EPYC (AVX2, no VNNI),
    EfficientViT-M5 64 px: 8-bit weights agreed with FP32 on 80.0 % of 300 Training images
    (97.3 % in exact Q/DQ arithmetic), 7-bit weights on 97.0 % in both. VNNI CPUs and ARM
    (the Pi's sdot/udot) do not saturate; 7 bits cost them about 0.7 dB of logit SQNR. The
    TensorRT flavour keeps 8 bits: a GPU does not saturate."""
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
    if reduce_range is None:
        reduce_range = target == "cpu"
    op_types = list(OP_POLICIES[ops]) if OP_POLICIES[ops] else None
    rerouted = 0
    with atomic_path(out_path) as tmp, tempfile.TemporaryDirectory(prefix="edgefer-quant-") as work:
        os.environ.setdefault("ORT_QUANT_TMPDIR", work)
        with _quiet():
            quantize_static(fp32_path, tmp, calibration_data_reader=reader, quant_format=QuantFormat.QDQ,
                            per_channel=True, reduce_range=reduce_range, activation_type=act,
                            weight_type=QuantType.QInt8, op_types_to_quantize=op_types,
                            nodes_to_exclude=list(nodes_to_exclude), calibrate_method=calib, extra_options=extra,
                            calibration_cache_path=cache_path)
        if float_paths:
            rerouted = keep_float_paths(tmp, quantized_op_types(ops), nodes_to_exclude)
    return {"format": "QDQ", "activations": "uint8" if target == "cpu" else "int8 symmetric",
            "weights": "int8 per-channel" + (" symmetric" if target != "cpu" else "") + (", 7-bit range" if reduce_range else ""),
            "reduce_range": bool(reduce_range), "method": method,
            "ops": ops, "op_types": op_types or "all", "excluded_nodes": list(nodes_to_exclude),
            "float_consumers_rerouted": rerouted}


def quantized_op_types(ops: str) -> Set[str]:
    """The op types ``quantize_static`` quantizes under policy ``ops`` (None means all it knows)."""
    if OP_POLICIES[ops]:
        return set(OP_POLICIES[ops])
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    return set(QDQRegistry) | set(QLinearOpsRegistry)


def keep_float_paths(path: str, op_types: Collection[str], excluded: Collection[str] = ()) -> int:
    """Point float consumers of a Q/DQ copy back at the float tensor (in place); returns how
    many inputs were rerouted.

    Applies where the quantized tensor comes from a float op or the graph input: a residual
    stream (float Add) read by an int8 Conv keeps feeding the next Add in float. A tensor made
    by a quantized op (an int8 Conv's output) is left alone: its Q/DQ *is* that op's int8
    output, and a float copy beside it would stop ONNX Runtime from fusing the op."""
    import onnx

    m = onnx.load(path)
    g = m.graph
    excluded = set(excluded)

    def quantized(n):
        return n.op_type in op_types and n.name not in excluded

    producer = {o: n for n in g.node for o in n.output}
    quant_in = {n.output[0]: n.input[0] for n in g.node if n.op_type == "QuantizeLinear"}
    float_of = {}  # DQ output -> the float tensor it copies
    for n in g.node:
        if n.op_type != "DequantizeLinear" or n.input[0] not in quant_in:
            continue
        src = quant_in[n.input[0]]
        p = producer.get(src)
        if p is None or not (quantized(p) or p.op_type in ("QuantizeLinear", "DequantizeLinear")):
            float_of[n.output[0]] = src
    graph_outputs = {o.name for o in g.output}
    rerouted = 0
    for n in g.node:
        if quantized(n) or n.op_type in ("QuantizeLinear", "DequantizeLinear"):
            continue
        for i, t in enumerate(n.input):
            if t in float_of:
                n.input[i] = float_of[t]
                rerouted += 1
    # Q/DQ pairs that no longer feed anything
    while True:
        used = {t for n in g.node for t in n.input} | graph_outputs
        dead = [n for n in g.node if n.op_type in ("QuantizeLinear", "DequantizeLinear") and n.output[0] not in used]
        if not dead:
            break
        for n in dead:
            g.node.remove(n)
    if rerouted:
        onnx.save(m, path)
    return rerouted


def same_tensor_names(path_a: str, path_b: str) -> bool:
    """Whether two graphs (the same model exported at two batch sizes) have the same nodes,
    in the same order, with the same names, op types, and activation inputs and outputs: then
    ranges and excluded-node lists calibrated or chosen on one mean the same tensors in the
    other. Constants may be named apart (the exporter numbers its shape constants, whose
    values differ with the batch); they carry no calibrated range."""
    import onnx

    def names(path):
        g = onnx.load(path, load_external_data=False).graph
        const = {i.name for i in g.initializer}
        return [i.name for i in g.input], [(n.name, n.op_type, [None if t in const else t for t in n.input],
                                            list(n.output)) for n in g.node]

    return path_a == path_b or names(path_a) == names(path_b)


def read_ranges(cache_path: str) -> Dict[str, Tuple[float, float]]:
    """{tensor: (low, high)} from a calibration cache written by :func:`quantize`."""
    from onnxruntime.quantization.calibrate import load_tensors_data

    out = {}
    for name, td in load_tensors_data(cache_path).items():
        lo, hi = td.range_value
        out[name] = (float(np.ravel(lo)[0]), float(np.ravel(hi)[0]))
    return out


def _fake_quant(x, lo, hi, target):
    """x through int8 quantize-dequantize with ONNX Runtime's scale and zero point."""
    if target == "cpu":
        lo, hi = min(lo, 0.0), max(hi, 0.0)
        scale = (hi - lo) / 255.0
        if scale <= 0:
            return x
        zp = np.clip(np.round(-lo / scale), 0, 255)
        return (np.clip(np.round(x / scale) + zp, 0, 255) - zp) * scale
    scale = max(abs(lo), abs(hi)) / 127.0
    if scale <= 0:
        return x
    return np.clip(np.round(x / scale), -127, 127) * scale


def _conv_weights(node, init):
    """(W as [out, in/group, kh, kw] float64, group) of a Conv or Gemm node, or None."""
    from onnx import numpy_helper

    if len(node.input) < 2 or node.input[1] not in init:
        return None
    w = numpy_helper.to_array(init[node.input[1]]).astype(np.float64)
    attrs = {a.name: a for a in node.attribute}
    if node.op_type == "Gemm":
        if w.ndim != 2:
            return None
        if not (attrs["transB"].i if "transB" in attrs else 0):
            w = w.T
        return w[:, :, None, None], 1
    if w.ndim < 3:
        return None
    w = w.reshape(w.shape[:2] + (-1, 1))  # 1-D and 3-D kernels: taps along one axis
    return w, (attrs["group"].i if "group" in attrs else 1)


def node_sqnr(fp32_path: str, batches: Iterable[np.ndarray], ranges: Dict[str, Tuple[float, float]], target: str,
              ops: str = "conv", excluded: Collection[str] = ()) -> Dict[str, float]:
    """Predicted output SQNR (dB, median over output channels) of every Conv/Gemm that
    ``ops`` quantizes, from one pass over ``batches`` (the calibration images) and the
    calibrated ``ranges`` ({tensor: (low, high)}).

    For output channel o of a node with weights w, input channels j and kernel taps:
    noise_o = sum_j |w_oj|^2 E[(q(x_j) - x_j)^2] + (s_o^2 / 12) sum_j E[x_j^2] (s_o: the
    int8 step of the channel's weights); SQNR_o = Var(y_o) / noise_o. Input-quantization
    errors of different channels are treated as independent. Output channels that never
    vary (dead ReLUs) are left out. Where the output is quantized too, its error shows up
    at its quantized consumers' inputs, so it is counted there. Only nodes whose input a
    float op makes are scored: an input made by a quantized op (an int8 Conv, or under
    ``--int8-ops all`` the residual Add itself) stays int8 whatever its reader does."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(fp32_path)
    g = model.graph
    init = {i.name: i for i in g.initializer}
    types = quantized_op_types(ops)
    excluded = set(excluded)
    producer = {o: n for n in g.node for o in n.output}

    def made_by_float_op(t):  # only then does keeping the reader float take the int8 rounding away
        p = producer.get(t)
        return p is None or p.op_type not in types or p.name in excluded

    nodes = [n for n in g.node if n.op_type in ("Conv", "Gemm") and n.op_type in types and n.name not in excluded
             and n.input[0] in ranges and made_by_float_op(n.input[0]) and _conv_weights(n, init) is not None]
    if not nodes:
        return {}
    inputs = {n.input[0] for n in nodes}
    wanted = sorted(inputs | {n.output[0] for n in nodes})
    have = {o.name for o in g.output}
    for t in wanted:
        if t not in have:
            g.output.append(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    feed = sess.get_inputs()[0].name
    acc = {}  # tensor -> [count, sum, sumsq, noise sumsq] per channel

    def add(name, v):
        axes = tuple(i for i in range(v.ndim) if i != 1)
        v = v.astype(np.float64)
        a = acc.setdefault(name, [0, 0.0, 0.0, 0.0])
        a[0] += v.size // v.shape[1]
        a[1] = a[1] + v.sum(axes)
        a[2] = a[2] + (v * v).sum(axes)
        if name in ranges and name in inputs:
            e = _fake_quant(v, ranges[name][0], ranges[name][1], target) - v
            a[3] = a[3] + (e * e).sum(axes)

    for x in batches:
        for name, v in zip(wanted, sess.run(wanted, {feed: x})):
            add(name, v)
    out = {}
    for n in nodes:
        w, groups = _conv_weights(n, init)
        cnt, s1, s2, se = acc[n.input[0]]
        ex2, noise_in = s2 / cnt, se / cnt  # per input channel
        cnt_o, o1, o2, _ = acc[n.output[0]]
        var_out = np.maximum(o2 / cnt_o - (o1 / cnt_o) ** 2, 0.0)
        n_out, cg = w.shape[:2]
        grp = np.arange(n_out) // (n_out // groups)
        idx = grp[:, None] * cg + np.arange(cg)[None, :]  # [out, in/group] -> input channel
        w2 = (w ** 2).sum(axis=(2, 3))
        step = np.abs(w).reshape(n_out, -1).max(1) / 127.0
        noise = (w2 * noise_in[idx]).sum(1) + step ** 2 / 12.0 * w.shape[2] * w.shape[3] * ex2[idx].sum(1)
        live = var_out > 1e-9 * max(var_out.max(), 1e-30)
        if not live.any():
            continue
        db = 10.0 * np.log10(var_out[live] / np.maximum(noise[live], 1e-30))
        out[n.name] = float(np.median(db))
    return out


def tail_nodes(model_path: str, count: int, op_types: Sequence[str] = ("Conv", "Gemm")) -> List[str]:
    """Names of the last ``count`` nodes of ``op_types`` in graph (topological) order."""
    import onnx

    graph = onnx.load(model_path, load_external_data=False).graph
    names = [n.name for n in graph.node if n.op_type in tuple(op_types)]
    return names[-int(count):] if count else []
