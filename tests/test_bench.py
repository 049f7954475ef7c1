"""`edgefer bench` and `edgefer info`: rows from real runs of a bundle made in the test,
accuracy equal to `edgefer eval`, the documented JSON schema, rows that say why a backend
cannot run, per-frame stage records of the pipeline benchmark, and no torch on the device.

Speed is never asserted here (ARCHITECTURE.md: numbers live in benchmarks/); the runs are short."""

import csv
import json
import os
import time

import numpy as np
import pytest

from conftest import FER_CSV, SHARED, need_shared, run_cli, run_cli_without

cv2 = pytest.importorskip("cv2")
jsonschema = pytest.importorskip("jsonschema")

from edgefer.bench import device, timing  # noqa: E402
from edgefer.bench.report import load_schema  # noqa: E402

FACES = os.path.join(SHARED, "data", "faces")
YUNET = os.path.join(SHARED, "models", "face_detection_yunet_2026may.onnx")
STAGES = ("read", "detect", "preprocess", "classify", "track", "output")


def _has(module):
    try:
        __import__(module)
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="module")
def small_fer(tmp_path_factory):
    """A fer2013.csv with the first 200 PublicTest and 20 Training rows of the real file."""
    from edgefer.data.fer2013 import read_fer2013_csv

    need_shared(FER_CSV)
    emo, usage, pix = read_fer2013_csv(FER_CSV)
    usage = np.asarray(usage)
    idx = list(np.flatnonzero(usage == "Training")[:20]) + list(np.flatnonzero(usage == "PublicTest")[:200])
    path = str(tmp_path_factory.mktemp("fer") / "fer2013.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["emotion", "pixels", "Usage"])
        for i in idx:
            w.writerow([int(emo[i]), " ".join(map(str, pix[i].reshape(-1))), usage[i]])
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """30 frames at 640x360 panning over a real portrait, then 10 over a group photo (MJPG)."""
    need_shared(FACES)
    path = str(tmp_path_factory.mktemp("video") / "pan.avi")
    vw = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 360))
    for name, frames in (("facerec_obama.jpg", 30), ("linzaer_9.jpg", 10)):
        img = cv2.imread(os.path.join(FACES, name))
        for k in range(frames):
            cw = img.shape[1] * (1.0 - 0.2 * k / frames)
            ch = min(img.shape[0], cw * 9 / 16)
            x0 = int((img.shape[1] - cw) * k / frames)
            vw.write(cv2.resize(img[:int(ch), x0:x0 + int(cw)], (640, 360), interpolation=cv2.INTER_AREA))
    vw.release()
    return path


def _validate(doc):
    jsonschema.validate(doc, load_schema())


# --------------------------------------------------------------------------------- model bench

def test_model_bench_rows_match_eval_and_schema(vit_bundle, vit_run, small_fer, tmp_path):
    out = tmp_path / "bench"
    p = run_cli("bench", vit_bundle, "--data", small_fer, "--split", "PublicTest", "--threads", "1", "--runs", "20",
                "--warmup", "2", "--checkpoint", os.path.join(vit_run, "best.pt"),
                "--backend", "onnxruntime,onnxruntime-cuda,tensorrt", "--out", out, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    doc = json.load(open(out / "model.json"))
    _validate(doc)
    assert doc["kind"] == "model" and doc["data"]["split"] == "PublicTest" and doc["data"]["images"] == 200
    assert doc["device"]["cpu"]["logical_cores"] >= 1 and "onnxruntime" in doc["device"]

    rows = doc["rows"]
    ort = dict((r["file"], r) for r in rows if r["backend"] == "onnxruntime")
    manifest = json.load(open(os.path.join(vit_bundle, "manifest.json")))
    assert set(ort) == set(a["file"] for a in manifest["artifacts"])  # every artifact has its row
    for r in ort.values():
        assert r["status"] == "ok", r
        lat = r["latency"]
        assert lat["runs"] == 20 and len(lat["samples_ms"]) == 20 and lat["batch"] == r["batch"]
        assert 0 < lat["min_ms"] <= lat["median_ms"] <= lat["p90_ms"] <= lat["p99_ms"] <= lat["max_ms"]
        assert r["fps"] == pytest.approx(1000.0 / lat["median_ms"])
        assert r["throughput"]["images_per_s"] == pytest.approx(r["batch"] * r["fps"])
        assert r["size_mb"] == pytest.approx(os.path.getsize(os.path.join(vit_bundle, r["file"])) / 1e6)
        assert any("too short" in n for n in r["notes"])  # 20 runs: flagged
    have = set((r["precision"], r["batch"]) for r in ort.values())
    assert {("fp32", 1), ("fp32", 4), ("int8", 1), ("int8", 4)} <= have

    # Accuracy equals `edgefer eval` on the same split, artifact by artifact.
    p = run_cli("eval", vit_bundle, "--data", small_fer, "--split", "PublicTest", "--out", tmp_path / "eval")
    assert p.returncode == 0, p.stderr[-2000:]
    for e in json.load(open(tmp_path / "eval" / "summary.json")):
        acc = ort[e["artifact"]]["accuracy"]
        assert acc["source"] == "measured" and acc["split"] == "PublicTest" and acc["images"] == e["n"] == 200
        assert acc["top1"] == e["top1"] and acc["macro_f1"] == e["macro_f1"], e["artifact"]

    # The PyTorch row (torch is installed here): `edgefer eval CHECKPOINT`'s numbers.
    pt = [r for r in rows if r["format"] == "pytorch"]
    assert len(pt) == 1 and pt[0]["status"] == "ok" and pt[0]["latency"]["batch"] == 1, pt
    assert pt[0]["throughput"]["batch"] == 4  # the bundle's larger batch
    p = run_cli("eval", os.path.join(vit_run, "best.pt"), "--data", small_fer, "--split", "PublicTest", "--device",
                "cpu", "--out", tmp_path / "eval-pt")
    assert p.returncode == 0, p.stderr[-2000:]
    m = json.load(open(tmp_path / "eval-pt" / "metrics.json"))
    assert pt[0]["accuracy"]["top1"] == m["top1"] and pt[0]["accuracy"]["macro_f1"] == m["macro_f1"]

    # A backend this machine lacks is a row with the reason, not a missing row.
    by_backend = dict((r["backend"], r) for r in rows if r["status"] == "failed")
    if "CUDAExecutionProvider" not in doc["device"]["onnxruntime"]["providers"]:
        assert "no CUDAExecutionProvider" in by_backend["onnxruntime-cuda"]["reason"]
    if not _has("tensorrt"):
        assert by_backend["tensorrt"]["reason"].startswith("TensorRT not installed")

    # Table, CSV, markdown and plots.
    for name in ("model.csv", "model.md", "model_accuracy_latency.png", "model_latency_hist.png"):
        assert (out / name).stat().st_size > 0, name
    with open(out / "model.csv") as f:
        lines = list(csv.DictReader(f))
    assert len(lines) == len(rows) and {l["status"] for l in lines} >= {"ok", "failed"}
    md = (out / "model.md").read_text()
    assert "| Format | Precision |" in md and "Device report" in md and "PublicTest" in md


def test_model_bench_unit_rows_for_missing_backends(vit_bundle, monkeypatch):
    """The Python API: a provider that is missing, and an artifact the backend cannot run,
    give rows with the reason (forced here, whatever this machine has)."""
    from edgefer.bench import model

    real = model.backend_problem
    monkeypatch.setattr(model, "backend_problem",
                        lambda be: "TensorRT not installed (test)" if be == "tensorrt" else real(be))
    doc = model.benchmark_model(vit_bundle, backends=["onnxruntime", "tensorrt"], precisions=["int8"], threads=[1],
                                runs=5, warmup=1, pytorch=False)
    _validate(doc)
    rows = doc["rows"]
    assert [r["status"] for r in rows if r["backend"] == "onnxruntime"] == ["ok", "ok"]
    trt = [r for r in rows if r["backend"] == "tensorrt"]
    assert len(trt) == 1 and trt[0]["status"] == "failed" and trt[0]["reason"] == "TensorRT not installed (test)"
    # Without --data the manifest's accuracy is shown, marked as such.
    assert all(r["accuracy"]["source"] == "manifest" for r in rows if r["status"] == "ok")
    # TensorRT available but the artifact is the CPU's INT8 flavour: skipped with the reason.
    monkeypatch.setattr(model, "backend_problem", lambda be: None)
    monkeypatch.setattr(model, "_TrtRunner", lambda b, a: pytest.fail("must not build an engine for U8S8"))
    doc = model.benchmark_model(vit_bundle, backends=["tensorrt"], precisions=["int8"], threads=[1], runs=5,
                                warmup=1, pytorch=False)
    assert [r["status"] for r in doc["rows"]] == ["skipped", "skipped"]
    assert all("S8S8" in r["reason"] for r in doc["rows"])


# ------------------------------------------------------------------------------ pipeline bench

def _check_frames(row, expected):
    recs = row["frame_records"]
    assert len(recs) == expected, (len(recs), expected)
    assert [r["index"] for r in recs] == list(range(expected))
    for r in recs:
        for k in STAGES + ("total",):
            assert isinstance(r[k], float) and r[k] >= 0.0, (k, r)
        # end-to-end >= the sum of its stages (the JSON keeps times to 0.1 us: allow its rounding)
        assert r["total"] + 1e-3 >= sum(r[k] for k in STAGES), r


def test_pipeline_bench_records_every_stage_of_every_frame(vit_bundle, video, tmp_path):
    need_shared(YUNET)
    out = tmp_path / "pb"
    p = run_cli("bench", vit_bundle, "--pipeline", "--source", video, "--detector", "blazeface,yunet",
                "--detector-model", YUNET, "--precision", "fp32,int8", "--threads", "1", "--max-frames", "20",
                "--warmup-frames", "2", "--out", out, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    doc = json.load(open(out / "pipeline.json"))
    _validate(doc)
    assert [(r["detector"], r["precision"]) for r in doc["rows"]] == [
        ("blazeface", "fp32"), ("blazeface", "int8"), ("yunet", "fp32"), ("yunet", "int8")]
    for r in doc["rows"]:
        assert r["status"] == "ok", r
        assert r["backend"] == "onnxruntime" and r["artifacts"] and all(r["precision"] in a for a in r["artifacts"])
        _check_frames(r, 22)
        assert r["frames"] == 20 and r["warmup_frames"] == 2 and r["faces"] >= 20  # a face in every frame
        assert r["fps"] > 0 and r["camera_to_result"] is None  # a file is not live
        for k in STAGES + ("total",):
            assert r["stages"][k]["median_ms"] <= r["stages"][k]["p99_ms"] + 1e-9
        assert r["cpu"]["percent"] > 0 and r["memory"]["peak_rss_mb"] > 10
        assert any("too short" in n for n in r["notes"])  # 20 frames: flagged
    assert "Detector" in p.stdout and "yunet" in p.stdout
    for name in ("pipeline.csv", "pipeline.md", "pipeline_stages.png", "pipeline_latency_hist.png"):
        assert (out / name).stat().st_size > 0, name


def test_pipeline_bench_live_source_and_failing_rows(vit_bundle, video):
    """A live source adds camera-to-result latency; yunet without its model file is a row
    that says why."""
    from edgefer.bench import benchmark_pipeline
    from edgefer.runtime.sources import Source
    from edgefer.runtime.types import Frame

    class FakeCamera(Source):
        kind, live = "camera", True

        def __init__(self):
            Source.__init__(self, "fake://0", "fake camera")
            self.cap, self.i = cv2.VideoCapture(video), 0

        def read(self):
            ok, img = self.cap.read()
            if not ok:
                return None
            frame = Frame(img, self.i, time.time())  # capture time, as a camera's reader thread stamps it
            self.i += 1
            time.sleep(0.002)  # the frame waits a little before the pipeline gets it
            return frame

        def close(self):
            self.cap.release()
            Source.close(self)

    doc = benchmark_pipeline(FakeCamera, vit_bundle, detectors=["blazeface", "yunet"], precisions=["int8"],
                             threads=[1], max_frames=10, warmup_frames=1)
    _validate(doc)
    ok, bad = doc["rows"]
    assert ok["status"] == "ok" and ok["source"]["live"] is True and ok["frames"] == 10
    _check_frames(ok, 11)
    for r in ok["frame_records"]:
        # camera-to-result covers the wait after capture and every stage after the read
        assert r["camera_to_result"] >= 2.0 + sum(r[k] for k in ("detect", "preprocess", "classify", "track")) - 0.5
    assert ok["camera_to_result"]["median_ms"] >= 2.0
    assert bad["status"] == "failed" and "--detector-model" in bad["reason"]


# ---------------------------------------------------------------------------- without torch

def test_bench_and_info_run_without_torch(vit_bundle, video, tmp_path):
    p = run_cli_without("info")
    assert p.returncode == 0, p.stderr
    assert "CPU" in p.stdout and "onnxruntime" in p.stdout and "OpenCV" in p.stdout and "Cameras" in p.stdout
    p = run_cli_without("info", "--json")
    assert p.returncode == 0 and "torch" not in json.loads(p.stdout).get("packages", {}), p.stderr

    p = run_cli_without("bench", vit_bundle, "--backend", "onnxruntime", "--precision", "fp32,int8", "--threads", "1",
                        "--runs", "10", "--warmup", "1", "--cpus", "0", "--out", tmp_path / "m")
    assert p.returncode == 0, p.stderr[-3000:]
    doc = json.load(open(tmp_path / "m" / "model.json"))
    _validate(doc)
    assert not any(r["format"] == "pytorch" for r in doc["rows"])
    assert any("torch is not installed" in n for n in doc["notes"])
    assert doc["settings"]["cpus"] == [0]
    assert {r["precision"] for r in doc["rows"] if r["status"] == "ok"} == {"fp32", "int8"}

    p = run_cli_without("bench", vit_bundle, "--pipeline", "--source", video, "--detector", "blazeface",
                        "--precision", "int8", "--threads", "1", "--max-frames", "5", "--warmup-frames", "1",
                        "--no-plots", "--out", tmp_path / "p")
    assert p.returncode == 0, p.stderr[-3000:]
    doc = json.load(open(tmp_path / "p" / "pipeline.json"))
    assert doc["rows"][0]["status"] == "ok" and not (tmp_path / "p" / "pipeline_stages.png").exists()


def test_bench_usage_errors(tmp_path):
    for args, msg in ((["bench"], "give a BUNDLE"), (["bench", "--pipeline"], "--pipeline needs --source"),
                      (["bench", tmp_path / "none.edgefer"], "does not exist"),
                      (["bench", "--from-json", tmp_path / "x.json"], "x.json")):
        p = run_cli(*args)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert p.returncode == 2 and len(lines) == 1 and msg in lines[0], (args, p.stderr)


def test_from_json_redraws_everything(vit_bundle, tmp_path):
    from edgefer.bench import benchmark_model, write_all

    doc = benchmark_model(vit_bundle, backends=["onnxruntime"], precisions=["int8"], threads=[1], runs=5, warmup=1,
                          pytorch=False)
    write_all(doc, str(tmp_path / "a"), plots=False)
    p = run_cli("bench", "--from-json", tmp_path / "a" / "model.json", "--out", tmp_path / "b")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "b" / "model_latency_hist.png").exists()
    assert (tmp_path / "a" / "model.md").read_text() == (tmp_path / "b" / "model.md").read_text()


# ------------------------------------------------------------------------------- device report

def test_device_report_reads_jetson_and_pi_and_fails_soft(monkeypatch):
    files = {"/etc/nv_tegra_release": "# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64\n",
             "/proc/device-tree/model": b"NVIDIA Jetson Orin Nano Developer Kit\x00",
             "/proc/cpuinfo": "processor\t: 0\nFeatures\t: fp asimd evtstrm aes crc32 atomics fphp asimdhp asimddp\n"
                              "CPU implementer\t: 0x41\nCPU part\t: 0xd42\n"}
    monkeypatch.setattr(device, "_read", lambda path, binary=False: files.get(path))
    monkeypatch.setattr(device, "_run", lambda args, timeout=5: None)  # no dpkg-query here
    rep = device.report()
    assert rep["board"]["jetson"] == {"l4t": "35.4.1", "jetpack_from_l4t": "5.1.2"}
    assert rep["board"]["model"] == "NVIDIA Jetson Orin Nano Developer Kit"
    assert rep["cpu"]["model"] == "Cortex-A78AE" and "asimddp" in rep["cpu"]["int8_dot_product"]
    assert "L4T 35.4.1" in device.summary(rep) and any("JetPack 5.1.2" in l for l in device.lines(rep))
    files.clear()
    files["/proc/device-tree/model"] = b"Raspberry Pi 5 Model B Rev 1.0\x00"
    rep = device.report()
    assert rep["board"] == {"model": "Raspberry Pi 5 Model B Rev 1.0", "raspberry_pi": "Raspberry Pi 5 Model B Rev 1.0"}
    files.clear()  # nothing readable at all: still a report
    rep = device.report()
    assert rep.get("memory") in (None, {}) and "board" in rep and rep["python"]["version"]
    assert device.lines(rep) and device.summary(rep)
    schema = load_schema()
    jsonschema.validate(rep, {"$ref": "#/$defs/device", "$defs": schema["$defs"]})


def test_trust_notes():
    steady = timing.summarize(np.full(200, 2.0) + np.linspace(0, 0.1, 200), seconds=0.5)
    assert timing.trust_notes(steady) == []
    assert "too short" in timing.trust_notes(timing.summarize(np.full(20, 2.0), seconds=0.04))[0]
    noisy = timing.summarize(np.r_[np.full(199, 2.0), 9.0], seconds=1.0)
    assert any("too noisy" in n for n in timing.trust_notes(noisy))
