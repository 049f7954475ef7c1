"""Knowledge distillation (Hinton et al., 2015) from a teacher model, or an ensemble, offline.

Each teacher (a checkpoint or run folder, or a bundle) classifies every training image once,
through its own preprocessing (its input size may differ from the student's), as it is
and mirrored; the mean of the two distributions, softened at ``temperature``, is that
teacher's target for the image, and the mean over the teachers is the ensemble's (an
ensemble of two 112 px Lite0 models is 1.0-1.4 points more accurate on the validation
slice than either: benchmarks/results/lite112-kd-2026-12-08). Training then fits the
student to ``(1 - weight) * label target + weight * teacher target`` with the usual loss,
so mixup, label smoothing and class weights work as before.

Offline rather than a teacher forward pass per step: on a 2-core CPU the 96 px teacher's
forward pass costs more than the small student's whole training step, so a per-step
teacher would halve the run's speed; computed once, it costs a few minutes per run. The
price is that the teacher sees the un-augmented face while the student sees an augmented
one; the recipe's augmentations (scale, shift, small rotations, flips, photometric) keep
the expression, and the mirrored pass covers the flip.

Each teacher's logits are cached in the run folder (``teacher-<first 16 hex digits of the
teacher file's SHA-256>.npz``), so a resumed run trains on exactly the same targets, on any
machine.
"""

import os

import numpy as np

from ..atomic import atomic_path
from ..bundle import sha256_file
from ..errors import EdgeferError


def cache_name(digest):
    """The run folder's cache file of the teacher whose file hashes to ``digest``."""
    return "teacher-%s.npz" % digest[:16]


def _is_bundle(path):
    return os.path.isfile(os.path.join(path, "manifest.json"))


def _teacher_file(path):
    """The file whose hash names the teacher: a bundle's manifest (it holds every artifact's
    hash), a run folder's checkpoint (best.pt, else last.pt, as checkpoint.load picks), or
    the path itself."""
    if _is_bundle(path):
        return os.path.join(path, "manifest.json")
    if os.path.isdir(path):
        for name in ("best.pt", "last.pt"):
            if os.path.isfile(os.path.join(path, name)):
                return os.path.join(path, name)
    return path


def _bundle_model(path):
    """(class names, logits function) of a bundle's most exact CPU artifact: FP32 if it has
    one, else INT8 for CPUs (with ONNX Runtime, as ``edgefer eval`` runs it)."""
    from ..bundle import Bundle
    from ..onnx_predict import predict

    b = Bundle.load(path)
    rank = {("fp32", "any"): 0, ("fp32", "cpu"): 0, ("int8", "cpu"): 1}
    usable = [a for a in b.artifacts if (a["precision"], a["target"]) in rank]
    if not usable:
        raise EdgeferError("--teacher %s: the bundle has no FP32 or INT8 CPU artifact to run" % path)
    art = min(usable, key=lambda a: (rank[(a["precision"], a["target"])], -(a["batch"] or 256)))
    return list(b.labels), lambda ds: predict(b.file(art), ds, b.preprocess)


def _checkpoint_model(path):
    """(class names, logits function) of a checkpoint (or a run folder's best.pt), on the CPU."""
    from . import checkpoint
    from .evaluate import checkpoint_logits

    ckpt = checkpoint.load(path)
    net = checkpoint.build_model(ckpt)
    return ckpt["labels"]["names"], lambda ds: checkpoint_logits(ckpt, ds, net=net)


class _Mirrored(object):
    """A data set whose model inputs come out mirrored left to right (N x C x H x W)."""

    def __init__(self, ds):
        self._ds = ds

    def __len__(self):
        return len(self._ds)

    def inputs(self, idx, pre):
        return np.ascontiguousarray(self._ds.inputs(idx, pre)[..., ::-1])


def _softmax(logits, temperature):
    z = logits.astype(np.float64) / temperature
    z -= z.max(1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(1, keepdims=True)


def teacher_logits(path, ds):
    """(the teacher's class names, its logits on ``ds`` as is, and mirrored)."""
    names, logits = _bundle_model(path) if _is_bundle(path) else _checkpoint_model(path)
    return names, logits(ds), logits(_Mirrored(ds))


def _cached_logits(path, ds, run_dir):
    """(class names, plain logits, mirrored logits) of the teacher on ``ds``: from the run
    folder's cache when it holds this teacher's on these images, else computed and cached."""
    digest = sha256_file(_teacher_file(path))
    cache = os.path.join(run_dir, cache_name(digest))
    if os.path.isfile(cache):
        with np.load(cache) as z:
            if "names" in z.files and str(z["sha256"]) == digest and list(z["ids"]) == list(ds.ids):
                return list(z["names"]), z["plain"], z["mirrored"]
    names, plain, mirrored = teacher_logits(path, ds)
    os.makedirs(run_dir, exist_ok=True)
    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, sha256=digest, ids=np.asarray(ds.ids), names=np.asarray(names), plain=plain,
                     mirrored=mirrored)
    return names, plain, mirrored


def teacher_targets(paths, ds, names, temperature, run_dir):
    """N x K teacher distributions for the training images of ``ds`` (class order ``names``,
    which must be every teacher's): the mean over the teachers at ``paths`` (one path or
    several) of each one's softened plain and mirrored predictions, from the run folder's
    caches where they hold them."""
    paths = [paths] if isinstance(paths, str) else list(paths)
    targets = [_one_teacher(path, ds, names, temperature, run_dir) for path in paths]
    return sum(targets) / len(targets)


def _one_teacher(path, ds, names, temperature, run_dir):
    if not os.path.exists(path):
        raise EdgeferError("--teacher %s does not exist (expected a checkpoint, a run folder or a bundle)" % path)
    teacher_names, plain, mirrored = _cached_logits(path, ds, run_dir)
    if list(teacher_names) != list(names):
        raise EdgeferError("--teacher %s predicts %s, the data's labels are %s: distill between the same classes"
                           % (path, ", ".join(teacher_names), ", ".join(names)))
    return _softmax(plain, temperature) / 2 + _softmax(mirrored, temperature) / 2


def agreement(targets, labels):
    """How often the teacher's top class is the label (its accuracy on the training images)."""
    return float((np.asarray(targets).argmax(1) == np.asarray(labels)).mean())
