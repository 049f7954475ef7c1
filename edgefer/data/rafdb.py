"""RAF-DB "basic" (Real-world Affective Faces), in the layout it is downloaded in::

    basic/
        EmoLabel/list_patition_label.txt    # "train_00001.jpg 5", "test_0001.jpg 7", ...
        Image/aligned/train_00001_aligned.jpg   # 100x100 aligned faces
        Image/original/train_00001.jpg          # the uncropped photographs

``--data`` is the ``basic`` folder or a folder holding ``basic/``. Labels 1-7 of the list
(surprise, fear, disgust, happiness, sadness, anger, neutral) are stored as 0-6 in the
:data:`~edgefer.labels.RAFDB` order. The split (``train``/``test``) comes from the file-name
prefix. Sample ids are image paths relative to the ``basic`` folder, with ``/`` separators
(``Image/aligned/train_00001_aligned.jpg``), so they do not depend on which of the two
folders ``--data`` named.
"""

import os

import numpy as np

from ..errors import DataFormatError, EdgeferError
from ..labels import RAFDB, mapping, resolve_label_set
from .base import FaceDataset, read_image

SPLITS = ("train", "test")
SPLIT_ALIASES = {"train": "train", "training": "train", "test": "test", "testing": "test"}
LABEL_FILE = os.path.join("EmoLabel", "list_patition_label.txt")
IMAGE_FOLDERS = ("aligned", "original")


def canonical_split(split):
    try:
        return SPLIT_ALIASES[str(split).strip().lower()]
    except KeyError:
        raise EdgeferError("--split: %r is not a RAF-DB split (expected one of %s)" % (split, ", ".join(SPLITS))) from None


def _looks_like_basic(path):
    return os.path.isdir(os.path.join(path, "EmoLabel")) or any(
        os.path.isdir(os.path.join(path, "Image", f)) for f in IMAGE_FOLDERS
    )


def find_root(path):
    """The RAF-DB ``basic`` folder at or just under ``path``, or None."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        return None
    if _looks_like_basic(path):
        return path
    sub = os.path.join(path, "basic")
    if os.path.isdir(sub) and _looks_like_basic(sub):
        return sub
    return None


def is_rafdb(path):
    """Whether ``path`` is a RAF-DB ``basic`` folder (or holds one): it has ``EmoLabel/`` or
    ``Image/aligned|original/``."""
    return find_root(path) is not None


def read_partition_labels(path):
    """Parse ``list_patition_label.txt``: (file names list[str], labels int64[N] in 1-7)."""
    if not os.path.isfile(path):
        raise EdgeferError(
            "RAF-DB label file %s is missing (expected EmoLabel/list_patition_label.txt in the 'basic' folder, "
            "with lines like 'train_00001.jpg 5')" % path
        )
    names, labels, seen = [], [], {}
    try:
        with open(path, "r", encoding="utf-8-sig") as f:
            for lineno, line in enumerate(f, start=1):
                fields = line.split()
                if not fields:
                    continue
                if len(fields) != 2:
                    raise DataFormatError(
                        "%s line %d: %d fields, expected 2: '<train_NNNNN.jpg|test_NNNN.jpg> <label 1-7>'"
                        % (path, lineno, len(fields))
                    )
                name, lab = fields
                if not (name.startswith("train_") or name.startswith("test_")):
                    raise DataFormatError(
                        "%s line %d: file name %r does not start with 'train_' or 'test_'" % (path, lineno, name)
                    )
                try:
                    y = int(lab)
                except ValueError:
                    raise DataFormatError("%s line %d: label %r is not an integer 1-7" % (path, lineno, lab)) from None
                if not 1 <= y <= 7:
                    raise DataFormatError(
                        "%s line %d: label %d outside 1-7 (surprise, fear, disgust, happiness, sadness, anger, neutral)"
                        % (path, lineno, y)
                    )
                if name in seen:
                    raise DataFormatError("%s line %d: %s is listed again (first on line %d)" % (path, lineno, name, seen[name]))
                seen[name] = lineno
                names.append(name)
                labels.append(y)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError("%s: cannot read it as a text file: %s" % (path, exc)) from None
    if not names:
        raise DataFormatError("%s is empty (expected lines like 'train_00001.jpg 5')" % path)
    return names, np.asarray(labels, np.int64)


class RAFDBDataset(FaceDataset):
    """One split of RAF-DB basic (``train``: 12,271 images, ``test``: 3,068).

    ``images`` picks ``aligned`` (100x100 faces; falls back to ``original`` when
    ``Image/aligned/`` is missing) or ``original``; :attr:`image_folder` says which is used.
    ``labels`` is ``rafdb`` or another protocol, onto which the RAF-DB classes are mapped
    by name (classes it lacks are dropped; :attr:`dropped` counts the images dropped)."""

    train_split = "train"

    def __init__(self, path, split="train", labels="rafdb", images="aligned"):
        split = canonical_split(split)
        if images not in IMAGE_FOLDERS:
            raise EdgeferError("RAF-DB images: %r (expected 'aligned' or 'original')" % (images,))
        root = find_root(path)
        if root is None:
            raise EdgeferError(
                "--data: %s is not a RAF-DB 'basic' folder (expected EmoLabel/list_patition_label.txt and "
                "Image/aligned/ in it, or in a 'basic' folder in it)" % path
            )
        label_set = resolve_label_set(labels, RAFDB)
        label_file = os.path.join(root, LABEL_FILE)
        names, raw = read_partition_labels(label_file)

        folder = images
        if folder == "aligned" and not os.path.isdir(os.path.join(root, "Image", "aligned")):
            folder = "original"
        if not os.path.isdir(os.path.join(root, "Image", folder)):
            raise EdgeferError(
                "RAF-DB: %s is missing (expected the images in Image/%s/ of %s)"
                % (os.path.join(root, "Image", folder), folder, root)
            )

        rows = [k for k, n in enumerate(names) if n.startswith(split + "_")]
        if not rows:
            raise EdgeferError("%s has no %s images (no line starts with '%s_')" % (label_file, split, split))
        rows = np.asarray(rows, np.int64)
        targets = raw[rows] - 1  # 1-7 -> 0-6, RAFDB order
        m = mapping(RAFDB, label_set)
        targets = m[targets]
        keep = targets >= 0
        self.dropped = int((~keep).sum())
        rows, targets = rows[keep], targets[keep]
        if len(rows) == 0:
            raise EdgeferError(
                "%s: no %s image has a class of label set %s (%s)"
                % (label_file, split, label_set.name, ", ".join(label_set.names))
            )
        ids = []
        for k in rows:
            name = names[k]
            if folder == "aligned":
                stem, ext = os.path.splitext(name)
                ids.append("Image/aligned/%s_aligned%s" % (stem, ext))
            else:
                ids.append("Image/original/%s" % name)
        FaceDataset.__init__(self, "rafdb", path, label_set, split, ids, targets)
        self.root = root
        self.image_folder = folder
        self.label_file = label_file

    def _load(self, i):
        return read_image(os.path.join(self.root, *self.ids[i].split("/")), "RAF-DB image")
