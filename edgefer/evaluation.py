"""Evaluation (``edgefer eval``, ``edgefer bench``): a model's accuracy on a named split, with
the guard rails that keep reported numbers honest (no training split, no validation slice,
unless asked).

The one evaluation library: :func:`open_split` opens the data exactly as every evaluator
does, :func:`evaluate` scores logits and writes the report, :func:`evaluate_bundle` runs
every artifact of a bundle (ONNX Runtime, no torch). A checkpoint's logits come from the
training stack (:func:`edgefer.train.evaluate.evaluate_checkpoint` calls :func:`evaluate`),
so this module stays on the device side, at the bottom of the layers (ARCHITECTURE.md)."""

import logging
import os

import numpy as np

from .atomic import check_writable, write_json
from .errors import EdgeferError
from .labels import label_set_from_names, mapping
from .metrics import classification_report

log = logging.getLogger(__name__)


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


def bundle_info(bundle):
    """What :func:`open_split` needs to know about a bundle's model (its ``data`` block)."""
    prov = bundle.manifest["provenance"]
    return {"train_split": prov["train_split"], "val_ids": prov.get("val_ids"), "labels": bundle.labels}


def open_split(data, labels, ferplus_csv, split, info, allow_train_split):
    """The data to evaluate on, with the guard rails (training split, validation slice).

    ``info``: the model's data block (``train_split``, ``val_ids``, ``labels``). Returns
    (data set, model->data label map, class names, images left out)."""
    from .data import open_dataset

    opts = {"ferplus_csv": ferplus_csv} if ferplus_csv else {}
    val_slice = split.lower() == "val" and info.get("val_ids") is not None
    ds = open_dataset(data, labels=labels, split=info["train_split"] if val_slice else split, **opts)
    if val_slice:
        if not allow_train_split:
            raise EdgeferError("--split val is the validation slice the model was selected on; pass "
                               "--allow-train-split to evaluate it anyway (it is not a test result)")
        ds = ds.subset(ds.index_of(info["val_ids"]), split=ds.split + ":val")
    else:
        check_split(ds, info, allow_train_split)
    keep, m2d, names = align_labels(info["labels"], ds)
    n_dropped = int((~keep).sum())
    if n_dropped:
        ds = ds.subset(np.flatnonzero(keep))
    return ds, m2d, names, n_dropped


def evaluate(logits, ds, m2d, names, n_dropped, out, context, desc, say=None):
    """Score ``logits`` on ``ds``, write ``metrics.json`` and ``confusion.png`` to ``out``
    and ``say(line)`` the summary (default: INFO on the ``edgefer.evaluation`` logger; the
    command line prints it); returns (report, written paths)."""
    say = say or log.info
    from .report import summary_lines, write_report

    rep = score(logits, ds.targets, m2d, names)
    paths = write_report(out, rep, dict(context, data=ds.path, dataset=ds.name, label_protocol=ds.labels.name,
                                        split=ds.split, excluded_images=n_dropped))
    for line in summary_lines(rep, header_lines(ds, desc, n_dropped)):
        say(line)
    return rep, paths


def pick_artifacts(bundle, files):
    """The bundle's artifacts named in ``files`` (manifest file names), in manifest order;
    all of them when ``files`` is empty."""
    known = [a["file"] for a in bundle.artifacts]
    unknown = [f for f in files if f not in known]
    if unknown:
        raise EdgeferError("--artifact %s: not in %s (its artifacts: %s)" % (unknown[0], bundle.path, ", ".join(known)))
    return [a for a in bundle.artifacts if not files or a["file"] in files]


def evaluate_bundle(path, data, split, labels=None, ferplus_csv=None, out=None, allow_train_split=False, say=None,
                    tta="none", artifacts=()):
    """The artifacts of a bundle (all, or the file names in ``artifacts``) with ONNX Runtime
    (device side: no torch), with test-time augmentation ``tta``
    (:func:`edgefer.onnx_predict.with_tta`; ``none`` unless asked): a report per artifact,
    ``summary.json`` and a table (through ``say``, as :func:`evaluate`); returns the report
    folder."""
    say = say or log.info
    from .bundle import Bundle
    from .onnx_predict import ARITHMETIC, check_tta, exact_qdq, predict

    check_tta(tta)
    b = Bundle.load(path)
    chosen = pick_artifacts(b, artifacts)  # before the data set is read
    ds, m2d, names, n_dropped = open_split(data, labels or b.manifest["model"]["label_protocol"], ferplus_csv, split,
                                           bundle_info(b), allow_train_split)
    out = out or os.path.join(path, "..", os.path.basename(path.rstrip("/")) + "-eval",
                              "%s-%s-%s%s" % (ds.name, ds.labels.name, ds.split.replace(":", "-"),
                                              "" if tta == "none" else "-tta-" + tta))
    check_writable(out, "--out")  # before the model runs
    rows = []
    for a in chosen:
        desc = "%s (%s %s, target %s, batch %s%s)" % (a["file"], b.manifest["model"]["architecture"], a["precision"],
                                                     a["target"], a["batch"],
                                                     "" if tta == "none" else ", test-time augmentation " + tta)
        exact = exact_qdq(a)
        context = {"model": os.path.join(path, a["file"]), "bundle": path, "artifact": a["file"],
                   "precision": a["precision"], "target": a["target"], "batch": a["batch"],
                   "arithmetic": ARITHMETIC[exact], "tta": tta}
        rep, _ = evaluate(predict(b.file(a), ds, b.preprocess, exact_qdq=exact, tta=tta), ds, m2d, names, n_dropped,
                          os.path.join(out, os.path.splitext(a["file"])[0]), context, desc, say)
        say("")
        rows.append(dict(context, data=ds.path, dataset=ds.name, label_protocol=ds.labels.name, split=ds.split,
                         excluded_images=n_dropped, top1=rep["top1"], macro_f1=rep["macro_f1"], n=rep["n"]))
    write_json(os.path.join(out, "summary.json"), rows)
    say("%-28s %-6s %-9s %-5s %7s %8s" % ("artifact", "prec", "target", "batch", "top-1", "macro-F1"))
    for r in rows:
        say("%-28s %-6s %-9s %-5s %6.2f%% %8.3f" % (r["artifact"], r["precision"], r["target"], r["batch"],
                                                   100 * r["top1"], r["macro_f1"]))
    return os.path.abspath(out)
