"""The INT8 accuracy gate: compare an INT8 artifact with FP32 on a held-out split and, when
top-1 drops by more than the budget, keep the most quantization-sensitive nodes in floating
point and try again.

Sensitivity is ranked once, from ONNX Runtime's QDQ debugging tools
(``onnxruntime.quantization.qdq_loss_debug``): every activation of the QDQ model is
recorded on a few gate images, and each quantized tensor is scored by the per-channel
signal-to-quantization-noise ratio (SQNR, dB) of its float values against their int8
copy, credited to the node whose float fallback would remove that error. Lowest SQNR
first: those nodes lose the most to int8. Each retry excludes the next few nodes and
re-quantizes from the cached calibration ranges (no re-calibration), so a retry costs one
quantization pass, not one per node. Before the first try, the exporter already keeps in
float the Conv/Gemm nodes whose predicted SQNR is too low (:func:`.quantize.node_sqnr`).
"""

import logging
import os
import tempfile
from typing import Any, Callable, Collection, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..metrics import classification_report, softmax, top2_margin

log = logging.getLogger(__name__)

DECIDED_MARGIN = 0.3


def compare(fp32_logits: np.ndarray, int8_logits: np.ndarray, targets: np.ndarray, names: Sequence[str],
            m2d: Optional[np.ndarray] = None) -> Dict[str, Any]:
    """INT8 vs FP32 on the same images: top-1, macro-F1, per class, and top-1 agreement
    overall and on the images where FP32 is decided (top-2 margin >= 0.3). ``targets``: the
    data's labels; ``names``: its class names; ``m2d``: model class -> data class (default:
    the same)."""
    m2d = np.arange(fp32_logits.shape[1]) if m2d is None else m2d
    p32, p8 = fp32_logits.argmax(1), int8_logits.argmax(1)
    r32 = classification_report(targets, m2d[p32], names)
    r8 = classification_report(targets, m2d[p8], names)
    decided = top2_margin(softmax(fp32_logits)) >= DECIDED_MARGIN
    return {
        "fp32": {"top1": r32["top1"], "macro_f1": r32["macro_f1"]},
        "int8": {"top1": r8["top1"], "macro_f1": r8["macro_f1"],
                 "per_class_f1": {k: v["f1"] for k, v in r8["per_class"].items()}},
        "top1_drop_points": 100.0 * (r32["top1"] - r8["top1"]),
        "agreement": float((p32 == p8).mean()),
        "agreement_decided": float((p32[decided] == p8[decided]).mean()) if decided.any() else None,
        "decided_images": int(decided.sum()),
        "images": int(len(targets)),
    }


def rank_sensitive_nodes(fp32_path: str, qdq_path: str, x: np.ndarray, batch: int = 1,
                         op_types: Optional[Collection[str]] = None,
                         excluded: Collection[str] = ()) -> List[Tuple[str, float]]:
    """Quantized nodes ranked from most to least hurt by quantization: [(node, sqnr_db)], from
    one pass of the QDQ model over the images ``x`` (N x 3 x H x W float32, N a multiple of
    the graphs' fixed ``batch``).

    Each Q/DQ'd tensor is scored by its per-channel SQNR: the variance of its float values
    over the mean squared error of its int8 copy, per channel, median over the channels that
    vary (a whole-tensor SQNR is dominated by the largest channels and hides the small ones
    that int8 wipes out). This is the error each tensor's own quantization adds, not what
    has piled up before it: compared with the float model instead, every tensor after the
    first badly quantized one scores alike (~6 dB throughout EfficientNet-B0's last stages
    here) and the ranking says nothing. A tensor's score goes to the node that keeping in
    float would fix: the quantized op that made it (through folded activations), or, when a
    float op made it, the quantized ops that read it (excluding a float producer changes
    nothing). ``op_types``: the op types being quantized (None: any); ``excluded``: nodes
    already float."""
    import onnx
    from onnxruntime.quantization import qdq_loss_debug as dbg

    from .quantize import ArrayReader

    inp = onnx.load(fp32_path, load_external_data=False).graph.input[0].name
    b = batch
    with tempfile.TemporaryDirectory(prefix="edgefer-gate-") as work:
        q_aug = os.path.join(work, "qdq_aug.onnx")
        dbg.modify_model_output_intermediate_tensors(qdq_path, q_aug)
        qa = dbg.collect_activations(q_aug, ArrayReader(inp, [x[i:i + b] for i in range(0, len(x), b)]))
    match = dbg.create_activation_matching(qa)
    nodes = onnx.load(fp32_path, load_external_data=False).graph.node
    excluded = set(excluded)

    def quantized(n):
        return (op_types is None or n.op_type in op_types) and n.name not in excluded

    producer = {o: n for n in nodes for o in n.output}
    consumers = {}
    for n in nodes:
        for t in n.input:
            consumers.setdefault(t, []).append(n)
    worst = {}
    for tensor, m in match.items():
        if not m.get("pre_qdq") or not m.get("post_qdq"):
            continue
        sq = channel_sqnr(np.concatenate([np.asarray(a) for a in m["pre_qdq"]]),
                          np.concatenate([np.asarray(a) for a in m["post_qdq"]]))
        if sq is None:
            continue
        p = producer.get(tensor)
        if p is not None and quantized(p):
            owners = [_owner(p, producer)]
        else:
            owners = [c.name for c in consumers.get(tensor, []) if quantized(c)]
        for node in owners:
            if node is not None and node not in excluded and sq < worst.get(node, np.inf):
                worst[node] = sq
    return sorted(worst.items(), key=lambda t: t[1])


def channel_sqnr(ref: np.ndarray, quant: np.ndarray) -> Optional[float]:
    """Median over channels (axis 1) of Var(ref) / E[(quant - ref)^2], in dB; channels that
    do not vary are left out; None when nothing varies."""
    ref = np.asarray(ref, np.float64)
    err = np.asarray(quant, np.float64) - ref
    if ref.ndim < 2:
        ref, err = ref.reshape(-1, 1), err.reshape(-1, 1)
    axes = tuple(i for i in range(ref.ndim) if i != 1)
    var = ref.var(axis=axes)
    noise = (err * err).mean(axis=axes)
    live = var > 1e-9 * max(float(var.max()), 1e-30)
    if not live.any() or not np.isfinite(noise[live]).all():
        return None
    db = 10.0 * np.log10(var[live] / np.maximum(noise[live], 1e-30))
    return float(np.median(db))


# Activations that ONNX Runtime's QDQ quantizer folds into the op before them: the error of
# their output belongs to that op (keeping a fused Relu in float changes nothing).
_FOLDED = ("Relu", "Clip", "Identity", "LeakyRelu")


def _owner(node, producer):
    """The node to keep in float for an activation: walk back through folded activations."""
    while node is not None and node.op_type in _FOLDED and node.input and node.input[0] in producer:
        node = producer[node.input[0]]
    return None if node is None else node.name


def search(try_int8: Callable[[List[str]], Tuple[Dict[str, Any], Dict[str, Any]]], base: List[str],
           low: Sequence[str], rank: Callable[[List[str]], List[str]], tail_nodes: Callable[[int], List[str]],
           budget: float, tries: int = 3, step: int = 4, tail: int = 8, target: str = "",
           where: str = "") -> Tuple[List[str], Dict[str, Any], Dict[str, Any], List[Dict[str, Any]]]:
    """The gate's search for the nodes to keep in float; returns ``(excluded, quantization,
    comparison, tries)`` for the best INT8 graph found (``excluded`` is the very list the
    chosen try was made with).

    ``try_int8(excluded)``: quantize keeping ``excluded`` in float and compare it with FP32
    (returns ``(quantization info, comparison)`` as :func:`compare` makes it); ``base``: the
    nodes float from the start (``low``, the low-SQNR ones, among them); ``rank(excluded)``:
    the quantized nodes, most sensitive first (called once, on the first failed try);
    ``tail_nodes(n)``: the network's last ``n`` Conv/Gemm nodes; ``target`` and ``where``
    (the gate split) name the tries in the messages (INFO, on the ``edgefer.export.gate`` logger).

    1. *Ranked tries*: up to ``tries`` retries, each keeping the next ``step`` most sensitive
       nodes in float as well, until the top-1 drop is within ``budget`` points.
    2. *Float tail* (last resort, ``tail`` > 0): keep the last ``tail``, then ``2 * tail``
       Conv/Gemm nodes in float, without the low-SQNR nodes; kept when it beats the best so far.
    """
    excluded = list(base)
    ranked = None
    record = []
    for attempt in range(tries + 1):
        q, cmp_ = try_int8(excluded)
        record.append({"excluded_nodes": len(excluded), "top1_drop_points": cmp_["top1_drop_points"],
                       "agreement_decided": cmp_["agreement_decided"]})
        log.info("gate %s try %d: INT8 top-1 %.2f%% vs FP32 %.2f%% (drop %.2f points, budget %.2f) on %s, "
                 "agreement on decided images %s, %d nodes kept in float",
                 target, attempt + 1, 100 * cmp_["int8"]["top1"], 100 * cmp_["fp32"]["top1"],
                 cmp_["top1_drop_points"], budget, where,
                 "n/a" if cmp_["agreement_decided"] is None else "%.1f%%" % (100 * cmp_["agreement_decided"]),
                 len(excluded))
        if cmp_["top1_drop_points"] <= budget or attempt == tries:
            break
        if ranked is None:
            ranked = rank(excluded)
        excluded = list(dict.fromkeys(base + ranked[:step * (attempt + 1)]))
    tail_sizes = [tail, 2 * tail] if tail else []
    while cmp_["top1_drop_points"] > budget and tail_sizes:
        # Last resort: keep the network's tail (its last Conv/Gemm nodes) in float. When a
        # late activation outgrows int8 (EfficientNet-B0's conv_head reaches ~1,270 with a
        # std of ~9: an int8 step of ~10 erases everything after it), per-node rankings
        # do not find it, while a float tail restores most of FP32's accuracy (B0 +
        # attention, 8 nodes: 14 % -> 39 % on the validation slice vs FP32 41.7 %).
        nodes = tail_nodes(tail_sizes.pop(0))
        # without the low-SQNR nodes: on B0 keeping them float as well undid the tail's gain
        # (41.4 % -> 34.6 % PublicTest, benchmarks/results/int8_calibration.md): the
        # errors of neighbouring int8 layers partly cancel
        tail_excluded = list(dict.fromkeys([n for n in base if n not in low] + nodes))
        q_t, cmp_t = try_int8(tail_excluded)
        record.append({"excluded_nodes": len(tail_excluded), "top1_drop_points": cmp_t["top1_drop_points"],
                       "agreement_decided": cmp_t["agreement_decided"], "strategy": "float tail"})
        log.info("gate %s: float tail (last %d Conv/Gemm nodes): INT8 top-1 %.2f%% vs FP32 %.2f%% (drop %.2f points)",
                 target, len(nodes), 100 * cmp_t["int8"]["top1"], 100 * cmp_t["fp32"]["top1"],
                 cmp_t["top1_drop_points"])
        if cmp_t["top1_drop_points"] < cmp_["top1_drop_points"]:
            cmp_, q, excluded = cmp_t, q_t, tail_excluded
    return excluded, q, cmp_, record
