"""Reliability figures: the bad-input catalogue, kill -9 trials, a long soak and the web page
under load, on this machine, written to ``benchmarks/reliability.md`` (and ``.json``).

    python benchmarks/reliability.py --data ../shared/data/fer2013/fer2013.csv.gz          # everything
    python benchmarks/reliability.py --only soak --frames 100000
    python benchmarks/reliability.py --only web --seconds 20 --clients 100 --stalled 5

Run it with nothing else on the machine: the soak's FPS and the web page's FPS ratio are
timings. Parts:

* ``catalogue``: the parametrized bad-input tests (``tests/test_bad_flags.py`` and the other
  catalogue files) run with pytest; the count of cases and of failures.
* ``kills``: ``edgefer train`` and ``edgefer export`` killed with SIGKILL at random moments;
  after each kill the run folder's ``last.pt`` loads and ``--resume`` finishes the run, the
  bundle is either absent or complete, and the next command sweeps the leftovers.
* ``soak``: ``--frames`` frames of a one-face 640x360 video, looped, through ``Pipeline``
  (the shipped default); RSS sampled every 5,000 frames; growth after the first 10,000.
* ``web``: the same pipeline streaming to the web page while ``--clients`` clients read the
  MJPEG stream and ``--stalled`` clients connect and never read (separate processes); FPS
  against the same pipeline without clients, and RSS.
"""

import argparse
import datetime
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIDEO = os.path.join(os.path.expanduser("~"), ".cache", "edgefer", "bench-videos", "one_face_640x360.avi")
CATALOGUE_TESTS = ["tests/test_bad_flags.py", "tests/test_bundle_checks.py", "tests/test_checkpoint_checks.py",
                   "tests/test_write_errors.py", "tests/test_fer2013.py", "tests/test_readers_layouts.py",
                   "tests/test_sources.py", "tests/test_sinks.py"]


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class Looping(object):
    """A video file read again from the start at its end: an endless source of real frames."""

    live = False
    kind = "file"

    def __init__(self, path):
        from edgefer.runtime.sources import open_source

        self._open = lambda: open_source(path)
        self._src = self._open()
        self._index = 0

    def read(self):
        from edgefer.runtime.types import Frame

        frame = self._src.read()
        if frame is None:
            self._src.close()
            self._src = self._open()
            frame = self._src.read()
        out = Frame(frame.image, self._index, self._index / 30.0, frame.source)
        self._index += 1
        return out

    def close(self):
        self._src.close()


# ------------------------------------------------------------------------------------ soak

def soak(frames, every=5000):
    from edgefer.runtime.pipeline import Pipeline

    samples, t0 = [], time.perf_counter()
    with Pipeline() as pipe:
        src = Looping(VIDEO)
        for k, result in enumerate(pipe.stream(src, max_frames=frames), start=1):
            if k % every == 0 or k == frames:
                samples.append((k, rss_mb(), time.perf_counter() - t0))
        src.close()
    after = [s for s in samples if s[0] >= 10000] or samples
    return {"frames": frames, "seconds": samples[-1][2], "fps": frames / samples[-1][2],
            "rss_mb": [[k, round(r, 1)] for k, r, _ in samples],
            "rss_growth_mb_after_10k": round(after[-1][1] - after[0][1], 2)}


# ------------------------------------------------------------------------------------- web

CLIENTS = r"""
import selectors, socket, sys, time
port, n, stalled, seconds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ask = b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
keep = []
for _ in range(stalled):  # connect, ask for the stream, never read
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(ask)
    keep.append(s)
sel, got = selectors.DefaultSelector(), {}
for i in range(n):  # readers, all in one thread: the clients' own cost stays small
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(ask)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, i)
    got[i] = 0
end = time.time() + seconds
while time.time() < end:
    for key, _ in sel.select(timeout=0.5):
        try:
            b = key.fileobj.recv(1 << 20)
        except BlockingIOError:
            continue
        got[key.data] += b.count(b"--edgefer-frame")
print(sum(1 for g in got.values() if g > 0), min(got.values()) if got else 0, sum(got.values()))
"""


def _fps(pipe, src, sink, seconds):
    n, t0 = 0, time.perf_counter()
    for _ in pipe.stream(src, sinks=[sink] if sink else []):
        n += 1
        if time.perf_counter() - t0 >= seconds:
            break
    return n / (time.perf_counter() - t0)


def web(seconds, clients, stalled):
    from edgefer.runtime.pipeline import Pipeline
    from edgefer.runtime.web import WebSink

    with Pipeline() as pipe, WebSink(port=0) as sink:
        src = Looping(VIDEO)
        _fps(pipe, src, sink, 3)  # warm-up
        alone = _fps(pipe, src, sink, seconds)
        rss_alone = rss_mb()
        proc = subprocess.Popen([sys.executable, "-c", CLIENTS, str(sink.port), str(clients), str(stalled),
                                 str(seconds + 5)], stdout=subprocess.PIPE, text=True)
        time.sleep(2)  # all connected
        loaded = _fps(pipe, src, sink, seconds)
        rss_loaded = rss_mb()
        peak_clients = sink.stream_clients
        out = proc.communicate(timeout=seconds + 60)[0].split()
        src.close()
    served, least, frames = (int(x) for x in out)
    return {"seconds": seconds, "clients": clients, "stalled": stalled, "fps_alone": round(alone, 1),
            "fps_loaded": round(loaded, 1), "fps_ratio": round(loaded / alone, 3), "stream_clients_seen": peak_clients,
            "readers_served": served, "fewest_frames_one_reader_got": least, "frames_sent": frames,
            "rss_mb_alone": round(rss_alone, 1), "rss_mb_loaded": round(rss_loaded, 1)}


# ------------------------------------------------------------------------------- catalogue

def catalogue():
    junit = os.path.join(tempfile.mkdtemp(prefix="edgefer-catalogue-"), "junit.xml")
    t0 = time.time()
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", junit]
                       + CATALOGUE_TESTS, cwd=ROOT, capture_output=True, text=True)
    import xml.etree.ElementTree as ET

    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    return {"files": CATALOGUE_TESTS, "cases": int(suite.get("tests")), "failures": int(suite.get("failures")),
            "errors": int(suite.get("errors")), "skipped": int(suite.get("skipped")),
            "seconds": round(time.time() - t0, 1), "tail": p.stdout.strip().splitlines()[-1:]}


# ----------------------------------------------------------------------------------- kills

def _edgefer(*args):
    return [sys.executable, "-m", "edgefer"] + [str(a) for a in args]


def _kill_at(cmd, delay, cwd):
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        p.wait(timeout=delay)
        return False  # finished before the kill
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return True


def kills(data, trials, seed=0, train_trials=None):
    rng = random.Random(seed)
    train_trials = trials if train_trials is None else train_trials
    work = tempfile.mkdtemp(prefix="edgefer-kills-")
    run = os.path.join(work, "run")
    train = _edgefer("train", "--data", data, "--arch", "efficientvit_m5", "--img-size", 48, "--train-limit", 1200,
                     "--epochs", 3, "--quiet", "--out", run)
    out = {"train": [], "export": []}
    if not train_trials:  # a finished run to export
        subprocess.run(train, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for k in range(train_trials):
        shutil.rmtree(run, ignore_errors=True)
        delay = rng.uniform(3, 40)
        killed = _kill_at(train, delay, ROOT)
        last = os.path.join(run, "last.pt")
        loads = _loads(last) if os.path.exists(last) else None
        resumed = subprocess.run(_edgefer("train", "--resume", run, "--quiet"), cwd=ROOT, capture_output=True,
                                 text=True)
        leftovers = [f for f in os.listdir(run) if f.startswith(".")] if os.path.isdir(run) else []
        out["train"].append({"kill_after_s": round(delay, 1), "killed": killed, "last_pt_loads": loads,
                             "resume_exit": resumed.returncode, "resume_error": resumed.stderr.strip()[-300:],
                             "leftovers_after_resume": leftovers})
    bundle = os.path.join(work, "b.edgefer")
    export = _edgefer("export", os.path.join(run, "best.pt"), "--int8", "--eval-limit", 200, "--out", bundle,
                      "--calib-dir", os.path.join(work, "calibration"))  # the run's own list, not the repository's
    for k in range(trials):
        delay = rng.uniform(2, 60)
        killed = _kill_at(export, delay, ROOT)
        state = _bundle_state(bundle)
        again = subprocess.run(export, cwd=ROOT, capture_output=True, text=True)
        left = [f for f in os.listdir(work) if f.startswith(".b.edgefer")]
        tmp = [f for f in os.listdir(tempfile.gettempdir()) if f.startswith((".edgefer-export.", "edgefer-export-"))]
        out["export"].append({"kill_after_s": round(delay, 1), "killed": killed, "bundle_after_kill": state,
                              "next_export_exit": again.returncode, "next_export_error": again.stderr.strip()[-300:]
                              if again.returncode else "", "partials_left": left,
                              "tmp_work_dirs_left": len(tmp), "bundle_after_next": _bundle_state(bundle)})
    shutil.rmtree(work, ignore_errors=True)
    return out


def _loads(path):
    from edgefer.train import checkpoint

    try:
        checkpoint.load(path)
        return True
    except Exception as exc:  # noqa: BLE001 - the figure is whether it loads
        return "no: %s" % exc


def _bundle_state(path):
    from edgefer.bundle import Bundle

    if not os.path.exists(path):
        return "absent"
    try:
        Bundle.load(path)
        return "complete"
    except Exception as exc:  # noqa: BLE001
        return "damaged: %s" % exc


# ---------------------------------------------------------------------------------- report

def write_report(results, path_md):
    from edgefer.atomic import write_json, write_text

    write_json(path_md[:-3] + ".json", results)
    lines = ["# Reliability", "",
             "Made by `python benchmarks/reliability.py` on this project's machines, nothing else running; each "
             "section names the machine and the date of its measurement (parts can be re-run alone with `--only`).",
             ""]
    lines += _md_sections(results)
    write_text(path_md, "\n".join(lines) + "\n")


def _machine_line(summary):
    return summary if isinstance(summary, str) else json.dumps(summary)[:200]


def measured_here():
    from edgefer.bench import device

    return {"machine": device.summary(device.report()),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _measured(part):
    m = part.get("measured")
    return ["Measured %s on %s." % (m["date"], _machine_line(m["machine"])), ""] if m else []


def _md_sections(r):
    out = []
    if "catalogue" in r:
        c = r["catalogue"]
        out += ["## Bad-input catalogue", ""] + _measured(c) + [
            "%d cases in %s: %d failed, %d errors, %d skipped (%.0f s)."
                % (c["cases"], ", ".join("`%s`" % f for f in c["files"]), c["failures"], c["errors"], c["skipped"],
                   c["seconds"]), ""]
    if "kills" in r:
        k = r["kills"]
        t_ok = sum(1 for t in k["train"] if t["resume_exit"] == 0 and t["last_pt_loads"] in (True, None))
        e_ok = sum(1 for t in k["export"] if t["bundle_after_kill"] != "damaged" and t["next_export_exit"] == 0
                   and not t["partials_left"])
        out += ["## kill -9 trials", ""] + _measured(k) + [
                "- `edgefer train`: %d trials; in %d the run's `last.pt` loaded (or none existed yet) and `--resume` "
                "finished the run." % (len(k["train"]), t_ok),
                "- `edgefer export`: %d trials; in %d the bundle was absent or complete after the kill, the next "
                "export succeeded and no `.NAME.edgefer.partial-*` was left." % (len(k["export"]), e_ok), "",
                "```json", json.dumps(k, indent=1)[:6000], "```", ""]
    if "soak" in r:
        s = r["soak"]
        out += ["## Soak", ""] + _measured(s) + [
            "%d frames of a one-face 640x360 video (looped) through `Pipeline()` with the shipped "
                "model: %.1f FPS over %.0f s; RSS growth after the first 10,000 frames: %.2f MB." %
                (s["frames"], s["fps"], s["seconds"], s["rss_growth_mb_after_10k"]), "",
                "RSS (MB) every 5,000 frames: " + ", ".join("%d: %.1f" % (k, m) for k, m in s["rss_mb"]), ""]
    if "web" in r:
        w = r["web"]
        out += ["## Web page under load", ""] + _measured(w) + [
                "%d clients reading `/stream.mjpg` and %d that connect and never read (another process), for %d s: "
                "pipeline %.1f FPS against %.1f FPS with no client (ratio %.3f; the target is >= 0.9). %d of %d "
                "readers got frames (the slowest %d); RSS %.1f MB loaded, %.1f MB without clients." %
                (w["clients"], w["stalled"], w["seconds"], w["fps_loaded"], w["fps_alone"], w["fps_ratio"],
                 w["readers_served"], w["clients"], w["fewest_frames_one_reader_got"], w["rss_mb_loaded"],
                 w["rss_mb_alone"]), ""]
    if "web_before" in r:
        b = r["web_before"]
        out += ["The same measurement of the server before (%s), on %s, %s: ratio %.3f (%.1f against %.1f FPS), "
                "RSS %.1f MB loaded, %.1f MB without clients." %
                (b["server"], _machine_line(b["measured"]["machine"]), b["measured"]["date"], b["fps_ratio"],
                 b["fps_loaded"], b["fps_alone"], b["rss_mb_loaded"], b["rss_mb_alone"]), ""]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "fer2013", "fer2013.csv.gz"))
    ap.add_argument("--only", choices=["catalogue", "kills", "soak", "web"], action="append")
    ap.add_argument("--frames", type=int, default=100000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--stalled", type=int, default=5)
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--train-trials", type=int, default=None, help="kill trials of training (default --trials)")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "reliability.md"))
    a = ap.parse_args()
    if not os.path.isfile(VIDEO):
        subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "make_videos.py")], check=True)
    parts = a.only or ["catalogue", "kills", "soak", "web"]
    old = a.out[:-3] + ".json"
    results = json.load(open(old)) if os.path.isfile(old) else {}
    for part in parts:
        t0 = time.time()
        print("%s ..." % part, file=sys.stderr, flush=True)
        previous = results.get(part)
        results[part] = {"catalogue": catalogue, "soak": lambda: soak(a.frames),
                         "web": lambda: web(a.seconds, a.clients, a.stalled),
                         "kills": lambda: kills(a.data, a.trials, train_trials=a.train_trials)}[part]()
        results[part]["measured"] = measured_here()
        if part == "kills" and a.train_trials == 0 and previous:
            results[part]["train"] = previous["train"]
        print("%s: %.0f s" % (part, time.time() - t0), file=sys.stderr, flush=True)
        write_report(results, a.out)
    print(a.out)


if __name__ == "__main__":
    main()
