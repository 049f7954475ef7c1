"""The device-side rules of ARCHITECTURE.md: no torch at import, Python 3.8 syntax."""

from conftest import TORCH, assert_python38, run_cli_without, run_python_without

DEVICE_MODULES = ["edgefer", "edgefer.cli", "edgefer.data", "edgefer.data.fer2013", "edgefer.data.rafdb",
                  "edgefer.data.affectnet", "edgefer.data.folder", "edgefer.data.splits", "edgefer.preprocess",
                  "edgefer.labels", "edgefer.metrics", "edgefer.evaluation", "edgefer.report", "edgefer.onnx_predict",
                  "edgefer.bundle", "edgefer.export.bundle", "edgefer.export.calibration", "edgefer.runtime.tensorrt_engine",
                  "edgefer.runtime.cuda",
                  "edgefer.jsonfile", "edgefer.runtime", "edgefer.runtime.types", "edgefer.runtime.detectors",
                  "edgefer.runtime.face_detector", "edgefer.runtime.blazeface", "edgefer.runtime.yunet",
                  "edgefer.runtime.boxes", "edgefer.registry",
                  "edgefer.runtime.classifier", "edgefer.runtime.tracking", "edgefer.runtime.pipeline",
                  "edgefer.runtime.sources", "edgefer.runtime.sinks", "edgefer.runtime.overlay", "edgefer.runtime.web",
                  "edgefer.runtime.tensorrt_runner", "edgefer.bench", "edgefer.bench.device", "edgefer.bench.model",
                  "edgefer.bench.pipeline", "edgefer.bench.report", "edgefer.bench.plots", "edgefer.bench.timing",
                  "edgefer.bench.resources", "edgefer.progress"]


def test_device_modules_import_without_torch():
    p = run_python_without("import importlib\nfor m in %r: importlib.import_module(m)\n"
                           "assert not any(k.split('.')[0] in %r for k in sys.modules)\n"
                           "print('ok')" % (DEVICE_MODULES, TORCH))
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr


def test_cli_help_without_torch():
    for args in ([], ["train"], ["eval"], ["run"], ["bench"], ["info"]):
        p = run_cli_without(*args, "--help")
        assert p.returncode == 0, p.stderr
        assert "Usage: edgefer" in p.stdout and "Examples" in p.stdout or args == [], p.stdout


def test_train_without_torch_says_what_to_install(tmp_path):
    p = run_cli_without("train", "--data", tmp_path)
    assert p.returncode == 3, (p.returncode, p.stderr)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "edgefer[train]" in lines[0], p.stderr


def test_device_side_is_python38():
    assert_python38("edgefer/__init__.py", "edgefer/__main__.py", "edgefer/cli.py", "edgefer/errors.py",
                    "edgefer/deps.py", "edgefer/labels.py", "edgefer/preprocess.py", "edgefer/metrics.py",
                    "edgefer/atomic.py", "edgefer/cache.py", "edgefer/report.py", "edgefer/evaluation.py",
                    "edgefer/data", "edgefer/onnx_predict.py", "edgefer/jsonfile.py", "edgefer/progress.py",
                    "edgefer/bundle.py", "edgefer/registry.py", "edgefer/export/__init__.py",
                    "edgefer/export/bundle.py", "edgefer/export/calibration.py", "edgefer/runtime", "edgefer/bench")
