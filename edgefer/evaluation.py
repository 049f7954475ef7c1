"""``edgefer eval``: a model's accuracy on a named split, with the guard rails that keep
reported numbers honest (no training split, no validation slice, unless asked)."""

import os

import numpy as np

from .errors import EdgeferError
from .labels import label_set_from_names, mapping
from .metrics import classification_report


def check_split(dataset, data_info, allow_train):
    """Refuse the training split and the run's validation slice unless ``allow_train``.

    ``data_info`` is a checkpoint's (or manifest's) ``data`` block."""
    if allow_train:
        return
    train_split = getattr(dataset, "train_split", None)
    if dataset.split == train_split or dataset.split == (data_info or {}).get("train_split"):
        raise EdgeferError(
            "--split %s is the training split (the model was fit or selected on it); report a test split, "
            "or pass --allow-train-split to evaluate it anyway" % dataset.split)


def align_labels(model_names, dataset):
    """Map model outputs onto the data set's classes.

    Returns (keep mask over samples, model->data index map, data label names). Samples of a
    class the model lacks are left out; model classes the data set lacks map to -1 (wrong)."""
    model_set = label_set_from_names(model_names)
    m2d = mapping(model_set, dataset.labels)
    d2m = mapping(dataset.labels, model_set)
    keep = d2m[dataset.targets] >= 0
    return keep, m2d, list(dataset.labels.names)


def score(logits, targets, m2d, names):
    preds = m2d[np.asarray(logits).argmax(1)]
    return classification_report(targets, preds, names)


def header_lines(dataset, model_desc, n_dropped):
    lines = ["model: %s" % model_desc,
             "data: %s | label protocol %s | split %s | %d images" % (dataset.path, dataset.labels.name, dataset.split, len(dataset))]
    if n_dropped:
        lines.append("note: %d images of classes the model does not have were left out" % n_dropped)
    return lines


def default_out_dir(model_path, dataset):
    base = model_path if os.path.isdir(model_path) else os.path.dirname(os.path.abspath(model_path))
    return os.path.join(base, "eval", "%s-%s-%s" % (dataset.name, dataset.labels.name, dataset.split.replace(":", "-")))
