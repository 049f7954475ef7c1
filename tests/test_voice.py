"""One voice (ARCHITECTURE.md, "Messages and progress"): the library says things through
``logging`` under ``edgefer.*`` and reports progress through ``edgefer.progress``; only the
command line draws bars and writes to the terminal."""

import ast
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

from edgefer import progress

PKG = os.path.join(ROOT, "edgefer")
TERMINAL_PACKAGES = ("tqdm", "click")
# The one place that reads the root logger: export/quantize.py's capture of ONNX Runtime's
# root-logger chatter (a filter and, when the root has none, a null handler, for one call).
ROOT_LOGGER_READERS = ("edgefer/export/quantize.py",)


def _library_files():
    for dirpath, _, files in os.walk(PKG):
        for f in sorted(files):
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
                if rel != "edgefer/cli.py":
                    yield rel, path


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _terminal_uses(tree):
    """(line, what) for every tqdm / click import, print() call, sys.stderr use and
    logging.basicConfig() call in a module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, "import " + a.name) for a in node.names
                      if a.name.split(".")[0] in TERMINAL_PACKAGES]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.split(".")[0] in TERMINAL_PACKAGES:
                found.append((node.lineno, "from %s import" % node.module))
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name == "print":
                found.append((node.lineno, "print()"))
            elif name in ("logging.basicConfig", "tqdm.write"):
                found.append((node.lineno, name + "()"))
        if isinstance(node, ast.Attribute) and _dotted(node) in ("sys.stderr", "sys.__stderr__"):
            found.append((node.lineno, _dotted(node)))
    return found


def _logger_names(tree):
    """(line, argument source) of every logging.getLogger() call."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _dotted(node.func) == "logging.getLogger":
            arg = node.args[0] if node.args else None
            if arg is None:
                out.append((node.lineno, None))
            elif isinstance(arg, ast.Name):
                out.append((node.lineno, arg.id))
            elif isinstance(arg, ast.Constant):
                out.append((node.lineno, repr(arg.value)))
            else:
                out.append((node.lineno, ast.dump(arg)))
    return out


# ----------------------------------------------------------------------------- (a) the source


def test_the_library_neither_prints_nor_draws():
    bad = []
    for rel, path in _library_files():
        tree = ast.parse(open(path, encoding="utf-8").read(), path)
        bad += ["%s:%d %s" % (rel, line, what) for line, what in _terminal_uses(tree)]
    assert not bad, "only edgefer/cli.py may print, write to stderr or use tqdm / click:\n" + "\n".join(bad)


def test_the_checker_sees_what_it_forbids():
    """The rule above can fail: each forbidden form is found in a made-up module."""
    src = ("import tqdm\nfrom click import echo\nimport sys, logging\nprint('x')\nsys.stderr.write('x')\n"
           "logging.basicConfig()\n")
    whats = [w for _, w in sorted(_terminal_uses(ast.parse(src)))]
    assert whats == ["import tqdm", "from click import", "print()", "sys.stderr", "logging.basicConfig()"], whats
    assert _terminal_uses(ast.parse("'''print(x) in a docstring'''\nsay = print\n")) == []


def test_loggers_are_named_after_their_module():
    """``log = logging.getLogger(__name__)``: every logger is under ``edgefer.``; only the
    quantizer's capture touches the root logger."""
    bad = []
    for rel, path in list(_library_files()) + [("edgefer/cli.py", os.path.join(PKG, "cli.py"))]:
        for line, arg in _logger_names(ast.parse(open(path, encoding="utf-8").read(), path)):
            if arg is None and rel in ROOT_LOGGER_READERS:
                continue
            if arg != "__name__" and not (arg or "").startswith(("'edgefer'", "'edgefer.")):
                bad.append("%s:%d getLogger(%s)" % (rel, line, arg))
    assert not bad, bad


# ----------------------------------------------------------------------------- (b) progress


class Recorder(object):
    """A progress factory that keeps every bar and what it was told."""

    def __init__(self):
        self.bars = []

    def __call__(self, total=None, desc="", unit="it"):
        bar = RecordedBar(total, desc, unit)
        self.bars.append(bar)
        return bar


class RecordedBar(progress.Bar):
    def __init__(self, total, desc, unit):
        self.total, self.desc, self.unit = total, desc, unit
        self.done, self.postfix, self.closed = 0, {}, False

    def update(self, n=1):
        self.done += n

    def set_postfix(self, **values):
        self.postfix.update(values)

    def close(self):
        self.closed = True


def test_progress_is_silent_by_default(capsys):
    assert progress.installed() is None
    with progress.bar(total=3, desc="work", unit="img") as bar:
        assert type(bar) is progress.Bar
        bar.update()
        bar.update(2)
        bar.set_postfix(loss="0.1")
        bar.set_description("other")
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_an_installed_factory_gets_the_updates_and_is_taken_back():
    rec = Recorder()
    with progress.using(rec):
        assert progress.installed() is rec
        with progress.bar(total=5, desc="d", unit="u") as bar:
            bar.update(2)
            bar.update()
            bar.set_postfix(lr="1e-3")
    assert progress.installed() is None
    (b,) = rec.bars
    assert (b.total, b.desc, b.unit, b.done, b.postfix, b.closed) == (5, "d", "u", 3, {"lr": "1e-3"}, True)
    assert progress.use(rec) is None and progress.use(None) is rec  # use() returns what it replaces


def _tiny_onnx(path, size=4):
    """An ONNX "classifier": N x 3 x S x S -> the N x 3 channel means."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    node = helper.make_node("ReduceMean", ["input"], ["logits"], axes=[2, 3], keepdims=0)
    graph = helper.make_graph([node], "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                               ["N", 3, size, size])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))
    return str(path)


class _Images(object):
    def __init__(self, n, size):
        self.x = np.random.default_rng(0).normal(size=(n, 3, size, size)).astype(np.float32)

    def __len__(self):
        return len(self.x)

    def inputs(self, idx, pre):
        return self.x[np.asarray(idx)]


def test_predict_reports_its_images_through_the_hook(tmp_path):
    pytest.importorskip("onnxruntime")
    from edgefer.onnx_predict import predict

    class Pre(object):
        size = 4

    ds = _Images(10, 4)
    rec = Recorder()
    with progress.using(rec):
        logits = predict(_tiny_onnx(tmp_path / "tiny.onnx"), ds, Pre(), chunk=4)
    np.testing.assert_allclose(logits, ds.x.mean(axis=(2, 3)), rtol=1e-5, atol=1e-6)
    (b,) = rec.bars
    assert (b.total, b.done, b.desc, b.unit, b.closed) == (10, 10, "tiny.onnx", "img", True)


# ----------------------------------------------------------------------------- (c) logging


def _comparison(drop):
    return {"top1_drop_points": drop, "agreement_decided": 0.9, "int8": {"top1": 0.5 - drop / 100.0},
            "fp32": {"top1": 0.5}}


def test_gate_messages_go_to_the_edgefer_logger(caplog, capsys):
    from edgefer.export import gate

    caplog.set_level(logging.INFO, logger="edgefer")
    drops = iter([3.0, 0.5])
    excluded, q, cmp_, tries = gate.search(lambda excl: ("q%d" % len(excl), _comparison(next(drops))), ["a"], [],
                                           lambda excl: ["b", "c"], lambda n: [], budget=1.0, tries=2, step=1,
                                           target="cpu", where="fer2013 Training:val")
    assert excluded == ["a", "b"] and cmp_["top1_drop_points"] == 0.5 and len(tries) == 2
    assert not [r for r in caplog.records if r.name == "root"]
    said = [(r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith("edgefer")]
    assert [n for n, _, _ in said] == ["edgefer.export.gate"] * 2
    assert all(level == logging.INFO for _, level, _ in said)
    assert said[0][2].startswith("gate cpu try 1: INT8 top-1 47.00% vs FP32 50.00% (drop 3.00 points")
    assert "on fer2013 Training:val" in said[1][2] and said[1][2].startswith("gate cpu try 2")
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""  # logged, not written


def test_onnxruntime_chatter_is_captured_at_debug(caplog, capsys):
    from edgefer.export.quantize import _quiet

    caplog.set_level(logging.DEBUG, logger="edgefer")
    root = logging.getLogger()
    handlers, filters = list(root.handlers), list(root.filters)
    with _quiet():
        print("Collecting tensor data and making histogram ...")
        logging.warning("rank-1 BatchNorm weight: per-tensor quantization")
        logging.getLogger("edgefer.somewhere").warning("a real warning")
    assert root.handlers == handlers and root.filters == filters
    got = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert ("edgefer.export.quantize", logging.DEBUG,
            "onnxruntime: Collecting tensor data and making histogram ...") in got
    assert ("edgefer.export.quantize", logging.DEBUG,
            "onnxruntime: rank-1 BatchNorm weight: per-tensor quantization") in got
    assert ("edgefer.somewhere", logging.WARNING, "a real warning") in got  # other loggers untouched
    assert not [g for g in got if g[0] == "root"]
    assert capsys.readouterr().out == ""


def test_onnxruntime_chatter_leaves_an_unconfigured_root_logger_alone():
    """Without any logging set up, ``logging.warning()`` inside the capture must not call
    ``basicConfig()`` (that would leave a stderr handler on the root logger for good)."""
    code = ("import logging\nfrom edgefer.export.quantize import _quiet\n"
            "with _quiet():\n    print('Number of tensors : 537')\n    logging.warning('from onnxruntime')\n"
            "assert logging.getLogger().handlers == [], logging.getLogger().handlers\nprint('ok')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 0 and p.stdout == "ok\n" and p.stderr == "", (p.stdout, p.stderr)


def test_the_exporter_and_engine_builder_log_under_edgefer():
    """Their messages are module loggers' (read from the source: running them needs a model)."""
    for rel, name in (("edgefer/export/exporter.py", "edgefer.export.exporter"),
                      ("edgefer/runtime/tensorrt_engine.py", "edgefer.runtime.tensorrt_engine"),
                      ("edgefer/train/loop.py", "edgefer.train.loop"),
                      ("edgefer/bench/model.py", "edgefer.bench.model")):
        src = open(os.path.join(ROOT, rel), encoding="utf-8").read()
        assert "\nlog = logging.getLogger(__name__)\n" in src, rel
        assert "log.info(" in src, rel
        import importlib

        try:
            mod = importlib.import_module(name)
        except ImportError:  # torch for train.loop on a device
            continue
        assert mod.log.name == name


# ----------------------------------------------------------------------------- the command line


def test_the_command_line_writes_one_line_per_message_and_hushes_with_quiet(capsys):
    from edgefer import cli

    logger = logging.getLogger("edgefer")
    before = logger.level, logger.propagate, list(logger.handlers)
    with cli._voice():
        assert progress.installed() is cli._tqdm_bar
        logging.getLogger("edgefer.export.exporter").info("export: FP32 ONNX, batch %d", 1)
        logging.getLogger("edgefer.runtime.sinks").warning("no OpenCV GUI")
        logging.getLogger("edgefer.export.quantize").debug("onnxruntime: chatter")
        cli._quiet()
        assert progress.installed() is None
        logging.getLogger("edgefer.bench.model").info("a progress line")
        logging.getLogger("edgefer.bench.model").error("a real problem")
    assert progress.installed() is None
    assert (logger.level, logger.propagate, list(logger.handlers)) == before
    err = capsys.readouterr().err
    assert err == "export: FP32 ONNX, batch 1\nwarning: no OpenCV GUI\nerror: a real problem\n", err


def test_train_quiet_keeps_the_lines_and_drops_the_bar(capsys):
    from edgefer import cli

    with cli._voice():
        cli._quiet(messages=False)
        assert progress.installed() is None
        logging.getLogger("edgefer.train.loop").info("epoch 1/3  train loss 1.8")
    assert capsys.readouterr().err == "epoch 1/3  train loss 1.8\n"
