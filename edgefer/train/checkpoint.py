"""Checkpoints: plain dicts of tensors, numbers, strings, lists and dicts, loadable with
``torch.load(path, weights_only=True)``, written atomically.

Keys (``format_version`` 1):

================  ===========================================================================
``format``        ``"edgefer.checkpoint"``
``format_version`` 1
``kind``          ``"best"`` (best validation loss so far) or ``"last"`` (end of the last epoch)
``model``         ``{arch, num_classes, img_size, drop_rate[, stem_stride]}``: rebuilds the network
                  (:func:`edgefer.train.models.create_from_config`)
``state_dict``    the network's weights (float32 tensors; no ``module.`` prefix)
``labels``        ``{protocol, names}``: output index i means ``names[i]``
``preprocess``    the preprocessing block (:mod:`edgefer.preprocess`)
``data``          ``{format, path, label_protocol, train_split, val_fraction, split_seed,
                  n_train, n_val, val_ids, train_ids_sha256, train_limit, class_counts}``:
                  the validation slice's sample ids, so evaluation can refuse them
``train``         every training option (optimizer, lr, schedule, batch size, seed, ...)
``epoch``         epochs completed; ``step``: optimizer steps taken
``metrics``       this epoch's ``{train_loss, val_loss, val_top1, val_macro_f1, lr, ...}``
``best``          ``{epoch, val_loss, val_top1, val_macro_f1}`` of the best epoch so far
``history``       the per-epoch metrics so far (also in ``history.jsonl``)
``resume``        (``last`` only) ``{optimizer, scheduler, scaler, early_stopping}`` states
``versions``      ``{edgefer, torch, timm}``; ``created``: ISO-8601 UTC time
================  ===========================================================================
"""

import datetime
import os

from ..atomic import atomic_path
from ..errors import EdgeferError

FORMAT = "edgefer.checkpoint"
FORMAT_VERSION = 1


def import_torch(why):
    from .. import deps

    return deps.torch(why)


def save(path, ckpt):
    torch = import_torch("saving a checkpoint")

    ckpt = dict(ckpt)
    ckpt.setdefault("format", FORMAT)
    ckpt.setdefault("format_version", FORMAT_VERSION)
    ckpt.setdefault("created", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    with atomic_path(path) as tmp:
        torch.save(ckpt, tmp)


def resolve(path):
    """The checkpoint file ``path`` names (a run folder: its best.pt, else its last.pt), or one
    line saying it does not exist; without torch, so a wrong path is refused at once."""
    path = os.fspath(path)
    if os.path.isdir(path):
        for name in ("best.pt", "last.pt"):
            if os.path.isfile(os.path.join(path, name)):
                path = os.path.join(path, name)
                break
    if not os.path.isfile(path):
        raise EdgeferError("checkpoint %s does not exist (expected a .pt file written by edgefer train, or its run folder)" % path)
    return path


def load(path, map_location="cpu"):
    """Load and check a checkpoint; bad files give one line naming the file."""
    torch = import_torch("loading a checkpoint")

    path = resolve(path)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for damaged or foreign files
        raise EdgeferError("checkpoint %s cannot be loaded: %s" % (path, str(exc).splitlines()[0][:200])) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise EdgeferError("%s is not an edgefer checkpoint (no format=%r key)" % (path, FORMAT))
    if ckpt.get("format_version", 0) > FORMAT_VERSION:
        raise EdgeferError("%s has checkpoint format %s; this edgefer reads up to %d: upgrade edgefer"
                           % (path, ckpt.get("format_version"), FORMAT_VERSION))
    problem = _problem(ckpt, torch)
    if problem:
        raise EdgeferError("checkpoint %s: %s (a damaged or edited file: use the run's other checkpoint, or train again)"
                           % (path, problem))
    ckpt["path"] = path
    return ckpt


def _problem(ckpt, torch):
    """What is wrong with a checkpoint's structure (before seconds of work are spent on it), or None."""
    for key, kind in (("model", dict), ("state_dict", dict), ("labels", dict), ("preprocess", dict)):
        if not isinstance(ckpt.get(key), kind):
            return "'%s' is missing or not a %s" % (key, kind.__name__)
    model, names = ckpt["model"], ckpt["labels"].get("names")
    if not isinstance(model.get("arch"), str) or not isinstance(model.get("num_classes"), int):
        return "model needs 'arch' (a name) and 'num_classes' (an integer)"
    if not isinstance(names, list) or len(names) != model["num_classes"]:
        return "labels.names has %s names but the model has %d classes" % (
            len(names) if isinstance(names, list) else "no", model["num_classes"])
    bad = [k for k, v in ckpt["state_dict"].items() if not isinstance(v, torch.Tensor)]
    if bad or not ckpt["state_dict"]:
        return "state_dict holds %s" % ("no tensors" if not bad else "a non-tensor at %r" % bad[0])
    return None


def build_model(ckpt):
    """The network of a checkpoint, weights loaded, in eval mode; weights that do not fit
    the architecture (a missing or extra tensor, another shape) give one clear line."""
    from .models import create_from_config

    model = create_from_config(ckpt["model"])
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        first = [line.strip() for line in str(exc).splitlines() if line.strip()][1:2] or [str(exc)[:200]]
        raise EdgeferError("checkpoint %s: its weights do not fit %s with %d classes: %s"
                           % (ckpt.get("path", "?"), ckpt["model"]["arch"], ckpt["model"]["num_classes"],
                              first[0][:300])) from None
    return model.eval()
