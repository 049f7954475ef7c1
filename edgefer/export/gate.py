"""The INT8 accuracy gate: compare an INT8 artifact with FP32 on a held-out split and, when
top-1 drops by more than the budget, keep the most quantization-sensitive nodes in floating
point and try again.

Sensitivity is ranked once, from ONNX Runtime's QDQ debugging tools
(``onnxruntime.quantization.qdq_loss_debug``): every activation of the float and the QDQ
model is recorded on a few gate images, and each quantized tensor is scored by the
signal-to-quantization-noise ratio (SQNR, dB) of the float activation against its
quantized counterpart. Lowest SQNR first: those nodes lose the most to int8. Each retry
excludes the next few nodes and re-quantizes from the cached calibration ranges (no
re-calibration), so a retry costs one quantization pass, not one per node.
"""

import os
import tempfile

import numpy as np

from ..metrics import classification_report, softmax, top2_margin

DECIDED_MARGIN = 0.3


def compare(fp32_logits, int8_logits, targets, names, m2d=None):
    """INT8 vs FP32 on the same images: top-1, macro-F1, per class, and top-1 agreement
    overall and on the images where FP32 is decided (top-2 margin >= 0.3)."""
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


def rank_sensitive_nodes(fp32_path, qdq_path, x, batch=1):
    """Float nodes ranked from most to least hurt by quantization: [(node, sqnr_db)], from
    one pass over the images ``x`` (N x 3 x H x W float32, N a multiple of the graphs'
    fixed ``batch``)."""
    import onnx
    from onnxruntime.quantization import qdq_loss_debug as dbg

    from .quantize import ArrayReader

    inp = onnx.load(fp32_path, load_external_data=False).graph.input[0].name
    b = batch
    with tempfile.TemporaryDirectory(prefix="edgefer-gate-") as work:
        f_aug = os.path.join(work, "float_aug.onnx")
        q_aug = os.path.join(work, "qdq_aug.onnx")
        dbg.modify_model_output_intermediate_tensors(fp32_path, f_aug)
        dbg.modify_model_output_intermediate_tensors(qdq_path, q_aug)
        fa = dbg.collect_activations(f_aug, ArrayReader(inp, [x[i:i + b] for i in range(0, len(x), b)]))
        qa = dbg.collect_activations(q_aug, ArrayReader(inp, [x[i:i + b] for i in range(0, len(x), b)]))
    match = dbg.create_activation_matching(qa, fa)
    errors = dbg.compute_activation_error(match)
    nodes = onnx.load(fp32_path, load_external_data=False).graph.node
    producer = {o: n for n in nodes for o in n.output}
    scored = []
    for tensor, e in errors.items():
        node = _owner(producer.get(tensor), producer)
        sq = e.get("qdq_err")
        if node is None or sq is None or not np.isfinite(sq):
            continue
        scored.append((node, float(sq)))
    scored.sort(key=lambda t: t[1])
    seen, out = set(), []  # a node keeps its worst (lowest) SQNR
    for node, sq in scored:
        if node not in seen:
            seen.add(node)
            out.append((node, sq))
    return out


# Activations that ONNX Runtime's QDQ quantizer folds into the op before them: the error of
# their output belongs to that op (keeping a fused Relu in float changes nothing).
_FOLDED = ("Relu", "Clip", "Identity", "LeakyRelu")


def _owner(node, producer):
    """The node to keep in float for an activation: walk back through folded activations."""
    while node is not None and node.op_type in _FOLDED and node.input and node.input[0] in producer:
        node = producer[node.input[0]]
    return None if node is None else node.name
