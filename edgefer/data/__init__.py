"""Data set readers (numpy only; OpenCV is imported lazily to decode image files).

One entry point for every command: :func:`open_dataset` takes ``--data PATH`` (a file or
folder in the data set's native format), ``--labels`` (label protocol) and ``--split``::

    from edgefer.data import open_dataset
    ds = open_dataset("fer2013.csv.gz", labels="ferplus", split="PublicTest")
    img, y = ds.image(0), ds.targets[0]

Formats, detected from the path:

============  ==================================================  =========================
format        ``--data``                                          splits
============  ==================================================  =========================
fer2013       ``fer2013.csv`` / ``.csv.gz`` (FER+ labels from      Training, PublicTest,
              ``fer2013new.csv`` beside it)                        PrivateTest
rafdb         RAF-DB ``basic/`` folder (``EmoLabel/``, ``Image/``)   train, test
affectnet     AffectNet release folder (``training.csv``,           train, val
              ``validation.csv``, ``Manually_Annotated_Images/``)
folder        ``ROOT/[SPLIT/]CLASS/*.jpg`` class-per-folder tree    the SPLIT folder names
============  ==================================================  =========================
"""

import os

from ..errors import EdgeferError
from .base import FaceDataset, read_image

FORMATS = ("fer2013", "rafdb", "affectnet", "folder")


def detect_format(path):
    """The format of ``--data PATH`` (see the table above)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise EdgeferError("--data: %s does not exist" % path)
    if os.path.isfile(path):
        low = path.lower()
        if low.endswith(".csv") or low.endswith(".csv.gz"):
            return "fer2013"
        raise EdgeferError(
            "--data: %s is a file but not a .csv/.csv.gz (expected fer2013.csv, or a data set folder)" % path
        )
    from . import affectnet, rafdb

    if rafdb.is_rafdb(path):
        return "rafdb"
    if affectnet.is_affectnet(path):
        return "affectnet"
    return "folder"


def open_dataset(path, labels=None, split=None, fmt=None, **options):
    """Open one split of a data set. ``labels`` defaults to the data set's own protocol
    (``fer2013``, ``rafdb``, ``affectnet8``; a folder's class names), ``split`` to its training
    split. ``options`` go to the reader (e.g. ``ferplus_csv=`` for FER2013)."""
    fmt = fmt or detect_format(path)
    if fmt == "fer2013":
        from .fer2013 import FER2013Dataset

        return FER2013Dataset(path, split or "Training", labels or "fer2013", **options)
    if fmt == "rafdb":
        from .rafdb import RAFDBDataset

        return RAFDBDataset(path, split or "train", labels or "rafdb", **options)
    if fmt == "affectnet":
        from .affectnet import AffectNetDataset

        return AffectNetDataset(path, split or "train", labels or "affectnet8", **options)
    if fmt == "folder":
        from .folder import FolderDataset

        return FolderDataset(path, split, labels, **options)
    raise EdgeferError("unknown data format %r (expected one of %s)" % (fmt, ", ".join(FORMATS)))


__all__ = ["FaceDataset", "open_dataset", "detect_format", "read_image", "FORMATS"]
