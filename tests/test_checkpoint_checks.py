"""Tampered checkpoints are refused at once, with one line naming the file (issue 12, class 6)."""

import os

import pytest

from conftest import run_cli

torch = pytest.importorskip("torch")


def _drop_a_tensor(ck):
    sd = dict(ck["state_dict"])
    del sd[next(iter(sd))]
    ck["state_dict"] = sd


def _more_classes(ck):
    ck["model"] = dict(ck["model"], num_classes=8)
    ck["labels"] = dict(ck["labels"], names=list(ck["labels"]["names"]) + ["contempt"])


def _fewer_labels(ck):
    ck["labels"] = dict(ck["labels"], names=list(ck["labels"]["names"])[:6])


def _not_a_tensor(ck):
    sd = dict(ck["state_dict"])
    sd[next(iter(sd))] = "weights"
    ck["state_dict"] = sd


TAMPERED = [
    (_drop_a_tensor, "its weights do not fit efficientvit_m5 with 7 classes: Missing key(s)"),
    (_more_classes, "its weights do not fit efficientvit_m5 with 8 classes: size mismatch"),
    (_fewer_labels, "labels.names has 6 names but the model has 7 classes"),
    (_not_a_tensor, "state_dict holds a non-tensor at"),
]


@pytest.mark.parametrize("tamper, message", TAMPERED, ids=[t[0].__name__.strip("_") for t in TAMPERED])
def test_export_refuses_a_tampered_checkpoint_before_any_work(vit_run, tmp_path, tamper, message):
    ck = torch.load(os.path.join(vit_run, "best.pt"), map_location="cpu", weights_only=True)
    tamper(ck)
    path = str(tmp_path / "tampered.pt")
    torch.save(ck, path)
    out = str(tmp_path / "t.edgefer")
    p = run_cli("export", path, "--out", out, timeout=300)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    line = p.stderr.strip().splitlines()[-1]
    assert line.startswith("error: checkpoint %s: " % path) and message in line, line
    assert not os.path.exists(out) and not [f for f in os.listdir(str(tmp_path)) if f.startswith(".t.edgefer")]
