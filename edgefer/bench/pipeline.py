"""Pipeline benchmark: the whole runtime on a real source, one row per setting.

Rows are every combination of detector (``blazeface``, ``blazeface-back``, ``yunet`` with a
model path), classifier precision (``fp32``, ``int8``), backend and thread count. Each row
runs :meth:`edgefer.runtime.pipeline.Pipeline.stream` on the source (a video file restarts
for every row; a camera keeps running) and records, for every frame, the time of every
stage (``read``, ``detect``, ``preprocess``, ``classify``, ``track``, ``output``) and the
frame's end-to-end ``total`` (read start to output end, so >= the sum of the stages), plus,
for live sources, the camera-to-result latency (``time.time()`` when the result arrives
minus the frame's capture ``timestamp``). The row summarises them (median and p99 per
stage), with end-to-end FPS, the process's CPU load and its peak memory (RSS) during the row.

The first ``warmup_frames`` frames of a row are recorded (``"warmup": true``) but left out of
the statistics. Device side: numpy + stdlib at import.
"""

import datetime
import logging
import os
import time

from .. import __version__
from ..errors import EdgeferError, reason
from ..runtime.detectors import DETECTORS
from . import device, timing
from .resources import Usage

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
STAGES = ("read", "detect", "preprocess", "classify", "track", "output")
# A row with fewer measured frames, or less time, is "too short" to trust.
MIN_FRAMES = 100
MIN_SECONDS = 1.0


_reason = reason


def _stage_stats(values):
    st = timing.summarize(values)
    if not st.get("runs"):
        return {"median_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None}
    return {"median_ms": st["median_ms"], "p99_ms": st["p99_ms"], "mean_ms": st["mean_ms"], "max_ms": st["max_ms"]}


def _spread(stats):
    """(p99 - min) / median of a stage's times. The p99, not the max: with detection run ahead
    in a thread, a few frames of a thousand wait for a core (the decoder's, the classifier's),
    which says nothing about other work on the machine; a steady load moves the p99."""
    med = stats.get("median_ms") or 0.0
    return (stats["p99_ms"] - stats["min_ms"]) / med if med > 0 else 0.0


def _describe_source(src):
    return {"uri": str(src.uri), "name": getattr(src, "name", str(src.uri)), "kind": getattr(src, "kind", "source"),
            "live": bool(getattr(src, "live", False)),
            "frame_size": list(src.frame_size) if getattr(src, "frame_size", None) else None,
            "fps": getattr(src, "fps", None)}


def run_row(pipe, src, max_frames=None, warmup_frames=5, max_spread=timing.MAX_SPREAD):
    """Run ``pipe`` on the open source ``src``; returns the measured part of a row."""
    live = bool(getattr(src, "live", False))
    records = []
    usage = Usage()
    total = None if max_frames is None else int(max_frames) + int(warmup_frames)
    t_start = None
    if warmup_frames <= 0:
        usage.start()
        t_start = time.perf_counter()
    stream = pipe.stream(src, max_frames=total)
    try:
        for i, result in enumerate(stream):
            arrived = time.time()
            rec = {"index": result.index, "faces": len(result.faces), "warmup": i < warmup_frames}
            for k in STAGES + ("total",):
                rec[k] = float(result.timings.get(k, 0.0))
            rec["camera_to_result"] = 1000.0 * (arrived - result.timestamp) if live else None
            records.append(rec)
            if i + 1 == warmup_frames:
                usage.start()
                t_start = time.perf_counter()
    finally:
        stream.close()
    t_end = time.perf_counter()
    measured = [r for r in records if not r["warmup"]]
    res = {"frames": len(measured), "warmup_frames": len(records) - len(measured)}
    if t_start is None or not measured:
        raise EdgeferError("the source gave %d frame(s): not enough for %d warm-up frame(s) and a measurement"
                           % (len(records), warmup_frames))
    use = usage.stop()
    seconds = t_end - t_start
    faces = sum(r["faces"] for r in measured)
    res.update({
        "faces": faces, "faces_per_frame": faces / float(len(measured)), "seconds": seconds,
        "fps": len(measured) / seconds if seconds > 0 else None,
        "stages": dict((k, _stage_stats([r[k] for r in measured])) for k in STAGES + ("total",)),
        "camera_to_result": _stage_stats([r["camera_to_result"] for r in measured]) if live else None,
        "dropped": int(getattr(src, "dropped", 0) or 0),
        "cpu": {"percent": use["cpu_percent"], "percent_of_machine": use["cpu_percent_of_machine"],
                "cores": use["cores"], "user_s": use["user_s"], "system_s": use["system_s"]},
        "memory": {"peak_rss_mb": use["peak_rss_mb"], "peak_rss_scope": use["peak_rss_scope"],
                   "rss_mb": use["rss_mb"], "process_peak_rss_mb": use["process_peak_rss_mb"]},
        "frame_records": records,
    })
    notes = []
    det = timing.summarize([r["detect"] for r in measured], seconds)
    if len(measured) < MIN_FRAMES or seconds < MIN_SECONDS:
        notes.append("too short to trust (%d frames, %.2f s; use at least %d frames and %.0f s: --max-frames, or a "
                     "longer video)" % (len(measured), seconds, MIN_FRAMES, MIN_SECONDS))
    elif _spread(det) > max_spread:
        notes.append("too noisy to trust: detector time min %.2f / median %.2f / p99 %.2f ms (the detector does "
                     "the same work on every frame; is something else running? pin CPUs with --cpus)"
                     % (det["min_ms"], det["median_ms"], det["p99_ms"]))
    if use["peak_rss_scope"] == "process":
        notes.append("peak RSS is the process-lifetime peak (ru_maxrss), not this row's")
    res["notes"] = notes
    return res


def _combos(detectors, precisions, backends, threads):
    for d in detectors:
        for p in precisions:
            for be in backends:
                for th in threads:
                    yield d, p, be, th


def benchmark_pipeline(source, bundle="default", detectors=None, detector_model=None, precisions=("fp32", "int8"),
                       backends=("auto",), threads=(1,), max_frames=None, warmup_frames=5, source_options=None,
                       max_spread=timing.MAX_SPREAD, pipeline_options=None, cpus=None):
    """Benchmark the runtime on ``source`` (a camera number, path or URI as for ``edgefer run``,
    or a callable returning an open :class:`~edgefer.runtime.sources.Source`); returns the
    result document (``bench.schema.json``, ``kind`` ``"pipeline"``).

    ``detectors`` default: ``blazeface`` and ``blazeface-back``, plus ``yunet`` when
    ``detector_model`` is given (the YuNet model path). ``max_frames``: measured frames per
    row (default: the whole file; 300 for a live source), after ``warmup_frames``.
    ``source_options``: ``width``, ``height``, ``fps`` ... for :func:`open_source`;
    ``pipeline_options``: other :class:`Pipeline` keywords (``score_threshold``, ...).
    Each row is announced, and its result said, on the ``edgefer.bench.pipeline`` logger."""
    from ..bundle import Bundle
    from ..runtime.pipeline import DETECT_AHEAD, Pipeline, resolve_bundle
    from ..runtime.sources import open_source

    b = bundle if isinstance(bundle, Bundle) else Bundle.load(resolve_bundle(bundle))  # once, not per row
    detectors = list(detectors or (["blazeface", "blazeface-back"] + (["yunet"] if detector_model else [])))
    detectors = [DETECTORS.resolve(d) for d in detectors]
    threads = [int(t) for t in (threads or [0])]
    source_options = dict(source_options or {})

    def open_src():
        return source() if callable(source) else open_source(source, **source_options)

    rows, notes, src_desc = [], [], None
    for det, prec, be, th in _combos(detectors, list(precisions), list(backends), threads):
        row = {"detector": det, "detector_model": detector_model if det == "yunet" else None, "precision": prec,
               "backend": be, "backend_requested": be, "threads": th, "artifacts": [], "status": "ok", "reason": None,
               "classifier": None, "notes": []}
        rows.append(row)
        pipe = src = None
        log.info("%s, %s, %s, %d thread(s) ...", det, prec, be, th)
        try:
            if det == "yunet" and not detector_model:
                raise EdgeferError("yunet needs its model file: pass --detector-model face_detection_yunet_*.onnx")
            pipe = Pipeline(b, detector=det, detector_model=detector_model if det == "yunet" else None,
                            backend=be, precision=prec, threads=th, **dict(pipeline_options or {}))
            row["classifier"] = pipe.describe()
            row["backend"] = pipe.classifier.backend  # what "auto" resolved to
            row["artifacts"] = [a["file"] for a in pipe.classifier.artifacts]
            src = open_src()
            live = bool(getattr(src, "live", False))
            n = max_frames if max_frames is not None else (300 if live else None)
            res = run_row(pipe, src, n, warmup_frames, max_spread)
            row["source"] = src_desc = _describe_source(src)
            row.update(res)
            s = res["stages"]
            log.info("  %d frames, %.1f FPS, median ms: %s; total %.2f",
                     res["frames"], res["fps"] or 0, " ".join("%s %.2f" % (k, s[k]["median_ms"]) for k in STAGES),
                     s["total"]["median_ms"])
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - the row says why
            row["status"], row["reason"] = "failed", _reason(exc)
            log.info("  failed: %s", row["reason"])
        finally:
            if src is not None:
                src.close()
            if pipe is not None:
                pipe.close()
    labelled = [("%s %s %s t%d" % (r["detector"], r["precision"], r["backend"], r["threads"]), n)
                for r in rows for n in r["notes"]]
    notes += timing.summary_notes(labelled, "--max-frames (or use a longer video)", max_spread)
    return {
        "schema_version": SCHEMA_VERSION, "kind": "pipeline",
        "created": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "edgefer_version": __version__, "command": device.command_line(), "device": device.report(),
        "settings": {"detectors": detectors, "detector_model": detector_model, "precisions": list(precisions),
                     "backends": list(backends), "threads": threads, "cpus": cpus, "max_frames": max_frames,
                     "warmup_frames": int(warmup_frames), "max_spread": float(max_spread),
                     "detect_ahead": DETECT_AHEAD,
                     "source": src_desc or {"uri": str(source) if not callable(source) else "<callable>"}},
        "bundle": {"path": os.path.abspath(b.path), "name": b.manifest.get("name"),
                   "architecture": b.manifest["model"]["architecture"], "input_size": b.preprocess.size},
        "rows": rows, "notes": notes,
    }
