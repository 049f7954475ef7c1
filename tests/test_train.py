"""Short real training runs on FER2013 (one per architecture, shared by the tests) and
``edgefer eval`` on the PublicTest split."""

import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (torch, timm)")

from conftest import FER_CSV, ROOT, run_cli  # noqa: E402

# Always answering the majority class (happy) on FER2013 PublicTest: top-1 24.9 %, macro-F1 0.06.
MAJORITY_MACRO_F1 = 0.057


def _history(run):
    with open(os.path.join(run, "history.jsonl")) as f:
        return [json.loads(l) for l in f]


@pytest.fixture(scope="module")
def publictest_eval(tmp_path_factory):
    """``_eval(run)`` of a run's best.pt on PublicTest, once per run for this module's tests
    (a subprocess eval of all 3,589 images: about 20 s here)."""
    done = {}

    def get(run):
        if run not in done:
            done[run] = _eval(run, tmp_path_factory.mktemp("eval"))
        return done[run]
    return get


def _eval(run, tmp_path, *extra):
    out = tmp_path / ("eval" + "-".join(extra).replace("-", ""))
    p = run_cli("eval", os.path.join(run, "best.pt"), "--data", FER_CSV, "--split", "PublicTest", "--out", out, *extra)
    assert p.returncode == 0, p.stderr
    with open(out / "metrics.json") as f:
        return p, json.load(f), out


@pytest.mark.parametrize("run_name", ["vit_run", "b0_run"])
def test_training_learns(run_name, request, publictest_eval):
    run = request.getfixturevalue(run_name)
    h = _history(run)
    assert len(h) == 3 and [r["epoch"] for r in h] == [1, 2, 3]
    # validation loss falls: the best epoch is clearly below the first
    assert min(r["val_loss"] for r in h[1:]) < h[0]["val_loss"] - 0.02, h
    p, m, out = publictest_eval(run)
    # PublicTest (never seen in training or selection) beats always answering "happy" by far
    assert m["macro_f1"] > 2 * MAJORITY_MACRO_F1, m["macro_f1"]
    assert m["split"] == "PublicTest" and m["label_protocol"] == "fer2013" and m["n"] == 3589
    assert "split PublicTest" in p.stdout and "label protocol fer2013" in p.stdout and "macro-F1" in p.stdout
    assert (out / "confusion.png").stat().st_size > 5000
    assert np.array(m["confusion_matrix"]).sum() == 3589


def test_eval_numbers_match_a_direct_computation(vit_run, publictest_eval):
    """The CLI report equals predicting with the checkpoint through the shared preprocessing."""
    from edgefer.data import open_dataset
    from edgefer.metrics import classification_report
    from edgefer.preprocess import Preprocess
    from edgefer.train import checkpoint
    from edgefer.train.datasets import predict_logits

    _, m, _ = publictest_eval(vit_run)
    ck = checkpoint.load(os.path.join(vit_run, "best.pt"))
    ds = open_dataset(FER_CSV, split="PublicTest")
    logits = predict_logits(checkpoint.build_model(ck), ds, Preprocess.from_dict(ck["preprocess"]), "cpu")
    r = classification_report(ds.targets, logits.argmax(1), list(ds.labels.names))
    assert r["top1"] == pytest.approx(m["top1"]) and r["macro_f1"] == pytest.approx(m["macro_f1"])
    assert r["confusion_matrix"] == m["confusion_matrix"]


def test_checkpoint_format(vit_run):
    for kind in ("best", "last"):
        ck = torch.load(os.path.join(vit_run, kind + ".pt"), weights_only=True)
        assert ck["format"] == "edgefer.checkpoint" and ck["format_version"] == 1 and ck["kind"] == kind
        for key in ("model", "state_dict", "labels", "preprocess", "data", "train", "epoch", "step", "metrics",
                    "best", "history", "versions", "created"):
            assert key in ck, key
        assert ck["model"] == {"arch": "efficientvit_m5", "num_classes": 7, "img_size": 48, "drop_rate": 0.2}
        assert ck["labels"]["names"][3] == "happy" and ck["preprocess"]["size"] == 48
        assert ck["data"]["label_protocol"] == "fer2013" and ck["data"]["train_split"] == "Training"
        assert ("resume" in ck) == (kind == "last")
    best = torch.load(os.path.join(vit_run, "best.pt"), weights_only=True)
    with open(os.path.join(vit_run, "split.json")) as f:
        split = json.load(f)
    n_val = len(split["val_ids"])
    assert best["data"]["val_ids"] == split["val_ids"] and n_val == best["data"]["n_val"]
    assert abs(n_val - 400) <= 7  # 10 % of 4,000, rounded per class (7 classes)
    assert best["data"]["n_train"] + n_val == 4000
    # the validation slice is part of Training, not of any test split
    assert all(int(i) < 28709 for i in split["val_ids"])
    assert best["best"]["epoch"] == best["epoch"]
    assert best["best"]["val_loss"] == min(r["val_loss"] for r in best["history"])


def test_eval_refuses_selection_data(vit_run, tmp_path):
    for split, msg in (("Training", "training split"), ("val", "validation slice")):
        p = run_cli("eval", vit_run, "--data", FER_CSV, "--split", split, "--out", tmp_path / split)
        assert p.returncode == 2 and msg in p.stderr and "--allow-train-split" in p.stderr, p.stderr
    p = run_cli("eval", vit_run, "--data", FER_CSV, "--split", "val", "--allow-train-split", "--out", tmp_path / "v")
    assert p.returncode == 0, p.stderr
    m = json.load(open(tmp_path / "v" / "metrics.json"))
    assert m["n"] == len(json.load(open(os.path.join(vit_run, "split.json")))["val_ids"]) and m["split"] == "Training:val"


def test_eval_across_label_protocols(vit_run, tmp_path):
    """A FER2013-trained model on FER+ PublicTest: the 13 contempt images are left out."""
    p = run_cli("eval", vit_run, "--data", FER_CSV, "--labels", "ferplus", "--split", "PublicTest", "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    m = json.load(open(tmp_path / "metrics.json"))
    assert m["excluded_images"] == 13 and m["n"] == 3199 - 13 and m["label_protocol"] == "ferplus"
    assert m["per_class"]["contempt"]["support"] == 0
    assert "13 images of classes the model does not have" in p.stdout


def test_train_defaults_are_the_architectures_recipe():
    """`edgefer train` without flags trains the recipe of edgefer/train/recipes.py; a flag
    wins over it, and another optimizer brings its own learning rate and weight decay."""
    from edgefer.train.loop import TrainConfig
    from edgefer.train.recipes import RECIPES

    c = TrainConfig(data="x", arch="efficientvit_m5").resolved()
    for k, v in RECIPES["efficientvit_m5"].items():
        assert getattr(c, k) == v, k
    c = TrainConfig(data="x", arch="efficientvit_m5", epochs=3, label_smoothing=0.0).resolved()
    assert (c.epochs, c.label_smoothing, c.img_size) == (3, 0.0, RECIPES["efficientvit_m5"]["img_size"])
    c = TrainConfig(data="x", arch="efficientvit_m5", optimizer="sgd").resolved()
    assert (c.lr, c.weight_decay) == (0.05, 5e-4)
    c = TrainConfig(data="x", arch="efficientnet_lite0").resolved()  # the shipped model's recipe
    assert (c.weights, c.img_size, c.lr) == ("imagenet", 112, 1e-3)
    with open(os.path.join(ROOT, "edgefer", "bundles", "default.edgefer", "manifest.json")) as f:
        shipped = json.load(f)["provenance"]["train"]
    for k in ("arch", "img_size", "epochs", "batch_size", "optimizer", "lr", "schedule", "augment", "mixup",
              "class_weights", "label_smoothing"):
        assert getattr(c, k) == shipped[k], k
    assert TrainConfig(data="x", arch="efficientnet_lite0", pretrained=True).resolved().weights is None
    assert TrainConfig(data="x", arch="efficientnet_lite0", weights="none").resolved().weights == "none"
    assert TrainConfig(data="x", arch="efficientvit_m5").resolved().weights is None
    c = TrainConfig(data="x", arch="efficientnet_b0_attn").resolved()  # AdamW did not learn it from scratch
    assert (c.optimizer, c.lr, c.weight_decay, c.img_size) == ("sgd", 0.05, 5e-4, 64)
    c = TrainConfig(data="x", arch="resnet18").resolved()  # any timm name: the generic recipe
    assert c.augment == "fer" and c.epochs > 0 and c.lr > 0
    # the CLI leaves unset flags to the recipe
    p = run_cli("train", "--help")
    assert p.returncode == 0 and "recipe" in p.stdout
