"""``edgefer export``: checkpoint -> verified bundle (host side: torch, onnx, onnxruntime).

Plain functions per step (ONNX in :mod:`.onnx_export`, INT8 in :mod:`.quantize`, the gate and
its search in :mod:`.gate`, the bundle writer in :mod:`.bundle`, TensorRT engines with the
runtime's :mod:`edgefer.runtime.tensorrt_engine`); this module runs them in order
(:func:`run`: checkpoint -> evaluation data -> FP32 + parity -> FP16 -> INT8 + gate ->
accuracy -> manifest -> bundle -> engines) and writes the manifest.
"""

import datetime
import json
import logging
import os
import shutil
import tempfile
from typing import Any, List

import numpy as np

from .. import __version__
from ..atomic import check_writable, sweep_stale, temp_prefix
from ..cache import cache_dir
from ..data import detect_format, open_dataset
from ..errors import EdgeferError
from ..evaluation import align_labels
from ..metrics import classification_report, expected_calibration_error, fit_temperature, nll, softmax
from ..onnx_predict import ARITHMETIC, exact_qdq, predict, session
from ..bundle import Bundle, sha256_file
from ..preprocess import Preprocess
from . import bundle, calibration, gate, onnx_export, quantize

log = logging.getLogger(__name__)

DEFAULT_TEST_SPLIT = {"fer2013": "PublicTest", "rafdb": "test", "affectnet": "val", "folder": "test"}


class Options(object):
    """Export settings (the CLI flags; a ``--profile`` file fills the ones it names)."""

    def __init__(self, **kw: Any) -> None:
        self.out = None
        self.name = None
        self.opset = 17
        self.img_size = None
        self.batches = (1, 8)
        self.fp16 = False
        self.int8 = False
        self.targets = ("cpu",)
        self.simplify = True
        self.calib_data = None
        self.calib_size = 500
        self.calib_seed = 0
        self.calib_method = "entropy"
        self.calib_dir = "calibration"
        self.eval_data = None
        self.eval_split = None
        self.eval_limit = 0
        self.parity_images = 256
        self.budget = 1.0
        self.gate_tries = 3
        self.gate_step = 4
        self.gate_tail = 8  # last resort: this many final Conv/Gemm nodes kept in float (0: off)
        self.gate_limit = 0
        self.silu = "float"
        self.int8_ops = "conv"
        self.int8_min_sqnr_db = quantize.MIN_SQNR_DB  # None: no Conv/Gemm kept in float up front
        self.threads = 0
        self.keep = ("fp32", "fp16", "int8")  # artifacts the bundle keeps (PRECISION[/TARGET[/bBATCH]]); the others are measured, then dropped
        self.trt = False
        self.trt_workspace_mb = 1024
        self.trt_int8_mode = "qdq"
        self.dla_core = None
        self.profile = None
        for k, v in kw.items():
            if not hasattr(self, k):
                raise TypeError("unknown export option %r" % k)
            setattr(self, k, v)


def _accuracy(path, ds, pre, m2d, names, threads, exact):
    """The artifact's report on the evaluation split, and its logits there."""
    logits = predict(path, ds, pre, threads=threads, exact_qdq=exact)
    return classification_report(ds.targets, m2d[logits.argmax(1)], names), logits


def _temperature(path, val, pre, threads, test_logits, test_correct, exact):
    """Temperature scaling of one artifact: T fitted on the run's validation slice (never the
    test split), with NLL and ECE there before/after, and the test split's ECE before/after
    (reported, not used)."""
    logits = predict(path, val, pre, threads=threads, exact_qdq=exact)
    t = fit_temperature(logits, val.targets)
    ok = logits.argmax(1) == val.targets

    def ece(z, correct, temp):
        return expected_calibration_error(softmax(z / temp).max(1), correct)

    return {"value": t, "fitted_on": "%s %s" % (val.name, val.split), "images": len(val),
            "nll_before": nll(logits, val.targets), "nll_after": nll(logits, val.targets, t),
            "ece_before": ece(logits, ok, 1.0), "ece_after": ece(logits, ok, t),
            "test_ece_before": ece(test_logits, test_correct, 1.0), "test_ece_after": ece(test_logits, test_correct, t)}


def run(checkpoint_path: str, opts: Options) -> str:
    """Export the checkpoint at ``checkpoint_path`` to a bundle with the settings ``opts``
    (an :class:`Options`): checkpoint -> evaluation data -> FP32 + parity -> FP16 -> INT8 +
    gate -> accuracy -> bundle (written atomically, read back) -> TensorRT engines
    (``opts.trt``). Returns the bundle's path; what each step does is logged on the
    ``edgefer.export.exporter`` logger."""
    ck, model, pre = _load_checkpoint(checkpoint_path, opts)
    name, out, batches = _destination(ck, opts)
    ev, m2d, names, accuracy_ctx = _eval_data(opts, ck, ck["data"])
    work = _Work(_scratch())
    try:
        fp32 = _fp32(work, model, pre, ev, batches, opts)
        if opts.fp16:
            _fp16(work, fp32, batches)
        calib_doc = None
        if opts.int8:
            calib_doc = _int8(opts, ck, ck["data"], pre, work.dir, batches, fp32, work.files, work.add, m2d, names)
        _measure(work, ev, pre, m2d, names, accuracy_ctx, _val_slice(ck["data"]), opts.threads)
        path = _write_bundle(out, ck, name, pre, work, calib_doc, opts.keep)
    finally:
        shutil.rmtree(work.dir, ignore_errors=True)
    if opts.trt:
        build_engines(path, opts)
    return path


def _scratch():
    """A scratch folder in the temporary directory (models, calibration data: up to ~230 MB),
    after sweeping those that killed exports left (their process no longer runs)."""
    tmp = tempfile.gettempdir()
    sweep_stale(tmp, "edgefer-export")
    return tempfile.mkdtemp(prefix=temp_prefix("edgefer-export"), dir=tmp)


class _Work(object):
    """The export's scratch folder: the files written there (bundle name -> path) and the
    manifest entries of the artifacts among them, in the order they were made."""

    def __init__(self, folder):
        self.dir, self.files, self.artifacts = folder, {}, []

    def path(self, fname):
        return os.path.join(self.dir, fname)

    def add(self, fname, precision, target, batch, extra):
        """Record the ONNX file ``fname`` (written in the folder) as an artifact."""
        self.files[fname] = self.path(fname)
        a = {"file": fname, "format": "onnx", "precision": precision, "target": target, "batch": batch,
             "opset": onnx_export.opset_of(self.files[fname])}
        a.update(extra)
        self.artifacts.append(a)
        return a


def _load_checkpoint(checkpoint_path, opts):
    """The checkpoint, its model and preprocessing (at ``--img-size`` when that differs)."""
    from ..train import checkpoint

    ck = checkpoint.load(checkpoint_path)
    model = checkpoint.build_model(ck)
    pre = Preprocess.from_dict(ck["preprocess"])
    if opts.img_size and opts.img_size != pre.size:
        model, pre = _resize(ck, model, pre, opts.img_size)
    return ck, model, pre


def _destination(ck, opts):
    """The bundle's name, its folder (``RUN/RUN.edgefer`` by default) and the batch sizes."""
    run_dir = os.path.dirname(os.path.abspath(ck["path"]))
    name = opts.name or os.path.basename(run_dir)
    out = opts.out or os.path.join(run_dir, name + ".edgefer")
    if not out.endswith(".edgefer"):
        raise EdgeferError("--out %s: a bundle folder's name ends in .edgefer" % out)
    check_writable(os.path.dirname(os.path.abspath(out)), "--out")  # before minutes of export
    batches = sorted(set(int(b) for b in opts.batches))
    if not batches or batches[0] < 1:
        raise EdgeferError("--batches: expected positive batch sizes, e.g. 1,8")
    return name, out, batches


def _fp32(work, model, pre, ev, batches, opts):
    """FP32 ONNX per batch, each checked against PyTorch on real images; their artifacts by batch."""
    x_parity = ev.inputs(np.arange(min(opts.parity_images, len(ev))), pre)
    fp32 = {}
    for b in batches:
        fname = onnx_export.artifact_name("fp32", "any", b)
        log.info("export: FP32 ONNX, batch %d, opset %d", b, opts.opset)
        exp = onnx_export.export(model, work.path(fname), pre.size, batch=b, opset=opts.opset, simplify=opts.simplify)
        par = onnx_export.parity(model, work.path(fname), x_parity)
        par["data"] = "%s %s (first %d images)" % (ev.name, ev.split, len(x_parity))
        if par["top1_agreement"] < 1.0 or par["max_abs_diff"] > 1e-3:
            raise EdgeferError("FP32 ONNX (batch %d) disagrees with PyTorch: top-1 agreement %.4f, max abs diff "
                               "%.2e" % (b, par["top1_agreement"], par["max_abs_diff"]))
        fp32[b] = work.add(fname, "fp32", "any", b, {"export": exp, "parity": par})
        log.info("  parity with PyTorch on %d real images: top-1 agreement %.1f%%, max |logit diff| %.2e; %s",
                 par["images"], 100 * par["top1_agreement"], par["max_abs_diff"], exp.get("simplifier", ""))
    return fp32


def _fp16(work, fp32, batches):
    """FP16 ONNX (for GPUs) per batch, converted from the FP32 files."""
    for b in batches:
        fname = onnx_export.artifact_name("fp16", "gpu", b)
        conv = onnx_export.to_fp16(work.files[fp32[b]["file"]], work.path(fname))
        work.add(fname, "fp16", "gpu", b, {"export": conv})


def _measure(work, ev, pre, m2d, names, accuracy_ctx, val, threads):
    """Accuracy of every artifact on the evaluation split, temperature on the validation slice."""
    for a in work.artifacts:
        log.info("accuracy: %s on %s %s (%d images)", a["file"], ev.name, ev.split, len(ev))
        exact = exact_qdq(a)
        r, logits = _accuracy(work.files[a["file"]], ev, pre, m2d, names, threads, exact)
        a["accuracy"] = dict(accuracy_ctx, top1=r["top1"], macro_f1=r["macro_f1"],
                             per_class_f1={k: v["f1"] for k, v in r["per_class"].items()},
                             arithmetic=ARITHMETIC[exact])
        a["temperature"] = t = _temperature(work.files[a["file"]], val, pre, threads, logits,
                                            m2d[logits.argmax(1)] == ev.targets, exact)
        log.info("  top-1 %.2f%%, macro-F1 %.3f; temperature %.3f (ECE on %s %.3f -> %.3f, on %s %.3f -> %.3f)",
                 100 * r["top1"], r["macro_f1"], t["value"], val.split, t["ece_before"], t["ece_after"], ev.split,
                 t["test_ece_before"], t["test_ece_after"])


def _write_bundle(out, ck, name, pre, work, calib_doc, keep):
    """The manifest (``--keep``'s artifacts, a record of the others, the calibration list),
    the bundle written atomically and read back to verify it; its path."""
    artifacts, dropped = _keep(work.artifacts, work.files, keep)
    manifest = _manifest(ck, name, pre, artifacts, calib_doc)
    if dropped:
        manifest["not_shipped"] = dropped
    if calib_doc is not None:
        work.files["calibration.json"] = work.path("calibration.json")
        with open(work.files["calibration.json"], "w") as f:
            json.dump(calib_doc, f, indent=1)
        manifest["calibration_file"] = "calibration.json"
    path = bundle.write(out, manifest, work.files)
    Bundle.load(path)  # verify what was written
    return path


def _selected(artifact, selectors):
    """Does ``artifact`` match one of the ``--keep`` selectors, ``PRECISION[/TARGET[/bBATCH]]``
    (``int8``, ``int8/cpu``, ``int8/tensorrt/b1``)?"""
    have = [artifact["precision"], artifact["target"], "b%s" % artifact["batch"]]
    return any(sel.split("/") == have[:len(sel.split("/"))] for sel in selectors)


def _keep(artifacts, files, selectors):
    """The artifacts the bundle keeps (``--keep``), and a record of the others: made and
    measured (FP32 is the parity and gate reference), then left out of the bundle."""
    kept, dropped = [], []
    for a in artifacts:
        if _selected(a, selectors):
            kept.append(a)
        else:
            dropped.append({k: a[k] for k in ("file", "precision", "target", "batch", "accuracy", "temperature") if k in a})
    if not kept:
        raise EdgeferError("--keep %s: the export wrote no such artifact (it wrote %s)" % (
            ",".join(selectors), ", ".join("%s/%s/b%s" % (a["precision"], a["target"], a["batch"]) for a in artifacts)))
    for d in dropped:
        d.update(size_bytes=os.path.getsize(files[d["file"]]), sha256=sha256_file(files.pop(d["file"])))
    return kept, dropped


def _eval_data(opts, ck, info):
    """The data for the accuracy in the manifest: a test split of the training data set
    unless told otherwise (never the training split)."""
    eval_data = opts.eval_data or info["path"]
    eval_split = opts.eval_split or DEFAULT_TEST_SPLIT.get(detect_format(eval_data), "test")
    ev = open_dataset(eval_data, labels=info["label_protocol"], split=eval_split)
    if ev.split == ev.train_split:
        raise EdgeferError("--eval-split %s is the training split; accuracy in a bundle is measured on a test split" % ev.split)
    keep, m2d, names = align_labels(ck["labels"]["names"], ev)
    if not keep.all():
        ev = ev.subset(np.flatnonzero(keep))
    if opts.eval_limit and opts.eval_limit < len(ev):
        from ..data.splits import stratified_sample

        ev = ev.subset(stratified_sample(ev.targets, total=opts.eval_limit, seed=0))
    accuracy_ctx = {"dataset": ev.name, "data": os.path.abspath(ev.path), "label_protocol": ev.labels.name,
                    "split": ev.split, "images": len(ev),
                    "sample": "class-stratified %d" % len(ev) if opts.eval_limit else "full split"}
    return ev, m2d, names, accuracy_ctx


def build_engines(path: str, opts: Options) -> List[str]:
    """TensorRT engines for the bundle at ``path``, into the engine cache (on the device that
    runs them); returns the engines' paths.

    FP16 from the FP16 ONNX; INT8 from the S8S8 QDQ ONNX (``trt_int8_mode="qdq"``, TensorRT
    >= 8.0, the only INT8 path on >= 10.1), or from the FP32 ONNX with an entropy calibrator
    fed by the bundle's calibration ids (``"calibrator"``, TensorRT 8.x; needs the data)."""
    from ..runtime import tensorrt_engine as tb

    b = Bundle.load(path)
    built = []
    common = {"workspace_mb": opts.trt_workspace_mb, "dla_core": opts.dla_core}
    for a in b.artifacts:
        if a["precision"] == "fp16" or (a["precision"] == "int8" and a["target"] == "tensorrt"
                                         and opts.trt_int8_mode == "qdq"):
            built.append(tb.get_engine(b.file(a), a["sha256"], a["precision"], **common))
        elif a["precision"] == "fp32" and opts.trt_int8_mode == "calibrator" and a["batch"] != "dynamic":
            doc = calibration.load(os.path.join(path, b.manifest["calibration_file"]))
            ds = open_dataset(opts.calib_data or doc["data"], labels=doc["label_protocol"], split=doc["split"])
            cache = os.path.join(cache_dir("engines"), "%s-b%s.calib" % (a["sha256"][:16], a["batch"]))
            calib = tb.make_entropy_calibrator(calibration.batches(ds, doc["ids"], b.preprocess, a["batch"]), cache,
                                               onnx_export.INPUT)
            built.append(tb.get_engine(b.file(a), a["sha256"], "int8", int8_mode="calibrator", calibrator=calib, **common))
    for e in built:
        log.info("TensorRT engine: %s", e)
    return built


def _resize(ck, model, pre, size):
    """The model at another input size than it was trained at. Convolutional nets take any
    size; EfficientViT's attention-bias tables are resized by timm's own checkpoint filter.
    Accuracy at the new size is measured like any other (it usually drops)."""
    from ..train.models import create_from_config

    cfg = dict(ck["model"], img_size=int(size))
    resized = create_from_config(cfg)
    state = ck["state_dict"]
    if cfg["arch"].startswith("efficientvit_m"):
        from timm.models.efficientvit_msra import checkpoint_filter_fn

        state = checkpoint_filter_fn(state, resized)
    resized.load_state_dict(state)
    log.info("export: input size %d px (the checkpoint was trained at %d px)", size, pre.size)
    d = pre.to_dict()
    d["size"] = int(size)
    ck["model"] = cfg
    return resized.eval(), Preprocess.from_dict(d)


def _int8(opts, ck, info, pre, work, batches, fp32, files, add, m2d, names):
    """Calibrate, quantize each target and batch, and run the accuracy gate."""
    train_ds, gate_ds, cpath, cdoc = _int8_data(opts, info)
    _, gm2d, gnames = align_labels(ck["labels"]["names"], gate_ds)
    pre_q = {}
    for b in batches:
        pre_q[b] = os.path.join(work, "prequant_b%d.onnx" % b)
        quantize.preprocess_for_quantization(files[fp32[b]["file"]], pre_q[b])
    b1 = batches[0]
    ranges_batch, calibrate = _calibrator(opts, work, batches, pre_q, train_ds, cdoc, pre)
    fp32_gate = predict(files[fp32[batches[0]]["file"]], gate_ds, pre, threads=opts.threads)
    calib_meta = {"method": opts.calib_method, "images": cdoc["size"], "split": train_ds.split,
                  "selection": "class-balanced", "seed": opts.calib_seed, "ids_sha256": cdoc["ids_sha256"],
                  "list": os.path.basename(cpath)}
    # SiLU matters only when its ops are quantized at all ("all")
    silu = quantize.silu_nodes(files[fp32[batches[0]]["file"]]) if opts.silu == "float" and opts.int8_ops == "all" else []
    op_types = quantize.quantized_op_types(opts.int8_ops)
    for target in opts.targets:
        base = list(silu) if target == "cpu" else []
        low = _low_sqnr_nodes(opts, target, pre_q[b1], train_ds, cdoc, pre, b1, calibrate(b1, target), base)
        base += low
        qpath = os.path.join(work, onnx_export.artifact_name("int8", target, b1))
        exact = exact_qdq({"precision": "int8", "target": target})  # measured as its manifest entry will be
        in_file = [None]  # the excluded-node list the INT8 file at qpath was last written with

        def try_int8(excl):
            """Quantize the batch-1 graph keeping ``excl`` in float; measure it against FP32."""
            q_ = quantize.quantize(pre_q[b1], qpath, target, None, opts.calib_method, calibrate(b1, target), excl,
                                   ops=opts.int8_ops)
            in_file[0] = excl
            q_logits = predict(qpath, gate_ds, pre, threads=opts.threads, exact_qdq=exact)
            return q_, gate.compare(fp32_gate, q_logits, gate_ds.targets, gnames, gm2d)

        def rank(excluded):
            x = gate_ds.inputs(range(min(64, len(gate_ds))), pre)
            x = x[: (len(x) // b1) * b1]
            return [n for n, _ in gate.rank_sensitive_nodes(pre_q[b1], qpath, x, b1, op_types, excluded)]

        excluded, q, cmp_, tries = gate.search(
            try_int8, base, low, rank, lambda n: quantize.tail_nodes(pre_q[b1], n), opts.budget, opts.gate_tries,
            opts.gate_step, opts.gate_tail, target=target, where="%s %s" % (gate_ds.name, gate_ds.split))
        if in_file[0] is not excluded:
            # a later try overwrote the file: write the chosen one again
            q = quantize.quantize(pre_q[b1], qpath, target, None, opts.calib_method, calibrate(b1, target), excluded,
                                  ops=opts.int8_ops)
        gate_doc = {"split": gate_ds.split, "dataset": gate_ds.name, "images": len(gate_ds), "budget_points": opts.budget,
                    "passed": cmp_["top1_drop_points"] <= opts.budget, "tries": tries, "final": cmp_,
                    "kept_in_float": [n for n in excluded if n not in silu],
                    "low_sqnr_in_float": low, "min_sqnr_db": opts.int8_min_sqnr_db,
                    "silu_in_float": len(silu) // 2 if target == "cpu" else 0}
        if not gate_doc["passed"]:
            log.warning("%s INT8 still drops %.2f top-1 points after %d tries (budget %.2f); kept in the bundle "
                        "with the numbers in its manifest", target, cmp_["top1_drop_points"], opts.gate_tries,
                        opts.budget)
        for b in batches:
            fname = onnx_export.artifact_name("int8", target, b)
            if b != batches[0]:
                q = quantize.quantize(pre_q[b], os.path.join(work, fname), target, None, opts.calib_method,
                                      calibrate(b, target), excluded, ops=opts.int8_ops)
            add(fname, "int8", target, b, {"quantization": q, "calibration": dict(calib_meta, ranges_batch=ranges_batch[b]),
                                           "gate": gate_doc})
    return cdoc


def _calibrator(opts, work, batches, pre_q, train_ds, cdoc, pre):
    """({batch: the batch whose graph's ranges it is quantized on}, calibrate(batch, target) ->
    that ranges file, calibrated on first use).

    One set of ranges, the first batch's, serves every batch whose graph names its nodes and
    tensors as that one does (all of ours): a face then gets the same int8 answer in any batch.
    Calibrated per batch, ONNX Runtime's histograms depend on how the images are batched (85 of
    the default's 422 parameters differed between its b1 and b8 files,
    benchmarks/results/free-dimension-2026-12-06/). A graph named otherwise would silently leave
    tensors float under borrowed ranges, so it is calibrated on its own."""
    b1 = batches[0]
    ranges_batch = {b: b1 if quantize.same_tensor_names(pre_q[b1], pre_q[b]) else b for b in batches}
    for b in batches:
        if ranges_batch[b] != b1:
            log.warning("the batch-%d graph names its tensors differently from the batch-%d graph's: calibrated on "
                        "its own, so a face's int8 answer may differ slightly between the two", b, b1)
    ranges = {b: os.path.join(work, "ranges-b%d-%s.json" % (b, opts.calib_method)) for b in batches}

    def calibrate(b, target):
        b = ranges_batch[b]
        if not os.path.exists(ranges[b]):
            reader = quantize.ArrayReader("input", calibration.batches(train_ds, cdoc["ids"], pre, b))
            quantize.quantize(pre_q[b], os.path.join(work, "calib_probe.onnx"), target, reader, opts.calib_method,
                              ranges[b], ops="all")
        return ranges[b]

    return ranges_batch, calibrate


def _int8_data(opts, info):
    """The calibration images (a class-balanced list from the training split) and the gate's
    data: the run's validation slice (held out from training, and not the test split)."""
    calib_data = opts.calib_data or info["path"]
    train_ds = open_dataset(calib_data, labels=info["label_protocol"], split=info["train_split"])
    same_data = os.path.abspath(calib_data) == info["path"]
    exclude = info["val_ids"] if same_data else []
    cpath, cdoc = calibration.make_or_load(train_ds, opts.calib_dir, opts.calib_size, opts.calib_seed, exclude)
    log.info("calibration: %d class-balanced %s images (%s), method %s", cdoc["size"], train_ds.split, cpath,
             opts.calib_method)
    gate_ds = _val_slice(info, train_ds if same_data else None)
    if opts.gate_limit and opts.gate_limit < len(gate_ds):
        from ..data.splits import stratified_sample

        gate_ds = gate_ds.subset(stratified_sample(gate_ds.targets, total=opts.gate_limit, seed=0))
    return train_ds, gate_ds, cpath, cdoc


def _val_slice(info, train_ds=None):
    """The run's validation slice (held out of training; model selection's data) of its
    training split, from ``train_ds`` when that is already open."""
    if train_ds is None:
        train_ds = open_dataset(info["path"], labels=info["label_protocol"], split=info["train_split"])
    return train_ds.subset(train_ds.index_of(info["val_ids"]), split=train_ds.split + ":val")


def _low_sqnr_nodes(opts, target, pre_q, train_ds, cdoc, pre, batch, ranges, base):
    """Conv/Gemm nodes int8 cannot represent (predicted output SQNR from the calibration
    images and ranges): they stay float from the first try on."""
    if opts.int8_min_sqnr_db is None:
        return []
    sq = quantize.node_sqnr(pre_q, calibration.batches(train_ds, cdoc["ids"], pre, batch), quantize.read_ranges(ranges),
                            target, opts.int8_ops, base)
    low = [n for n, db in sorted(sq.items(), key=lambda kv: kv[1]) if db < opts.int8_min_sqnr_db]
    log.info("int8 %s: %d of %d Conv/Gemm nodes stay float (predicted SQNR below %.0f dB)%s",
             target, len(low), len(sq), opts.int8_min_sqnr_db,
             ": " + ", ".join("%s %.1f dB" % (n, sq[n]) for n in low[:8]) + (" ..." if len(low) > 8 else "")
             if low else "")
    return low


def _manifest(ck, name, pre, artifacts, calib_doc):
    d = ck["data"]
    t = ck["train"]
    return {
        "name": name,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "edgefer_version": __version__,
        "model": {
            "architecture": ck["model"]["arch"], "num_classes": ck["model"]["num_classes"],
            "labels": list(ck["labels"]["names"]), "label_protocol": ck["labels"]["protocol"],
            "input": {"name": onnx_export.INPUT, "layout": "NCHW", "dtype": "float32", "size": pre.size},
            "output": {"name": onnx_export.OUTPUT, "kind": "logits"},
            "preprocess": pre.to_dict(),
        },
        "provenance": {
            "dataset": d["format"], "data": d["path"], "label_protocol": d["label_protocol"],
            "train_split": d["train_split"], "n_train": d["n_train"], "n_val": d["n_val"],
            "val_fraction": d["val_fraction"], "split_seed": d["split_seed"], "val_ids": d["val_ids"],
            "epochs": ck["epoch"], "seed": t["seed"], "best": ck.get("best", {}),
            "checkpoint": os.path.basename(ck["path"]), "checkpoint_sha256": sha256_file(ck["path"]),
            "train": dict({k: t[k] for k in ("arch", "img_size", "epochs", "batch_size", "optimizer", "lr", "schedule",
                                             "augment", "mixup", "class_weights", "label_smoothing", "pretrained")},
                          scale=t.get("scale"), weights=t.get("weights")),  # both absent from older checkpoints
            "versions": ck.get("versions", {}),
        },
        "artifacts": artifacts,
    }
