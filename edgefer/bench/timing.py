"""Timing loops and their statistics, with a note when a measurement is too short or too
noisy to trust (device side: numpy + stdlib)."""

import time

import numpy as np

# A measurement with fewer calls (a p99 needs 100), or less time in total (periodic
# disturbances such as timer ticks and other processes' bursts average out over ~0.2 s), is
# "too short" to trust.
MIN_RUNS = 100
MIN_SECONDS = 0.2
# (max - min) / median above this is "too noisy" (another process, frequency scaling, swap).
MAX_SPREAD = 1.0


def time_calls(fn, warmup=20, runs=200, duration=None, min_runs=10):
    """Call ``fn()`` ``warmup`` times, then time it: ``runs`` calls, or until ``duration``
    seconds have passed when ``duration`` is given (at least ``min_runs`` calls). Returns
    the per-call times in milliseconds and the seconds the timed calls took."""
    for _ in range(max(0, int(warmup))):
        fn()
    times = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        times.append(1000.0 * (t1 - t0))
        if duration:
            if t1 - start >= duration and len(times) >= min_runs:
                break
        elif len(times) >= runs:
            break
    return np.asarray(times, np.float64), time.perf_counter() - start


def summarize(ms, seconds=None):
    """median / p90 / p99 / mean / min / max (ms) and the min-max spread of ``ms``."""
    ms = np.asarray(ms, np.float64)
    if not len(ms):
        return {"runs": 0}
    med = float(np.median(ms))
    out = {"runs": int(len(ms)), "median_ms": med, "p90_ms": float(np.percentile(ms, 90)),
           "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean()), "min_ms": float(ms.min()),
           "max_ms": float(ms.max()), "spread": float((ms.max() - ms.min()) / med) if med > 0 else 0.0}
    if seconds is not None:
        out["seconds"] = float(seconds)
    return out


def trust_notes(stats, what="latency", min_runs=MIN_RUNS, min_seconds=MIN_SECONDS, max_spread=MAX_SPREAD):
    """Notes saying why ``stats`` (from :func:`summarize`) should not be trusted, or []."""
    notes = []
    runs, seconds = stats.get("runs", 0), stats.get("seconds")
    if runs < min_runs or (seconds is not None and seconds < min_seconds):
        notes.append("%s: too short to trust (%d runs%s; use at least %d runs and %.1f s: --runs / --duration)"
                     % (what, runs, ", %.2f s" % seconds if seconds is not None else "", min_runs, min_seconds))
    spread = stats.get("spread")
    if spread is not None and runs > 1 and spread > max_spread:
        notes.append("%s: too noisy to trust (min %.2f / median %.2f / max %.2f ms: spread %.0f%% of the median "
                     "> %.0f%%; is something else running? pin CPUs with --cpus)"
                     % (what, stats["min_ms"], stats["median_ms"], stats["max_ms"], 100 * spread, 100 * max_spread))
    return notes


def summary_notes(labelled, short_hint, max_spread=MAX_SPREAD):
    """The result's notes from its rows' notes: one line for the rows too short to trust and
    one for the rows too noisy. ``labelled``: (row label, note) pairs; ``short_hint``: what
    to raise (e.g. "--runs / --duration")."""
    short = [label for label, n in labelled if "too short" in n]
    noisy = [label for label, n in labelled if "too noisy" in n]
    out = []
    if short:
        out.append("too short to trust (!): %s; raise %s" % (", ".join(_unique(short)), short_hint))
    if noisy:
        out.append("too noisy to trust (!), min-max spread above %.0f%% of the median: %s; is something else "
                   "running? pin CPUs with --cpus" % (100 * max_spread, ", ".join(_unique(noisy))))
    return out


def _unique(items):
    seen, out = set(), []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out
