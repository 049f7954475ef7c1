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

