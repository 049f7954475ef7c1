"""Resuming, Ctrl-C and DDP: small runs (a few hundred images) on real FER2013 rows."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (torch, timm)")

from conftest import FER_CSV, ROOT, run_cli  # noqa: E402

TINY = ["--data", FER_CSV, "--arch", "efficientnet_b0_attn", "--img-size", "48", "--train-limit", "320",
        "--batch-size", "64", "--seed", "3", "--quiet"]


def _weights(path):
    return torch.load(path, weights_only=True)["state_dict"]


def test_resume_is_bit_exact(fer_csv, tmp_path):
    """Two epochs in one go == one epoch, stop, resume for the second (augmentation, mixup,
    dropout, shuffling and a data-loader worker all in play)."""
    common = TINY + ["--epochs", "2", "--workers", "1", "--mixup", "0.2", "--augment", "fer", "--patience", "0"]
    run_cli("train", *common, "--out", tmp_path / "full", check=True)
    p = run_cli("train", *common, "--out", tmp_path / "split", "--stop-after", "1", check=True)
    assert "--resume" in p.stderr
    after_one = torch.load(tmp_path / "split" / "last.pt", weights_only=True)
    assert after_one["epoch"] == 1
    run_cli("train", "--resume", tmp_path / "split", check=True)
    a, b = _weights(tmp_path / "full" / "last.pt"), _weights(tmp_path / "split" / "last.pt")
    assert a.keys() == b.keys()
    differing = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differing, differing[:5]
    ha = [json.loads(l) for l in open(tmp_path / "full" / "history.jsonl")]
    hb = [json.loads(l) for l in open(tmp_path / "split" / "history.jsonl")]
    assert [r["val_loss"] for r in ha] == [r["val_loss"] for r in hb]
    # the resumed invocation did train: epoch 2 exists and moved the weights
    assert len(hb) == 2 and torch.load(tmp_path / "split" / "last.pt", weights_only=True)["epoch"] == 2
    assert any(not torch.equal(after_one["state_dict"][k], b[k]) for k in b if b[k].is_floating_point())


def test_ctrl_c_leaves_a_usable_last_checkpoint(fer_csv, tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # A shell's background job inherits SIGINT ignored, and Python then never raises
    # KeyboardInterrupt: give the child the default disposition, as a terminal would.
    proc = subprocess.Popen([sys.executable, "-m", "edgefer", "train", *TINY, "--epochs", "4", "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    hist = out / "history.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if hist.exists() and hist.read_text().count("\n") >= 1:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "training ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "edgefer train --resume" in err
    ck = torch.load(out / "last.pt", weights_only=True)
    done = ck["epoch"]
    assert 1 <= done < 4 and not [f for f in os.listdir(out) if f.endswith(".tmp") or f.startswith(".")]
    run_cli("train", "--resume", out, check=True)
    ck = torch.load(out / "last.pt", weights_only=True)
    assert ck["epoch"] == 4 and [r["epoch"] for r in ck["history"]] == [1, 2, 3, 4]


def test_ddp_two_cpu_processes(fer_csv, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "edgefer",
           "train", *TINY, "--epochs", "1", "--out", str(out), "--workers", "0"]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert sorted(f for f in os.listdir(out)) == ["best.pt", "config.json", "history.jsonl", "last.pt", "split.json"]
    rows = [json.loads(l) for l in open(out / "history.jsonl")]
    assert len(rows) == 1 and rows[0]["world_size"] == 2  # one writer
    ck = torch.load(out / "best.pt", weights_only=True)
    assert ck["train"]["batch_size"] == 64 and ck["epoch"] == 1
    # each process ran half the batches of the global batch: 288 training images (320 less the
    # 32 of the validation slice) / 64 = 4 steps, the last half batch dropped
    assert ck["step"] == 4


def test_a_run_killed_before_its_first_last_pt_starts_again_from_its_config(vit_run, tmp_path):
    """issue 12, class 7: a kill during the very first last.pt write leaves config.json only;
    --resume starts that run again (same settings, same seeds) instead of refusing it."""
    import shutil

    from edgefer.train.loop import TrainConfig
    from edgefer.train.resume import continued

    folder = tmp_path / "killed"
    folder.mkdir()
    shutil.copy(os.path.join(vit_run, "config.json"), str(folder / "config.json"))
    cfg, state = continued(str(folder), {"epochs": 1})
    want = TrainConfig(**json.load(open(os.path.join(vit_run, "config.json")))["train"])
    assert state is None and cfg.out == str(folder) and cfg.epochs == 1
    assert (cfg.arch, cfg.seed, cfg.data, cfg.augment) == (want.arch, want.seed, want.data, want.augment)
    empty = tmp_path / "empty"
    empty.mkdir()
    p = run_cli("train", "--resume", str(empty))
    assert p.returncode == 2 and "last.pt" in p.stderr and "Traceback" not in p.stderr


def test_kill_9_mid_training_leaves_a_loadable_resumable_run_and_the_next_write_sweeps(fer_csv, tmp_path):
    """issue 12: SIGKILL gives no chance to clean up. Whatever the moment (here: while the
    second epoch trains, with a stale temporary file of an earlier killed writer beside),
    last.pt loads, --resume finishes the run, and leftovers of dead writers are gone."""
    out = tmp_path / "run"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = out / (".last.%d-killed.tmp.pt" % dead.pid)  # what a kill during a last.pt write leaves
    stale.write_bytes(b"half a checkpoint")
    proc = subprocess.Popen([sys.executable, "-m", "edgefer", "train", *TINY, "--epochs", "3", "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hist = out / "history.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (hist.exists() and hist.read_text().count("\n") >= 1):
        time.sleep(0.2)
    assert proc.poll() is None, "training ended before it could be killed"
    proc.kill()
    proc.wait()
    assert not stale.exists()  # swept by the first last.pt write of the new run
    ck = torch.load(out / "last.pt", weights_only=True)
    assert ck["epoch"] >= 1
    run_cli("train", "--resume", out, check=True)
    ck = torch.load(out / "last.pt", weights_only=True)
    assert ck["epoch"] == 3 and [r["epoch"] for r in ck["history"]] == [1, 2, 3]
    assert not [f for f in os.listdir(out) if f.startswith(".")]


def test_compile_trains_the_same_model_and_saves_plain_weights(fer_csv, tmp_path, monkeypatch):
    """--compile wraps the training forward in torch.compile; validation, the checkpoints and
    --resume see the model itself. TorchInductor's code generation takes minutes on two cores,
    so the test compiles with TorchDynamo's ``eager`` backend: the same graph capture and the
    same wrapper module, run by PyTorch's own kernels (so the weights must equal eager
    training's exactly), on a small timm network (tracing EfficientViT-M5 alone takes 20 s)."""
    from edgefer.train.loop import TrainConfig, train
    from edgefer.train.resume import continued

    calls = []
    real = torch.compile

    def eager_backend(model, **kw):
        calls.append(type(model).__name__)
        return real(model, backend="eager", **kw)

    opts = dict(data=fer_csv, arch="resnet10t", img_size=48, train_limit=320, batch_size=64, seed=3, epochs=1, max_steps=2,
                augment="fer", workers=0)
    train(TrainConfig(out=str(tmp_path / "eager"), **opts), progress=False)
    monkeypatch.setattr(torch, "compile", eager_backend)
    train(TrainConfig(out=str(tmp_path / "compiled"), compile=True, **opts), progress=False)
    assert len(calls) == 1, calls  # the flag reached the trainer: one compiled module
    a, b = _weights(tmp_path / "eager" / "last.pt"), _weights(tmp_path / "compiled" / "last.pt")
    assert a.keys() == b.keys() and not [k for k in b if "_orig_mod" in k]
    assert not [k for k in a if not torch.equal(a[k], b[k])]
    cfg, _ = continued(str(tmp_path / "compiled"), {"compile": False})
    assert cfg.compile is False and TrainConfig(**torch.load(tmp_path / "compiled" / "last.pt",
                                                             weights_only=True)["train"]).compile is True


def test_compile_without_a_compiler_is_refused_before_the_data_loads(tmp_path, monkeypatch):
    import shutil

    from edgefer.errors import EdgeferError
    from edgefer.train.loop import TrainConfig, train

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CXX", raising=False)
    with pytest.raises(EdgeferError, match=r"^--compile: torch.compile needs a C\+\+ compiler on PATH"):
        train(TrainConfig(data=str(tmp_path / "not-read.csv"), out=str(tmp_path / "run"), arch="resnet10t",
                          compile=True, device="cpu"), progress=False)
