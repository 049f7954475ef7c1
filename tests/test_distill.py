"""Knowledge distillation (``edgefer train --teacher``): the teacher's targets on real
FER2013 rows, how they enter the training targets, the cache a resume trains on, and the
refusals."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (torch, timm)")

from conftest import FER_CSV, run_cli  # noqa: E402

TINY = ["--data", FER_CSV, "--arch", "efficientvit_m5", "--img-size", "48", "--train-limit", "400",
        "--batch-size", "64", "--seed", "1", "--quiet"]


def _train_rows(n=120):
    from edgefer.data import open_dataset

    ds = open_dataset(FER_CSV, split="Training")
    return ds.subset(np.arange(n), split="Training")


def test_teacher_targets_are_the_softened_mean_of_the_plain_and_mirrored_predictions(fer_csv, tmp_path):
    from edgefer.bundle import Bundle, sha256_file
    from edgefer.onnx_predict import predict
    from edgefer.runtime.pipeline import resolve_bundle
    from edgefer.train import distill

    teacher = resolve_bundle("default")
    ds = _train_rows()
    names = list(Bundle.load(teacher).labels)
    t = distill.teacher_targets(teacher, ds, names, 2.0, str(tmp_path))
    assert t.shape == (len(ds), 7) and np.allclose(t.sum(1), 1.0)
    with np.load(tmp_path / distill.cache_name(sha256_file(teacher + "/manifest.json"))) as z:
        plain, mirrored = z["plain"], z["mirrored"]
    assert not np.allclose(plain, mirrored)  # the mirrored pass is a different input
    b = Bundle.load(teacher)
    art = [a for a in b.artifacts if a["precision"] == "int8" and a["target"] == "cpu" and a["batch"] == 8][0]
    assert np.allclose(plain, predict(b.file(art), ds, b.preprocess), atol=1e-5)
    soft = distill._softmax(plain, 2.0) / 2 + distill._softmax(mirrored, 2.0) / 2
    assert np.allclose(t, soft)
    # softer than the teacher's own (temperature 1) predictions, same top class mostly
    assert (t.max(1) < distill._softmax(plain, 1.0).max(1) + 1e-9).mean() > 0.9
    # the model agrees with FER2013's labels on these training rows far above chance (1/7)
    assert distill.agreement(t, ds.targets) > 0.45
    # a second call reads the cache (same teacher file, same images): same numbers exactly
    assert np.array_equal(distill.teacher_targets(teacher, ds, names, 2.0, str(tmp_path)), t)


def test_several_teachers_give_the_mean_of_their_targets_each_cached_once(fer_csv, tmp_path):
    """An ensemble teacher: the shipped bundle and a checkpoint of a different network and
    input size (a tiny EfficientViT-M5 trained here) on the same rows."""
    from edgefer.bundle import Bundle
    from edgefer.runtime.pipeline import resolve_bundle
    from edgefer.train import distill

    p = run_cli("train", *TINY, "--max-steps", "2", "--epochs", "1", "--out", tmp_path / "second")
    assert p.returncode == 0, p.stderr[-2000:]
    first, second = resolve_bundle("default"), str(tmp_path / "second")
    ds = _train_rows(64)
    names = list(Bundle.load(first).labels)
    one = distill.teacher_targets(first, ds, names, 2.0, str(tmp_path / "run"))
    two = distill.teacher_targets(second, ds, names, 2.0, str(tmp_path / "run"))
    both = distill.teacher_targets([first, second], ds, names, 2.0, str(tmp_path / "run"))
    assert not np.allclose(one, two, atol=1e-3)
    assert np.allclose(both, (one + two) / 2) and np.allclose(both.sum(1), 1.0)
    assert len(list((tmp_path / "run").glob("teacher-*.npz"))) == 2  # one cache per teacher, reused


def test_the_training_targets_mix_labels_and_teacher():
    from edgefer.preprocess import Preprocess
    from edgefer.train.datasets import TrainFaces

    ds = _train_rows(10)
    teacher = np.full((10, 7), 1 / 7.0, np.float32)
    faces = TrainFaces(ds, Preprocess(size=48), label_smoothing=0.1, teacher=teacher, teacher_weight=0.25)
    label = np.eye(7, dtype=np.float32)[ds.targets] * 0.9 + 0.1 / 7
    assert np.allclose(faces.soft.numpy(), 0.75 * label + 0.25 / 7.0)


def test_training_with_a_teacher_writes_its_cache_and_refuses_a_teacher_of_other_classes(fer_csv, tmp_path):
    p = run_cli("train", *TINY, "--max-steps", "2", "--epochs", "1", "--teacher", "default", "--out", tmp_path / "kd")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "teacher:" in p.stderr and "of the training images" in p.stderr
    assert len(list((tmp_path / "kd").glob("teacher-*.npz"))) == 1
    ck = torch.load(tmp_path / "kd" / "last.pt", weights_only=False)
    assert [t[-15:] for t in ck["train"]["teacher"]] == ["default.edgefer"] and ck["train"]["distill_weight"] == 0.5
    p = run_cli("train", *TINY, "--max-steps", "1", "--teacher", "ferplus", "--out", tmp_path / "bad")
    assert p.returncode == 2 and "--teacher" in p.stderr and "same classes" in p.stderr, p.stderr[-800:]
    p = run_cli("train", *TINY, "--max-steps", "1", "--teacher", str(tmp_path / "nope.pt"), "--out", tmp_path / "bad2")
    assert p.returncode == 2 and "nope.pt does not exist" in p.stderr, p.stderr[-800:]
