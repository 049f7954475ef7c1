"""Benchmark results as a terminal table, JSON (``bench.schema.json``), CSV and markdown,
plus the PNG plots (:mod:`edgefer.bench.plots`) beside them. Device side: stdlib only.

Files for a result with tag ``T`` in folder ``OUT``: ``OUT/T.json`` (everything, with the
device report), ``OUT/T.csv`` (one line per row), ``OUT/T.md`` (the table, the notes and
the device report), and ``OUT/T_*.png``. All writes are atomic.
"""

import csv
import io
import json
import os

from ..atomic import write_text
from ..errors import EdgeferError
from . import device

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench.schema.json")
STAGES = ("read", "detect", "preprocess", "classify", "track", "output")


def load_schema():
    """The JSON Schema of a benchmark result (``bench.schema.json`` beside this module)."""
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


def _f(v, fmt="%.2f", none="-"):
    return none if v is None else fmt % v


def _pct(v):
    return "-" if v is None else "%.2f%%" % (100 * v)


def _status(r):
    return "ok" if r["status"] == "ok" else "%s: %s" % (r["status"], r.get("reason") or "")


# ------------------------------------------------------------------------------------- tables

def model_columns(r):
    """The table cells of a model row (strings), in :data:`MODEL_HEADER` order."""
    acc, lat, thr = r.get("accuracy") or {}, r.get("latency") or {}, r.get("throughput") or {}
    star = "*" if acc.get("source") == "manifest" else ""
    return [r["format"], r.get("precision") or "-", r.get("target") or "-",
            "-" if r.get("batch") is None else ("dyn" if r["batch"] == "dynamic" else str(r["batch"])),
            r["backend"], "-" if r.get("threads") is None else ("default" if r["threads"] == 0 else str(r["threads"])),
            _f(r.get("size_mb"), "%.1f"),
            _pct(acc.get("top1")) + star if acc else "-", _f(acc.get("macro_f1"), "%.3f") + star if acc else "-",
            _f(lat.get("median_ms")), _f(lat.get("p90_ms")), _f(lat.get("p99_ms")),
            "-" if not thr else "%.0f @%d" % (thr["images_per_s"], thr["batch"]), _f(r.get("fps"), "%.1f"),
            _status(r) + (" (!)" if any("too short" in n or "too noisy" in n for n in r.get("notes", [])) else "")]


MODEL_HEADER = ["Format", "Precision", "Target", "Batch", "Backend", "Threads", "Size MB", "Top-1", "Macro-F1",
                "Median ms", "p90 ms", "p99 ms", "Img/s @batch", "FPS", "Status"]


def pipeline_columns(r):
    """The table cells of a pipeline row, in :data:`PIPELINE_HEADER` order."""
    st = r.get("stages") or {}

    def mp(s, fmt="%.2f / %.2f"):
        return "-" if not s or s.get("median_ms") is None else fmt % (s["median_ms"], s["p99_ms"])

    return ([r["detector"], r["precision"], r["backend"], "default" if r["threads"] == 0 else str(r["threads"]),
             str(r.get("frames", "-")), _f(r.get("faces_per_frame"), "%.2f"), _f(r.get("fps"), "%.1f")]
            + [mp(st.get(k)) for k in STAGES + ("total",)]
            + [mp(r.get("camera_to_result"), "%.1f / %.1f"), _f((r.get("cpu") or {}).get("percent"), "%.0f%%"),
               _f((r.get("memory") or {}).get("peak_rss_mb"), "%.0f"),
               _status(r) + (" (!)" if any("too short" in n or "too noisy" in n for n in r.get("notes", [])) else "")])


PIPELINE_HEADER = (["Detector", "Precision", "Backend", "Threads", "Frames", "Faces/frame", "FPS"]
                   + ["%s ms med/p99" % k for k in STAGES] + ["total ms med/p99", "cam->result ms", "CPU",
                                                              "peak RSS MB", "Status"])


def _rows_cells(doc):
    if doc["kind"] == "model":
        return MODEL_HEADER, [model_columns(r) for r in doc["rows"]]
    return PIPELINE_HEADER, [pipeline_columns(r) for r in doc["rows"]]


def table_lines(doc):
    """The terminal table (fixed-width columns, like ``yolo benchmark``'s)."""
    header, cells = _rows_cells(doc)
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(header)]
    widths[-1] = len(header[-1])  # the status column is last: no padding
    fmt = lambda row: "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
    return [fmt(header), fmt(["-" * w for w in widths])] + [fmt(c) for c in cells]


def context_lines(doc):
    out = ["%s benchmark, %s, edgefer %s" % (doc["kind"], doc["created"], doc["edgefer_version"]),
           "device: %s" % device.summary(doc["device"])]
    s = doc["settings"]
    b = doc.get("bundle") or {}
    out.append("bundle: %s (%s, %s px)" % (b.get("path"), b.get("architecture"), b.get("input_size")))
    if doc["kind"] == "model":
        d = doc.get("data")
        out.append("accuracy: %s" % ("%s, %s labels, split %s, %d images%s" % (
            d["path"], d["label_protocol"], d["split"], d["images"],
            " (%d of classes the model lacks left out)" % d["excluded_images"] if d.get("excluded_images") else "")
            if d else "* = recorded in the manifest at export (no --data given)"))
        out.append("timing: %s after %d warm-up calls; latency at the artifact's batch (1 for dynamic), "
                   "throughput at batch %d for dynamic models; threads %s; CPUs %s; input: %s" % (
                       "%.1f s" % s["duration"] if s.get("duration") else "%d calls" % s["runs"], s["warmup"],
                       s["throughput_batch"], ",".join(str(t) for t in s["threads"]),
                       "pinned to %s" % ",".join(map(str, s["cpus"])) if s.get("cpus") else "not pinned", s["input"]))
    else:
        src = s.get("source") or {}
        out.append("source: %s (%s%s%s); %s warm-up frames per row left out; CPUs %s" % (
            src.get("uri"), src.get("kind", "?"), ", live" if src.get("live") else "",
            ", %dx%d" % tuple(src["frame_size"]) if src.get("frame_size") else "", s["warmup_frames"],
            "pinned to %s" % ",".join(map(str, s["cpus"])) if s.get("cpus") else "not pinned"))
        out.append("stage times: median / p99 ms; output = sinks and callbacks (none here); total = read start to "
                   "output end (>= the sum of the stages); CPU: process CPU time / wall time (100% = one core); "
                   "peak RSS: resident memory peak of the row")
        if s.get("detect_ahead"):
            out.append("read and detect run in a thread up to %d frame(s) ahead of the rest (Pipeline.stream's "
                       "detect_ahead), so FPS is above 1000 / total" % s["detect_ahead"])
    return out


def _failures(doc):
    return ["%s: %s" % (" ".join(str(x) for x in (r.get("file") or r.get("format") or r.get("detector"),
                                                  r.get("backend")) if x), r["reason"])
            for r in doc["rows"] if r["status"] != "ok" and r.get("reason")]


def print_lines(doc):
    """Everything the terminal shows: context, table, notes."""
    out = context_lines(doc) + [""] + table_lines(doc)
    notes = list(doc.get("notes", []))
    if notes:
        out.append("")
        out += ["note: %s" % n for n in notes]
    return out


# ------------------------------------------------------------------------------------ markdown

def _md_escape(text):
    return str(text).replace("|", "\\|")


def markdown_table(doc):
    """The result's table and notes as markdown lines (no title, no device report)."""
    header, cells = _rows_cells(doc)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for c in cells:
        out.append("| " + " | ".join(_md_escape(x) for x in c) + " |")
    notes = list(doc.get("notes", []))
    if notes:
        out += ["", "Notes:", ""] + ["- %s" % _md_escape(n) for n in notes]
    return out


def markdown(doc, title=None):
    b = doc.get("bundle") or {}
    title = title or ("# edgefer bench: %s" % (os.path.basename(b.get("path") or "") if doc["kind"] == "model"
                                                else "pipeline, " + os.path.basename(b.get("path") or "")))
    out = [title, ""] + ["- %s" % _md_escape(l) for l in context_lines(doc)] + [""] + markdown_table(doc)
    out += ["", "<details><summary>Device report</summary>", "", "```"] + device.lines(doc["device"]) + [
        "```", "", "</details>"]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------- CSV

MODEL_CSV = ["format", "precision", "target", "batch", "backend", "provider", "threads", "file", "size_mb", "status",
             "reason", "top1", "macro_f1", "accuracy_images", "accuracy_source", "accuracy_split", "latency_batch",
             "median_ms", "p90_ms", "p99_ms", "min_ms", "max_ms", "spread", "runs", "throughput_batch",
             "images_per_s", "fps", "notes"]
PIPELINE_CSV = (["detector", "precision", "backend", "threads", "status", "reason", "frames", "faces_per_frame",
                 "fps", "seconds"] + ["%s_%s_ms" % (k, q) for k in STAGES + ("total",) for q in ("median", "p99")]
                + ["camera_to_result_median_ms", "camera_to_result_p99_ms", "cpu_percent", "peak_rss_mb",
                   "peak_rss_scope", "classifier", "notes"])


def _csv_row(doc, r):
    if doc["kind"] == "model":
        acc, lat, thr = r.get("accuracy") or {}, r.get("latency") or {}, r.get("throughput") or {}
        v = dict((k, r.get(k)) for k in ("format", "precision", "target", "batch", "backend", "provider", "threads",
                                         "file", "size_mb", "status", "reason", "fps"))
        v.update(top1=acc.get("top1"), macro_f1=acc.get("macro_f1"), accuracy_images=acc.get("images"),
                 accuracy_source=acc.get("source"), accuracy_split=acc.get("split"), latency_batch=lat.get("batch"),
                 throughput_batch=thr.get("batch"), images_per_s=thr.get("images_per_s"))
        for k in ("median_ms", "p90_ms", "p99_ms", "min_ms", "max_ms", "spread", "runs"):
            v[k] = lat.get(k)
        cols = MODEL_CSV
    else:
        v = dict((k, r.get(k)) for k in ("detector", "precision", "backend", "threads", "status", "reason", "frames",
                                         "faces_per_frame", "fps", "seconds", "classifier"))
        for k in STAGES + ("total",):
            s = (r.get("stages") or {}).get(k) or {}
            v["%s_median_ms" % k], v["%s_p99_ms" % k] = s.get("median_ms"), s.get("p99_ms")
        c2r = r.get("camera_to_result") or {}
        v.update(camera_to_result_median_ms=c2r.get("median_ms"), camera_to_result_p99_ms=c2r.get("p99_ms"),
                 cpu_percent=(r.get("cpu") or {}).get("percent"), peak_rss_mb=(r.get("memory") or {}).get("peak_rss_mb"),
                 peak_rss_scope=(r.get("memory") or {}).get("peak_rss_scope"))
        cols = PIPELINE_CSV
    v["notes"] = "; ".join(r.get("notes", []))
    return [("" if v.get(c) is None else ("%.6g" % v[c] if isinstance(v[c], float) else v[c])) for c in cols], cols


def to_csv(doc):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = MODEL_CSV if doc["kind"] == "model" else PIPELINE_CSV
    w.writerow(cols)
    for r in doc["rows"]:
        w.writerow(_csv_row(doc, r)[0])
    return buf.getvalue()


# --------------------------------------------------------------------------------------- files

def dumps(doc):
    """``doc`` as indented JSON, with each frame record and each list of latency samples on
    one line (a pipeline result has thousands of them), their times rounded to 0.1 us."""
    compact = {}

    def rounded(v):
        if isinstance(v, float):
            return round(v, 4)
        if isinstance(v, dict):
            return dict((k, rounded(x)) for k, x in v.items())
        if isinstance(v, list):
            return [rounded(x) for x in v]
        return v

    def mark(value):
        key = "@@edgefer-compact-%d@@" % len(compact)
        compact[key] = value
        return key

    def walk(obj):
        if isinstance(obj, dict):
            out = {}
            for k, v in obj.items():
                if k == "frame_records" and isinstance(v, list):
                    out[k] = [mark(r) for r in v]
                elif k == "samples_ms" and isinstance(v, list):
                    out[k] = mark(v)
                else:
                    out[k] = walk(v)
            return out
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        return obj

    text = json.dumps(walk(doc), indent=2)
    for key, value in compact.items():
        text = text.replace(json.dumps(key), json.dumps(rounded(value), separators=(", ", ": ")), 1)
    return text + "\n"


def write_all(doc, out_dir, tag=None, plots=True):
    """Write ``TAG.json``, ``TAG.csv``, ``TAG.md`` and the PNGs into ``out_dir``; returns
    (paths written, notes) — a note when the plots were skipped."""
    tag = tag or doc["kind"]
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(out_dir, tag)
    paths = [base + ".json", base + ".csv", base + ".md"]
    write_text(paths[0], dumps(doc))
    write_text(paths[1], to_csv(doc))
    write_text(paths[2], markdown(doc))
    notes = []
    if plots:
        from . import plots as plotting

        written, note = plotting.plot_all(doc, base)
        paths += written
        if note:
            notes.append(note)
    return paths, notes


def require_a_row(doc):
    """Raise EdgeferError when no row of a result could run (the first reason says why)."""
    if not any(r["status"] == "ok" for r in doc["rows"]):
        first = next((r["reason"] for r in doc["rows"] if r.get("reason")), "no rows")
        raise EdgeferError("no benchmark row could run (the first says: %s)" % first)
