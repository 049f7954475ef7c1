import os

import numpy as np
import pytest

from edgefer.atomic import atomic_path, write_json
from edgefer.data.splits import stratified_sample, stratified_split
from edgefer.errors import EdgeferError
from edgefer.metrics import classification_report, confusion_matrix, top2_margin


def test_stratified_split_is_seeded_stratified_disjoint():
    y = np.repeat(np.arange(4), [500, 40, 7, 1])
    tr, va = stratified_split(y, 0.1, seed=3)
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == len(y)
    assert np.bincount(y[va], minlength=4).tolist() == [50, 4, 1, 0]
    tr2, va2 = stratified_split(y, 0.1, seed=3)
    assert np.array_equal(va, va2)
    assert not np.array_equal(va, stratified_split(y, 0.1, seed=4)[1])
    with pytest.raises(EdgeferError, match="--val-fraction"):
        stratified_split(y, 1.5)


def test_stratified_sample_balances_classes():
    y = np.repeat(np.arange(3), [1000, 30, 500])
    s = stratified_sample(y, total=300, seed=0)
    assert np.bincount(y[s]).tolist() == [135, 30, 135]
    s2 = stratified_sample(y, per_class=20, seed=0)
    assert np.bincount(y[s2]).tolist() == [20, 20, 20]
    assert np.array_equal(s, stratified_sample(y, total=300, seed=0))


def test_report_against_hand_computed_values():
    t = np.array([0, 0, 0, 1, 1, 2])
    p = np.array([0, 0, 1, 1, 2, -1])  # -1: a model class the data set lacks
    cm = confusion_matrix(t, p, 3)
    assert cm.tolist() == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]]
    r = classification_report(t, p, ["a", "b", "c"])
    assert r["top1"] == pytest.approx(3 / 6)
    # a: P=1, R=2/3, F1=0.8; b: P=1/2, R=1/2, F1=0.5; c: P=0 (1 predicted), R=0, F1=0
    assert r["per_class"]["a"]["f1"] == pytest.approx(0.8)
    assert r["per_class"]["b"]["f1"] == pytest.approx(0.5)
    assert r["per_class"]["c"]["precision"] == 0.0 and r["per_class"]["c"]["support"] == 1
    assert r["macro_f1"] == pytest.approx((0.8 + 0.5 + 0.0) / 3)
    assert top2_margin(np.array([[0.7, 0.2, 0.1]]))[0] == pytest.approx(0.5)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "x.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            open(tmp, "w").write("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text().strip().endswith("}") and '"v": 1' in target.read_text()
    assert os.listdir(tmp_path) == ["x.json"]


def test_temperature_scaling_recovers_a_known_temperature_and_lowers_ece():
    from edgefer.metrics import expected_calibration_error, fit_temperature, nll, softmax

    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.0, (4000, 7))
    targets = np.array([rng.choice(7, p=p) for p in softmax(true_logits)])
    overconfident = true_logits * 2.5  # a model whose logits are 2.5x too large
    t = fit_temperature(overconfident, targets)
    assert abs(t - 2.5) < 0.25, t
    assert nll(overconfident, targets, t) < nll(overconfident, targets)
    ok = overconfident.argmax(1) == targets
    before = expected_calibration_error(softmax(overconfident).max(1), ok)
    after = expected_calibration_error(softmax(overconfident / t).max(1), ok)
    assert after < before / 3, (before, after)
    # calibrated logits need no temperature
    assert abs(fit_temperature(true_logits, targets) - 1.0) < 0.1


def test_ece_of_perfectly_and_badly_calibrated_answers():
    from edgefer.metrics import expected_calibration_error

    conf = np.full(1000, 0.8)
    right = np.arange(1000) < 800
    assert expected_calibration_error(conf, right) < 1e-9
    assert abs(expected_calibration_error(np.full(1000, 0.99), right) - 0.19) < 1e-9
