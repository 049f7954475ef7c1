"""PyTorch -> ONNX (host side: torch, onnx, onnxsim).

* Exported with PyTorch's TorchScript-based exporter at opset 17 by default: the highest
  opset TensorRT 8.5 (JetPack 5.1) parses. ``torch.onnx.export(..., dynamo=True)`` needs
  opset >= 18, which JetPack 5 cannot read; it is used only when asked (``--opset 18+``).
* Fixed batch by default (INT8 loses most of its speed on a dynamic batch axis);
  ``batch=None`` writes a dynamic batch axis.
* Simplified with onnx-simplifier (constant folding, shape-op elimination); the node-count
  change is reported. The result passes ``onnx.checker`` (full check) and shape inference.
"""

import warnings
from typing import Any, Dict, Optional

import numpy as np

from ..atomic import atomic_path
from ..errors import EdgeferError

INPUT, OUTPUT = "input", "logits"


def export(model: Any, path: str, size: int, batch: Optional[int] = 1, opset: int = 17,
           simplify: bool = True) -> Dict[str, Any]:
    """Export ``model`` (a ``torch.nn.Module``, put in eval mode) for ``size`` x ``size``
    images to ``path`` (atomically), at a fixed ``batch`` (None: a dynamic batch axis) and
    ``opset``, simplified with onnx-simplifier unless ``simplify`` is False; returns a dict
    describing what was done (``opset``, ``exporter``, ``batch``, node counts,
    ``simplifier``)."""
    import onnx
    import torch

    model = model.eval()
    x = torch.zeros(batch or 1, 3, size, size)
    dynamo = opset >= 18
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs = {"dynamo": dynamo}
        if batch is None:
            if dynamo:
                kwargs["dynamic_shapes"] = ({0: torch.export.Dim("batch")},)
            else:
                kwargs["dynamic_axes"] = {INPUT: {0: "batch"}, OUTPUT: {0: "batch"}}
        try:
            torch.onnx.export(model, (x,), tmp, input_names=[INPUT], output_names=[OUTPUT], opset_version=opset,
                              do_constant_folding=True, **kwargs)
        except Exception as exc:
            raise EdgeferError("ONNX export at opset %d failed: %s" % (opset, str(exc).splitlines()[0][:300])) from None
        m = onnx.load(tmp)
        nodes_before = len(m.graph.node)
        info = {"opset": opset, "exporter": "torch.onnx (%s)" % ("dynamo" if dynamo else "torchscript"),
                "batch": batch if batch else "dynamic", "nodes_exported": nodes_before}
        if simplify:
            m, info["simplifier"] = _simplify(m)
        info["nodes"] = len(m.graph.node)
        m = onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
        onnx.checker.check_model(m, full_check=True)
        onnx.save(m, tmp)
    return info


def _simplify(model):
    try:
        import onnxsim
    except ImportError:
        return model, "skipped (onnxsim not installed)"
    before = _op_counts(model)
    try:
        simplified, ok = onnxsim.simplify(model)
    except Exception as exc:  # onnxsim raises plain RuntimeErrors from C++
        return model, "skipped (onnxsim failed: %s)" % str(exc).splitlines()[0][:120]
    if not ok:
        return model, "skipped (onnxsim could not validate the result)"
    after = _op_counts(simplified)
    changes = {op: after.get(op, 0) - before.get(op, 0) for op in set(before) | set(after)
               if after.get(op, 0) != before.get(op, 0)}
    desc = "onnxsim %s: %d -> %d nodes%s" % (
        getattr(onnxsim, "__version__", "?"), sum(before.values()), sum(after.values()),
        (" (" + ", ".join("%s %+d" % kv for kv in sorted(changes.items())) + ")") if changes else "")
    return simplified, desc


def _op_counts(model):
    counts = {}
    for n in model.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


def to_fp16(src: str, dst: str) -> Dict[str, str]:
    """FP16 copy of an FP32 ONNX (onnxconverter-common), keeping float32 input and output so
    the runtime feeds the same tensors; for GPUs (on a CPU it is slower than FP32)."""
    import onnx
    from onnxconverter_common import float16

    m = float16.convert_float_to_float16(onnx.load(src), keep_io_types=True)
    with atomic_path(dst) as tmp:
        onnx.save(m, tmp)
    return {"converter": "onnxconverter-common float16, keep_io_types"}


def parity(model: Any, onnx_path: str, x: np.ndarray) -> Dict[str, float]:
    """Compare PyTorch (``model``) and ONNX Runtime (``onnx_path``) logits on the same
    preprocessed real images ``x`` (float32 N x 3 x H x W): ``images``, ``max_abs_diff``,
    ``top1_agreement``."""
    import torch

    from ..onnx_predict import run, session

    with torch.inference_mode():
        ref = model.eval()(torch.from_numpy(x)).numpy()
    got = run(session(onnx_path), x)
    return {"images": int(len(x)), "max_abs_diff": float(np.abs(ref - got).max()),
            "top1_agreement": float((ref.argmax(1) == got.argmax(1)).mean())}


def artifact_name(precision: str, target: str, batch: Optional[int]) -> str:
    """An artifact's file name, e.g. ``model_int8_cpu_b1.onnx`` (``target`` ``"any"`` is left
    out; a dynamic ``batch``, None, is ``dyn``)."""
    return "model_%s%s_b%s.onnx" % (precision, "" if target == "any" else "_" + target, batch if batch else "dyn")


def opset_of(path: str) -> int:
    """The default-domain opset of the ONNX model at ``path``."""
    import onnx

    m = onnx.load(path, load_external_data=False)
    return int(next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")))


__all__ = ["export", "to_fp16", "parity", "artifact_name", "opset_of", "INPUT", "OUTPUT"]
