"""``edgefer eval CHECKPOINT``: a PyTorch checkpoint's logits on a split (host side: torch),
scored and reported by :mod:`edgefer.evaluation`, the same code a bundle's artifacts go
through."""

import os

from .. import evaluation
from ..atomic import check_writable


def checkpoint_description(ckpt):
    return "%s (%s, %d px, epoch %d)" % (ckpt["path"], ckpt["model"]["arch"], ckpt["model"]["img_size"], ckpt["epoch"])


def checkpoint_logits(ckpt, ds, device="cpu", batch_size=256, net=None):
    """Logits of a loaded checkpoint on ``ds`` through its own preprocessing block."""
    import torch

    from ..preprocess import Preprocess
    from . import checkpoint
    from .datasets import predict_logits

    dev = torch.device(device)
    net = net if net is not None else checkpoint.build_model(ckpt)
    # NHWC, as the trainer runs: the same logits, 1.8x (Lite0 112 px) and 1.2x (ViT-M5 64 px)
    # the NCHW speed on a 2-core CPU (2026-12-08)
    net = net.to(dev).to(memory_format=torch.channels_last)
    return predict_logits(net, ds, Preprocess.from_dict(ckpt["preprocess"]), dev, batch_size=batch_size,
                          desc=_short(ckpt["path"]))


def _short(path):
    """``run/best.pt`` of a checkpoint's path: the progress bar's name for it."""
    return os.path.join(os.path.basename(os.path.dirname(os.path.abspath(path))), os.path.basename(path))


def evaluate_checkpoint(path, data, split, labels=None, ferplus_csv=None, out=None, allow_train_split=False,
                        batch_size=256, device="auto", say=None):
    """Evaluate a checkpoint on a named split: report to ``out`` (default
    RUN/eval/DATASET-LABELS-SPLIT), summary through ``say(line)`` (default: INFO on the
    ``edgefer.evaluation`` logger); returns the paths written."""
    import torch

    from . import checkpoint

    ckpt = checkpoint.load(path)
    info = dict(ckpt["data"], labels=ckpt["labels"]["names"])
    ds, m2d, names, n_dropped = evaluation.open_split(data, labels, ferplus_csv, split, info, allow_train_split)
    out = out or evaluation.default_out_dir(path, ds)
    check_writable(out, "--out")  # before the model runs
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    logits = checkpoint_logits(ckpt, ds, device, batch_size)
    context = {"model": ckpt["path"], "arch": ckpt["model"]["arch"]}
    _, paths = evaluation.evaluate(logits, ds, m2d, names, n_dropped, out, context, checkpoint_description(ckpt),
                                   say)
    return paths
