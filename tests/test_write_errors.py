"""Outputs that cannot be written: checked before the work, and a full disk or a read-only
medium met during it is one line (exit 2) that keeps the previous good file (issue 12, class 4)."""

import errno
import os

import pytest

from conftest import run_cli
from edgefer import atomic
from edgefer.errors import EdgeferError


def test_a_location_that_cannot_hold_files_is_refused_before_any_work(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(EdgeferError) as e:
        atomic.check_writable(str(blocker / "out"), "--out")
    assert str(e.value).startswith("--out %s: cannot write there" % (blocker / "out"))
    # the command line says so at once, before a model loads or a frame is read
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    photo = str(tmp_path / "photo.jpg")
    cv2.imwrite(photo, np.full((64, 64, 3), 128, np.uint8))
    for out in (str(blocker / "x.jpg"), str(blocker / "x.mp4"), str(blocker / "lines.jsonl"), str(blocker) + "/frames/"):
        p = run_cli("run", "--source", photo, "--output", out, timeout=120)
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
        folder = os.path.dirname(out) if not out.endswith("/") else out
        why = "a file, not a folder" if folder == str(blocker) else "Not a directory"
        assert p.stderr.strip() == "error: output %s: %s: cannot write there (%s)" % (out, folder, why), p.stderr


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EDQUOT])
def test_a_full_or_read_only_medium_mid_write_keeps_the_previous_file(tmp_path, monkeypatch, code):
    path = str(tmp_path / "report.json")
    atomic.write_json(path, {"good": True})

    def failing_fsync(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic.os, "fsync", failing_fsync)
    with pytest.raises(EdgeferError) as e:
        atomic.write_json(path, {"good": False})
    assert str(e.value) == "cannot write %s: %s (any previous version of it is kept)" % (path, os.strerror(code))
    assert e.value.exit_code == 2
    assert open(path).read().strip().endswith("}") and '"good": true' in open(path).read()
    assert os.listdir(str(tmp_path)) == ["report.json"]  # no temporary file left behind


def test_other_os_errors_are_not_disguised_as_bad_input(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    with pytest.raises(OSError) as e:
        atomic.write_json(str(tmp_path / "x.json"), {})
    assert not isinstance(e.value, EdgeferError)


def _dead_pid():
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_leftovers_of_killed_writers_are_swept_and_nothing_else(tmp_path):
    """issue 12, class 7: a kill -9 mid-write leaves .NAME.PID-*.tmp files and partial
    bundles; the next write of the same file sweeps those of dead processes only."""
    dead, alive = _dead_pid(), 1  # pid 1 always runs
    stale = tmp_path / (".last.%d-abc.tmp.pt" % dead)
    running = tmp_path / (".last.%d-def.tmp.pt" % alive)
    unrelated = [tmp_path / ".last.pt.keep", tmp_path / (".best.%d-x.tmp.pt" % dead), tmp_path / ("last.%d-x.tmp.pt" % dead)]
    for f in [stale, running] + unrelated:
        f.write_text("x")
    atomic.write_bytes(str(tmp_path / "last.pt"), b"new")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert stale.name not in left and running.name in left and all(u.name in left for u in unrelated)
    assert open(str(tmp_path / "last.pt"), "rb").read() == b"new"


def test_a_killed_bundle_write_is_swept_by_the_next(tmp_path):
    from edgefer.export import bundle as writer

    partial = tmp_path / (".b.edgefer.partial.%d-xyz" % _dead_pid())
    partial.mkdir()
    (partial / "model_fp32_b1.onnx").write_bytes(b"half")
    assert atomic.sweep_stale(str(tmp_path), "b.edgefer.partial") == [str(partial)]
    assert not partial.exists()
    partial.mkdir()
    src = tmp_path / "m.onnx"
    src.write_bytes(b"onnx")
    manifest = {"model": {}, "artifacts": [{"file": "m.onnx"}]}
    writer.write(str(tmp_path / "b.edgefer"), manifest, {"m.onnx": str(src)})
    assert not partial.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["b.edgefer", "m.onnx"]


def test_a_dependency_that_is_installed_but_broken_is_one_clear_error():
    """apt's picamera2 under pip's numpy 2 fails with ValueError at import: a clear line, exit 3."""
    import sys
    import importlib.abc
    import importlib.util

    from edgefer.errors import MissingDependencyError, require

    class Broken(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path, target=None):
            return importlib.util.spec_from_loader(name, self) if name == "edgefer_broken_dep" else None

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            raise ValueError("numpy.dtype size changed, may indicate binary incompatibility")

    sys.meta_path.insert(0, Broken())
    try:
        with pytest.raises(MissingDependencyError) as e:
            require("edgefer_broken_dep", "the Raspberry Pi camera", "sudo apt install --reinstall python3-picamera2")
    finally:
        sys.meta_path.pop(0)
    assert e.value.exit_code == 3 and "installed but fails to import (ValueError: numpy.dtype" in str(e.value)


def test_export_eval_and_bench_refuse_an_unwritable_out_before_the_work(tmp_path, vit_run, fer_csv):
    """The long commands check --out first: a minute of export, evaluation or measuring is
    not lost to a folder that cannot be written."""
    import edgefer

    DEFAULT_BUNDLE = os.path.join(os.path.dirname(edgefer.__file__), "bundles", "default.edgefer")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = str(blocker / "out")
    commands = [("export", os.path.join(vit_run, "best.pt"), "--out", out + ".edgefer"),
                ("eval", os.path.join(vit_run, "best.pt"), "--data", fer_csv, "--split", "PublicTest", "--out", out),
                ("eval", DEFAULT_BUNDLE, "--data", fer_csv, "--split", "PublicTest", "--out", out),
                ("bench", DEFAULT_BUNDLE, "--no-pytorch", "--out", out)]
    for args in commands:
        p = run_cli(*args, timeout=300)
        assert p.returncode == 2 and "Traceback" not in p.stderr, (args, p.stderr[-2000:])
        folder = str(blocker) if args[0] == "export" else out
        assert p.stderr.strip().splitlines()[-1].startswith("error: --out %s: cannot write there" % folder), \
            (args, p.stderr[-2000:])
        assert "wrote" not in p.stdout and blocker.read_text() == "not a folder"


def test_a_disk_that_fills_during_a_video_stops_the_run_and_keeps_the_earlier_file(tmp_path, monkeypatch):
    """OpenCV's VideoWriter says nothing when the disk fills: the sink watches the free space,
    and the run ends with one line while the earlier video at that path is intact."""
    pytest.importorskip("cv2")
    import numpy as np

    from edgefer.runtime import sinks
    from test_sinks import make_result

    path = str(tmp_path / "out.avi")
    with open(path, "wb") as f:
        f.write(b"the earlier, good video")
    real = os.statvfs

    class Full(object):
        def __init__(self, st):
            self.f_frsize, self.f_bavail = st.f_frsize, (8 << 20) // st.f_frsize  # 8 MB left

    monkeypatch.setattr(sinks.os, "statvfs", lambda p: Full(real(p)))
    image = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    with pytest.raises(EdgeferError) as e:
        with sinks.VideoFileSink(path, fps=10) as sink:
            for i in range(100):
                sink.write(make_result(image, i))
    assert e.value.exit_code == 2 and "\n" not in str(e.value)
    assert str(e.value).startswith("video output %s: the disk is almost full (8.4 MB left after 30 frames)" % path)
    assert open(path, "rb").read() == b"the earlier, good video"
    assert os.listdir(str(tmp_path)) == ["out.avi"]  # the unfinished temporary file is gone
