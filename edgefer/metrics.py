"""Classification metrics in numpy (device side: ``edgefer eval`` on a bundle needs no torch)."""

import numpy as np


def softmax(logits, dtype=np.float64):
    """Row-wise softmax of N x C logits, computed in ``dtype`` (float32 in the runtime)."""
    z = np.asarray(logits, dtype)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def confusion_matrix(targets, preds, num_classes):
    """C[i, j] = number of samples of true class i predicted as j. Predictions of -1
    (a model class the data set lacks) land in an extra last column."""
    targets = np.asarray(targets, np.int64)
    preds = np.asarray(preds, np.int64)
    preds = np.where(preds < 0, num_classes, preds)
    cm = np.zeros((num_classes, num_classes + 1), np.int64)
    np.add.at(cm, (targets, preds), 1)
    return cm if cm[:, -1].any() else cm[:, :-1]


def classification_report(targets, preds, names):
    """Top-1 accuracy, macro-F1 and per-class precision/recall/F1/support.

    Classes with no samples in ``targets`` are left out of the macro average (as
    scikit-learn does with ``labels=`` the present classes) and reported with support 0."""
    targets = np.asarray(targets, np.int64)
    preds = np.asarray(preds, np.int64)
    k = len(names)
    cm = confusion_matrix(targets, preds, k)
    tp = np.diag(cm[:, :k]).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    predicted = cm[:, :k].sum(axis=0).astype(np.float64)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0)
    present = support > 0
    per_class = {
        names[i]: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(support[i])}
        for i in range(k)
    }
    n = len(targets)
    return {
        "n": int(n),
        "top1": float(tp.sum() / n) if n else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "per_class": per_class,
        "confusion_matrix": cm.tolist(),
        "labels": list(names),
    }


def top2_margin(probs):
    """Difference between the two highest probabilities per row (how decided a prediction is)."""
    p = np.sort(np.asarray(probs), axis=1)
    return p[:, -1] - p[:, -2]



def expected_calibration_error(confidence, correct, bins=15):
    """ECE (Guo et al., ICML 2017): the gap between confidence (the top probability) and
    accuracy (``correct``: was that answer right), averaged over ``bins`` equal-width
    confidence bins weighted by their share of the samples."""
    conf = np.asarray(confidence, np.float64)
    correct = np.asarray(correct, bool)
    which = np.minimum((conf * bins).astype(np.int64), bins - 1)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def nll(logits, targets, temperature=1.0):
    """Mean negative log-likelihood of the targets under softmax(logits / temperature)."""
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(z)), np.asarray(targets, np.int64)].mean())


def fit_temperature(logits, targets, lo=0.05, hi=20.0, iters=60):
    """Temperature scaling (Guo et al. 2017): the T > 0 minimising the NLL of
    softmax(logits / T) on held-out data. NLL is unimodal in log T, so a golden-section
    search over [lo, hi] finds it without scipy."""
    a, b = np.log(lo), np.log(hi)
    g = (np.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll(logits, targets, np.exp(c)), nll(logits, targets, np.exp(d))
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = nll(logits, targets, np.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = nll(logits, targets, np.exp(d))
    return float(np.exp((a + b) / 2))
