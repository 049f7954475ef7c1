"""CPU pinning, CPU load and memory of the benchmark process (device side: stdlib).

* :func:`pin_cpus` — ``os.sched_setaffinity`` for every thread of the process (Linux), so
  runs on a machine are comparable (ONNX Runtime's thread pools inherit it when created).
* :class:`Usage` — CPU time (``os.times()``: user + system of the whole process, all its
  threads) over wall time, and peak resident memory.

Peak RSS: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is a *process-lifetime* peak (KiB on
Linux, bytes on macOS). On Linux the peak (``VmHWM`` in ``/proc/self/status``) can be reset by
writing ``5`` to ``/proc/self/clear_refs`` (Linux >= 4.0); :class:`Usage` does that at its
start, so its peak belongs to its own span (``peak_rss_scope`` says ``"span"``), else it
reports the process-lifetime peak (``"process"``).
"""

import os
import re
import sys
import time


def parse_cpus(text):
    """``"0,2-3"`` -> [0, 2, 3]."""
    out = set()
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            out.update(range(int(a), int(b) + 1))
        else:
            out.add(int(part))
    return sorted(out)


def usable_cpus():
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def pin_cpus(cpus):
    """Restrict every thread of this process to ``cpus`` (a list of CPU numbers). Returns the
    CPUs now in use; raises ``OSError`` / ``ValueError`` when the OS refuses."""
    cpus = set(int(c) for c in cpus)
    if not hasattr(os, "sched_setaffinity"):
        raise OSError("CPU pinning needs os.sched_setaffinity (Linux); not available on %s" % sys.platform)
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tids = [0]
    for tid in tids:
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:  # a thread that ended meanwhile
            pass
    os.sched_setaffinity(0, cpus)
    return sorted(os.sched_getaffinity(0))


def _status_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    m = re.search(r"(\d+)", line)
                    return int(m.group(1)) if m else None
    except OSError:
        return None
    return None


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def process_peak_rss_mb():
    """``ru_maxrss`` in MB (the process-lifetime peak), or None."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


class Usage(object):
    """CPU load and peak memory between :meth:`start` and :meth:`stop`."""

    def start(self):
        self._scope = "span" if _reset_peak() and _status_kb("VmHWM") is not None else "process"
        self._t = os.times()
        self._wall = time.perf_counter()
        return self

    def stop(self):
        t = os.times()
        wall = time.perf_counter() - self._wall
        cpu_s = (t[0] - self._t[0]) + (t[1] - self._t[1])
        n = len(usable_cpus())
        hwm = _status_kb("VmHWM") if self._scope == "span" else None
        rss = _status_kb("VmRSS")
        return {
            "wall_s": wall,
            "user_s": t[0] - self._t[0],
            "system_s": t[1] - self._t[1],
            # 100 = one core busy all the time; up to 100 x cores.
            "cpu_percent": 100.0 * cpu_s / wall if wall > 0 else 0.0,
            "cpu_percent_of_machine": 100.0 * cpu_s / wall / n if wall > 0 and n else 0.0,
            "cores": n,
            "peak_rss_mb": hwm / 1024.0 if hwm is not None else process_peak_rss_mb(),
            "peak_rss_scope": self._scope,
            "rss_mb": rss / 1024.0 if rss is not None else None,
            "process_peak_rss_mb": process_peak_rss_mb(),
        }
