"""What ``edgefer bench`` does: the model or the pipeline benchmark from the command's options,
its result written as JSON, CSV, markdown and plots (``report.write_all``), or an earlier
result redrawn (``from_json``)."""

import logging
import os
from typing import Dict, List, Optional, Sequence, Tuple

from .. import jsonfile
from ..atomic import check_writable
from ..errors import EdgeferError
from . import report, resources

log = logging.getLogger(__name__)


def run_bench(bundle: Optional[str] = None, pipeline: bool = False, from_json: Optional[str] = None,
              out: Optional[str] = None, tag: Optional[str] = None, plots: bool = True, cpus: Optional[str] = None,
              threads: Optional[Sequence[int]] = None, **options) -> Tuple[dict, List[str], List[str]]:
    """Run a benchmark and write its files: ``(result, paths written, notes)``. ``options``
    are :func:`_model`'s or :func:`_pipeline`'s; ``threads``: one row each (default 1 and
    all usable CPUs); ``cpus``: pin the process first (``"0-3"``)."""
    if out:
        check_writable(out, "--out")  # before minutes of measuring
    if from_json:
        doc = _earlier(from_json)
        out = out or os.path.dirname(os.path.abspath(from_json))
    else:
        pinned = _pin(cpus)
        threads = list(threads) if threads else _default_threads()
        doc = (_pipeline if pipeline else _model)(bundle, threads=threads, cpus=pinned, **options)
        out = out or _default_out(doc)
    paths, notes = report.write_all(doc, out, tag or doc["kind"], plots=plots)
    return doc, paths, notes


def _earlier(path):
    doc = jsonfile.read(path, "--from-json %s" % path)
    if not isinstance(doc, dict) or doc.get("kind") not in ("model", "pipeline") or "rows" not in doc:
        raise EdgeferError("--from-json %s: not an edgefer bench result (no kind/rows)" % path)
    return doc


def _pin(cpus):
    if not cpus:
        return None
    try:
        pinned = resources.pin_cpus(resources.parse_cpus(cpus))
    except (OSError, ValueError) as exc:
        raise EdgeferError("--cpus %s: %s" % (cpus, exc)) from None
    log.info("pinned to CPUs %s", ",".join(map(str, pinned)))
    return pinned


def _default_threads():
    n = len(resources.usable_cpus())
    return [1, n] if n > 1 else [1]


def _pipeline(bundle, source=None, data=None, detectors=None, detector_model=None, precisions=None, backends=None,
              threads=None, max_frames=None, warmup_frames=5, source_options=None, max_spread=1.0, cpus=None,
              **model_only):
    from .pipeline import benchmark_pipeline

    if not source:
        raise EdgeferError("--pipeline needs --source (a camera number, video file, folder or URI)")
    if data:
        raise EdgeferError("--data is for the model benchmark; the pipeline benchmark has no labels to score")
    src = int(source) if str(source).strip().isdigit() else source
    return benchmark_pipeline(src, bundle or "default", detectors=detectors, detector_model=detector_model,
                              precisions=precisions or ("fp32", "int8"), backends=backends or ("auto",),
                              threads=threads, max_frames=max_frames, warmup_frames=warmup_frames,
                              source_options=source_options, max_spread=max_spread, cpus=cpus)


def _model(bundle, source=None, data=None, split=None, labels=None, ferplus_csv=None, allow_train_split=False,
           checkpoint=None, pytorch=True, backends=None, precisions=None, threads=None, warmup=20, runs=200,
           duration=None, batch=None, max_spread=1.0, cpus=None, **pipeline_only):
    from ..runtime.classifier import BACKENDS, resolve_backend
    from .model import benchmark_model

    if not bundle:
        raise EdgeferError("give a BUNDLE (NAME.edgefer folder), or --pipeline --source SOURCE (see edgefer bench --help)")
    if source:
        raise EdgeferError("--source is for the pipeline benchmark: add --pipeline")
    if data and not split:
        raise EdgeferError("--data needs --split (e.g. PublicTest): accuracy is reported on a named split")
    backends = list(backends or ["all"])
    backends = list(BACKENDS) if backends == ["all"] else [resolve_backend() if b == "auto" else b for b in backends]
    return benchmark_model(bundle, data=data, labels=labels, ferplus_csv=ferplus_csv, split=split,
                           allow_train_split=allow_train_split, checkpoint=checkpoint, backends=backends,
                           precisions=precisions, threads=threads, warmup=warmup, runs=runs, duration=duration,
                           throughput_batch=batch, max_spread=max_spread, pytorch=pytorch, cpus=cpus)


def _default_out(doc: Dict) -> str:
    """``BUNDLE-bench/`` beside the bundle, or in the current folder when that is not writable."""
    bpath = doc["bundle"]["path"].rstrip("/")
    parent, name = os.path.dirname(bpath), os.path.basename(bpath)
    name = name[:-len(".edgefer")] if name.endswith(".edgefer") else name
    return os.path.join(parent, name + "-bench") if os.access(parent, os.W_OK) else name + "-bench"
