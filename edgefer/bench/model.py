"""Model benchmark: one row per artifact and backend this machine can run.

For a bundle, every artifact (FP32, FP16, each INT8 flavour, each batch) is run on every
requested backend (ONNX Runtime on the CPU, its CUDA and TensorRT execution providers, a
native TensorRT engine) and, where torch and the checkpoint are present, the PyTorch
checkpoint the bundle was exported from. A row holds the format, precision, target,
backend, file size, top-1 and macro-F1 on a named split, latency (warm-up, then median /
p90 / p99 over ``runs`` calls or ``duration`` seconds), throughput at the larger batch, and
FPS. A backend or artifact that cannot run here gives a row with the reason.

Accuracy with ``data``: on ONNX Runtime's CPU provider it is computed by exactly the code
``edgefer eval BUNDLE`` runs (:func:`edgefer.onnx_predict.predict` + :func:`edgefer.evaluation.score`
on the split opened with the same guard rails), so the numbers are identical; the PyTorch
row uses ``edgefer eval CHECKPOINT``'s code. Other backends run the same preprocessed inputs
through their own runner. Without ``data`` the accuracy recorded in the manifest at export
is shown (``accuracy.source`` = ``"manifest"``).

Device side: no torch at import; torch is imported only for the PyTorch row.
"""

import datetime
import logging
import os

import numpy as np

from .. import __version__, evaluation
from ..errors import EdgeferError, reason
from ..bundle import Bundle, sha256_file
from ..runtime.classifier import BACKENDS, make_runner
from . import device, timing

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
PRECISIONS = ("fp32", "fp16", "int8")
_ACC_CHUNK = 256


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


_reason = reason


# ------------------------------------------------------------------------------- availability

def backend_problem(backend):
    """None when ``backend`` can run here, else why not (one line)."""
    return BACKENDS.get(backend).unavailable_reason()


def _skip_reason(backend, artifact):
    if backend == "tensorrt" and artifact["precision"] == "int8" and artifact.get("target") != "tensorrt":
        return ("INT8 %s flavour (U8S8) is for ONNX Runtime on CPUs; TensorRT runs the tensorrt (S8S8) flavour "
                "(export with --targets cpu,tensorrt)" % artifact.get("target"))
    return None


def _artifact_notes(backend, artifact):
    notes = []
    if backend == "onnxruntime" and artifact["precision"] == "fp16":
        notes.append("FP16 is for GPUs; on a CPU it is slower than FP32")
    if backend == "onnxruntime" and artifact["precision"] == "int8" and artifact.get("target") == "tensorrt":
        notes.append("S8S8 INT8 is TensorRT's flavour; ONNX Runtime on a CPU runs it slower than FP32")
    return notes


# ------------------------------------------------------------------------------------- runners

class _Runner(object):
    """What a row times: ``run(x) -> logits``; ``batch`` (None = dynamic)."""

    provider = None
    batch = None
    size_bytes = None
    file = None

    def run(self, x):
        raise NotImplementedError

    def close(self):
        pass


class _OrtRunner(_Runner):
    def __init__(self, bundle, artifact, backend, threads):
        self.inner = make_runner(bundle, artifact, backend, threads=threads)
        want = BACKENDS.get(backend).providers[0]
        got = self.inner.providers[0] if self.inner.providers else "none"
        if got != want:
            raise EdgeferError("ONNX Runtime fell back to %s: %s could not be used for this model" % (got, want))
        self.provider = "onnxruntime %s %s" % (_ort_version(), got.replace("ExecutionProvider", ""))
        self.batch = self.inner.batch
        self.session = self.inner.session

    def run(self, x):
        return self.inner.run(x)

    def close(self):
        self.inner.close()


def _ort_version():
    try:
        import onnxruntime

        return onnxruntime.__version__
    except ImportError:
        return "?"


class _TrtRunner(_Runner):
    def __init__(self, bundle, artifact):
        self.inner = make_runner(bundle, artifact, "tensorrt")
        self.provider = "TensorRT %s (%s)" % (self.inner.tensorrt_version, self.inner.cuda_library)
        self.batch = self.inner.batch
        self.file = self.inner.engine_path
        self.size_bytes = os.path.getsize(self.inner.engine_path)

    def run(self, x):
        return self.inner.run(x)

    def close(self):
        self.inner.close()


class _TorchRunner(_Runner):
    def __init__(self, net, torch):
        self.net, self.torch = net, torch
        self.provider = "torch %s CPU" % torch.__version__

    def run(self, x):
        with self.torch.inference_mode():
            return self.net(self.torch.from_numpy(np.ascontiguousarray(x, np.float32))).float().numpy()


# ------------------------------------------------------------------------------------ the data

class EvalData(object):
    """A split opened like ``edgefer eval`` opens it: the data set, the model->data label
    map, the class names and the number of images left out (classes the model lacks)."""

    def __init__(self, dataset, m2d, names, n_dropped):
        self.dataset, self.m2d, self.names, self.n_dropped = dataset, m2d, names, n_dropped

    @classmethod
    def open(cls, bundle, data, labels=None, ferplus_csv=None, split=None, allow_train_split=False):
        if not split:
            raise EdgeferError("--data needs --split (e.g. PublicTest): accuracy is reported on a named split")
        # the very code `edgefer eval BUNDLE` uses
        return cls(*evaluation.open_split(data, labels or bundle.manifest["model"]["label_protocol"], ferplus_csv or "",
                                          split, evaluation.bundle_info(bundle), allow_train_split))

    def describe(self):
        ds = self.dataset
        return {"path": ds.path, "dataset": ds.name, "label_protocol": ds.labels.name, "split": ds.split,
                "images": int(len(ds)), "excluded_images": int(self.n_dropped)}

    def score(self, logits):
        rep = evaluation.score(logits, self.dataset.targets, self.m2d, self.names)
        ds = self.dataset
        return {"top1": rep["top1"], "macro_f1": rep["macro_f1"], "images": int(rep["n"]), "source": "measured",
                "dataset": ds.name, "label_protocol": ds.labels.name, "split": ds.split}


def _manifest_accuracy(artifact):
    acc = artifact.get("accuracy") or {}
    if acc.get("top1") is None:
        return None
    return {"top1": acc["top1"], "macro_f1": acc.get("macro_f1"), "images": acc.get("images"), "source": "manifest",
            "dataset": acc.get("dataset"), "label_protocol": acc.get("label_protocol"), "split": acc.get("split")}


def _logits_with(runner, ds, pre):
    out = []
    for s in range(0, len(ds), _ACC_CHUNK):
        idx = np.arange(s, min(len(ds), s + _ACC_CHUNK))
        out.append(np.asarray(runner.run(ds.inputs(idx, pre)), np.float32)[:len(idx)])
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


# ------------------------------------------------------------------------------------- timing

def _batch_of(x, n):
    if len(x) >= n:
        return np.ascontiguousarray(x[:n])
    reps = int(np.ceil(n / float(len(x))))
    return np.ascontiguousarray(np.concatenate([x] * reps)[:n])


def _measure(runner, inputs, fixed_batch, throughput_batch, opts):
    """latency (at the fixed batch, or 1), throughput (at ``throughput_batch`` for a dynamic
    runner) and FPS for one runner; plus trust notes."""
    lat_b = fixed_batch or 1
    x = _batch_of(inputs, lat_b)
    ms, secs = timing.time_calls(lambda: runner.run(x), opts["warmup"], opts["runs"], opts["duration"])
    lat = timing.summarize(ms, secs)
    lat.update(batch=lat_b, warmup=opts["warmup"], samples_ms=[round(float(v), 4) for v in ms])
    notes = timing.trust_notes(lat, "latency", max_spread=opts["max_spread"])
    tb = fixed_batch or throughput_batch
    if tb == lat_b:
        thr = {"batch": tb, "images_per_s": 1000.0 * tb / lat["median_ms"], "median_ms": lat["median_ms"],
               "runs": lat["runs"]}
    else:
        xb = _batch_of(inputs, tb)
        runs = max(10, opts["runs"] // 4)
        dur = opts["duration"] / 4.0 if opts["duration"] else None
        tms, tsecs = timing.time_calls(lambda: runner.run(xb), max(2, opts["warmup"] // 4), runs, dur)
        st = timing.summarize(tms, tsecs)
        thr = {"batch": tb, "images_per_s": 1000.0 * tb / st["median_ms"], "median_ms": st["median_ms"],
               "runs": st["runs"]}
        notes += timing.trust_notes(st, "throughput at batch %d" % tb, min_runs=10, max_spread=opts["max_spread"])
    return lat, thr, 1000.0 / lat["median_ms"], notes


# ---------------------------------------------------------------------------------------- rows

def _row(fmt, backend, artifact=None, **extra):
    a = artifact or {}
    row = {"format": fmt, "precision": a.get("precision"), "target": a.get("target"), "batch": a.get("batch"),
           "backend": backend, "provider": None, "file": a.get("file"),
           "size_mb": a["size_bytes"] / 1e6 if a.get("size_bytes") is not None else None, "threads": None,
           "status": "ok", "reason": None, "accuracy": None, "latency": None, "throughput": None, "fps": None,
           "notes": []}
    row.update(extra)
    return row


def _failed(row, reason, status="failed"):
    row["status"], row["reason"] = status, reason
    return row


def find_checkpoint(bundle):
    """The checkpoint the bundle was exported from, when it is beside the bundle (RUN/best.pt
    for RUN/RUN.edgefer, or NAME/best.pt for NAME.edgefer) and its sha256 matches."""
    prov = bundle.manifest.get("provenance", {})
    name, sha = prov.get("checkpoint"), prov.get("checkpoint_sha256")
    if not name:
        return None
    parent = os.path.dirname(os.path.abspath(bundle.path))
    stem = os.path.basename(os.path.abspath(bundle.path))
    stem = stem[:-len(".edgefer")] if stem.endswith(".edgefer") else stem
    for cand in (os.path.join(parent, name), os.path.join(parent, stem, name)):
        if os.path.isfile(cand) and (not sha or sha256_file(cand) == sha):
            return cand
    return None


def benchmark_model(bundle, data=None, labels=None, ferplus_csv=None, split=None, allow_train_split=False,
                    checkpoint=None, backends=None, precisions=None, threads=(1,), warmup=20, runs=200,
                    duration=None, throughput_batch=None, max_spread=timing.MAX_SPREAD, pytorch=True,
                    cpus=None):
    """Benchmark every artifact of ``bundle`` (a path or :class:`Bundle`); returns the result
    document (see ``bench.schema.json``, ``kind`` ``"model"``).

    ``data``/``labels``/``split``: measure accuracy on that split (as ``edgefer eval`` does);
    ``backends``: any of :data:`BACKENDS` (default all: those this machine lacks give one row
    with the reason); ``precisions``: filter; ``threads``: ONNX Runtime / torch CPU thread
    counts, one row each (0 = the library's default); ``runs``/``duration``/``warmup``: the
    timing loop; ``throughput_batch``: the batch for dynamic-batch models (default: the
    bundle's largest fixed batch, else 8); ``checkpoint``: the PyTorch checkpoint (default:
    found beside the bundle); ``pytorch``: False leaves the PyTorch row out; ``cpus``: the
    CPUs the process is pinned to (recorded; pin with :func:`edgefer.bench.resources.pin_cpus`).
    Each row is announced, and its result said, on the ``edgefer.bench.model`` logger."""
    b = bundle if isinstance(bundle, Bundle) else Bundle.load(bundle)
    backends, precisions, threads = _check_choices(backends, precisions, threads, duration, runs)
    fixed = sorted(a["batch"] for a in b.artifacts if isinstance(a.get("batch"), int))
    tb = int(throughput_batch or (max(fixed) if fixed and max(fixed) > 1 else 8))
    opts = {"warmup": int(warmup), "runs": int(runs), "duration": duration, "max_spread": float(max_spread)}
    ev = EvalData.open(b, data, labels, ferplus_csv, split, allow_train_split) if data else None
    inputs, input_kind = _timing_inputs(b, ev, tb)
    arts = [a for a in b.artifacts if a["precision"] in precisions]
    rows, notes = [], []
    if not arts:
        notes.append("the bundle has no artifact of precision %s" % ", ".join(precisions))
    for be in backends:
        rows += _backend_rows(b, be, arts, threads, ev, inputs, tb, opts)
    if pytorch:
        rows[0:0] = _pytorch_rows(b, checkpoint, ev, inputs, threads, tb, opts, notes)
    labelled = [("%s %s%s" % (r["file"] or r["format"], r["backend"], "" if r["threads"] is None else
                              " t%d" % r["threads"]), n) for r in rows for n in r["notes"]]
    notes += timing.summary_notes(labelled, "--runs or --duration", opts["max_spread"])
    return {
        "schema_version": SCHEMA_VERSION, "kind": "model", "created": _now(), "edgefer_version": __version__,
        "command": device.command_line(), "device": device.report(),
        "settings": {"backends": backends, "precisions": precisions, "threads": threads, "cpus": cpus,
                     "warmup": opts["warmup"], "runs": opts["runs"], "duration": duration, "throughput_batch": tb,
                     "max_spread": opts["max_spread"], "input": input_kind},
        "bundle": {"path": os.path.abspath(b.path), "name": b.manifest.get("name"),
                   "architecture": b.manifest["model"]["architecture"], "input_size": b.preprocess.size,
                   "label_protocol": b.manifest["model"]["label_protocol"], "labels": b.labels},
        "data": ev.describe() if ev is not None else None,
        "rows": rows, "notes": notes,
    }


def _check_choices(backends, precisions, threads, duration, runs):
    """The requested backends, precisions and thread counts as lists, checked."""
    backends = list(backends or BACKENDS)
    for be in backends:
        if be not in BACKENDS:
            raise EdgeferError("--backend %r: expected one of %s, or all" % (be, ", ".join(BACKENDS)))
    precisions = list(precisions or PRECISIONS)
    for p in precisions:
        if p not in PRECISIONS:
            raise EdgeferError("--precision %r: expected one of %s" % (p, ", ".join(PRECISIONS)))
    threads = [int(t) for t in (threads or [0])]
    if any(t < 0 for t in threads):
        raise EdgeferError("--threads: expected numbers >= 0 (0 = the library's default)")
    if duration is None and int(runs) < 1:
        raise EdgeferError("--runs %d: expected >= 1" % runs)
    return backends, precisions, threads


def _timing_inputs(b, ev, tb):
    """The inputs the timing loop runs (the split's first images, else random values) and
    how they were made."""
    pre, size = b.preprocess, b.preprocess.size
    if ev is not None and len(ev.dataset):
        inputs = ev.dataset.inputs(np.arange(min(len(ev.dataset), max(tb, 16))), pre)
        return inputs, "first %d images of the split, preprocessed" % len(inputs)
    inputs = np.random.default_rng(0).uniform(-1, 1, (max(tb, 16), 3, size, size)).astype(np.float32)
    return inputs, "random values (no --data given)"


def _backend_rows(b, be, arts, threads, ev, inputs, tb, opts):
    """The rows of one backend: one per artifact (and per thread count on ONNX Runtime's
    CPU provider); one row with the reason when the backend cannot run here."""
    problem = backend_problem(be)
    fmt = "tensorrt" if be == "tensorrt" else "onnx"
    if problem:
        log.info("%s: %s", be, problem)
        return [_failed(_row(fmt, be), problem)]
    rows = []
    for a in arts:
        skip = _skip_reason(be, a)
        if skip:
            rows.append(_failed(_row(fmt, be, a), skip, "skipped"))
            continue
        acc = [None]  # measured once per artifact, shared by its thread rows
        for th in (threads if be == "onnxruntime" else [None]):
            row = _row(fmt, be, a, threads=th, notes=_artifact_notes(be, a))
            rows.append(row)
            _fill_row(row, b, be, a, th, acc, ev, inputs, tb, opts)
    return rows


def _fill_row(row, b, be, a, th, acc, ev, inputs, tb, opts):
    """Run artifact ``a`` on backend ``be`` and fill ``row`` (provider, accuracy, timing); a
    failure marks the row failed with the reason."""
    runner = None
    try:
        log.info("%s on %s%s ...", a["file"], be, "" if th is None else ", %d thread(s)" % th)
        runner = _TrtRunner(b, a) if be == "tensorrt" else _OrtRunner(b, a, be, th)
        row["provider"] = runner.provider
        if runner.file:
            row["file"] = os.path.basename(runner.file)
            row["size_mb"] = runner.size_bytes / 1e6
        if acc[0] is None:
            acc[0] = _accuracy(runner, b, be, a, ev)
        row["accuracy"] = acc[0]
        fixed_b = a["batch"] if isinstance(a.get("batch"), int) else None
        row["latency"], row["throughput"], row["fps"], extra = _measure(runner, inputs, fixed_b, tb, opts)
        row["notes"] += extra
        log.info("  median %.2f ms, p99 %.2f ms at batch %d", row["latency"]["median_ms"], row["latency"]["p99_ms"],
                 row["latency"]["batch"])
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - the row says why
        _failed(row, _reason(exc))
        log.info("  failed: %s", row["reason"])
    finally:
        if runner is not None:
            runner.close()


def _accuracy(runner, b, be, a, ev):
    """Artifact ``a``'s accuracy: measured on the split (on ONNX Runtime's CPU provider by
    ``edgefer eval BUNDLE``'s code), else the manifest's."""
    if ev is None:
        return _manifest_accuracy(a)
    log.info("  accuracy on %d images of %s %s", len(ev.dataset), ev.dataset.name, ev.dataset.split)
    if be == "onnxruntime":
        from ..onnx_predict import predict

        return ev.score(predict(b.file(a), ev.dataset, b.preprocess))  # as `edgefer eval BUNDLE`
    return ev.score(_logits_with(runner, ev.dataset, b.preprocess))


def _torch_installed():
    try:
        import importlib.util

        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def _pytorch_rows(b, checkpoint, ev, inputs, threads, tb, opts, notes):
    """The PyTorch checkpoint's rows (one per thread count); none (and a note) when torch is
    not installed."""
    if not _torch_installed():
        notes.append("no PyTorch row: torch is not installed (it is a host package: pip install 'edgefer[train]')")
        return []
    row = _row("pytorch", "pytorch", precision="fp32", target="any", batch="dynamic", threads=None)
    path = checkpoint or find_checkpoint(b)
    if not path:
        prov = b.manifest.get("provenance", {})
        return [_failed(row, "checkpoint %s not found beside the bundle (pass --checkpoint PATH)"
                        % prov.get("checkpoint", "best.pt"))]
    if not os.path.isfile(path):
        return [_failed(row, "checkpoint %s does not exist" % path)]
    row["file"], row["size_mb"] = os.path.basename(path), os.path.getsize(path) / 1e6
    try:
        log.info("%s on PyTorch ...", path)
        import torch

        from ..train import checkpoint as ckpt_mod
        from ..train.evaluate import checkpoint_logits

        sha = b.manifest.get("provenance", {}).get("checkpoint_sha256")
        if sha and sha256_file(path) != sha:
            row["notes"].append("this checkpoint is not the one the bundle was exported from (sha256 differs)")
        ck = ckpt_mod.load(path)
        net = ckpt_mod.build_model(ck).to(torch.device("cpu")).eval()
        runner = _TorchRunner(net, torch)
        row["provider"] = runner.provider
        if ev is not None:
            log.info("  accuracy on %d images", len(ev.dataset))
            # `edgefer eval CHECKPOINT`'s code (on the CPU), at torch's default thread count.
            row["accuracy"] = ev.score(checkpoint_logits(ck, ev.dataset, "cpu", batch_size=256, net=net))
        else:
            row["accuracy"] = _manifest_accuracy(b.find(precision="fp32")[0]) if b.find(precision="fp32") else None
            if row["accuracy"]:
                row["notes"].append("accuracy: the FP32 ONNX's, from the manifest")
        default_threads = torch.get_num_threads()
        out = []
        try:
            for th in threads:
                r = dict(row, threads=th, notes=list(row["notes"]))
                torch.set_num_threads(th or default_threads)
                r["latency"], r["throughput"], r["fps"], extra = _measure(runner, inputs, None, tb, opts)
                r["notes"] += extra
                out.append(r)
                log.info("  %d thread(s): median %.2f ms", th or default_threads, r["latency"]["median_ms"])
        finally:
            torch.set_num_threads(default_threads)
        return out
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001
        return [_failed(row, _reason(exc))]
