"""Any class-per-folder tree of face images::

    ROOT/CLASS/*.jpg            (no splits: the split is "all")
    ROOT/SPLIT/CLASS/*.jpg      (e.g. train/, test/, val/; --split picks one)

Images: ``.jpg .jpeg .png .bmp .webp`` (any case), also in sub-folders of a class folder.
Class folders are emotion names in any of their usual spellings (``anger``/``angry``,
``happiness``/``happy``, ...; see :data:`edgefer.labels.ALIASES`), or numbers ``0``, ``1``,
... that index a label protocol given with ``labels`` (as in the AffectNet/FER folder copies:
``labels="affectnet8"``). ROOT has split folders when its sub-folders are not class names
and hold folders with images.

Without ``labels`` the label set is the known protocol whose classes are exactly the classes
found (the first of ``fer2013, ferplus, rafdb, affectnet7, affectnet8`` that matches, so 7
classes give ``fer2013``'s order and 8 give ``ferplus``'s), else a ``custom`` set in canonical
order. With split folders the classes are collected over all splits, so every split of a
tree gets the same label set. Sample ids are paths relative to ROOT with ``/`` separators
(``train/happy/001.jpg``), sorted.
"""

import os

import numpy as np

from ..errors import EdgeferError
from ..labels import AFFECTNET7, AFFECTNET8, ALIASES, CANONICAL, LABEL_SETS, LabelSet, canonical_name, resolve_label_set
from .base import FaceDataset, read_image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
SPLIT_GROUPS = (("train", "training"), ("val", "valid", "validation", "dev"), ("test", "testing"))
ALL = "all"


def _skip(name):
    return name.startswith(".") or name in ("__MACOSX", "__pycache__")


def _is_image(name):
    return name.lower().endswith(IMAGE_EXTENSIONS) and not _skip(name)


def _subdirs(path):
    out = []
    with os.scandir(path) as it:
        for e in it:
            if not _skip(e.name) and e.is_dir():
                out.append(e.name)
    return sorted(out)


def _image_files(path):
    """Image files directly in ``path`` (names, sorted)."""
    out = []
    with os.scandir(path) as it:
        for e in it:
            if _is_image(e.name) and e.is_file():
                out.append(e.name)
    return sorted(out)


def _walk(path):
    """``os.walk`` that follows links to folders but enters each real folder once: a link
    loop (``a/b -> ..``) or two links to one folder would repeat its images."""
    seen = set()
    for dirpath, dirnames, filenames in os.walk(path, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames[:] = [d for d in dirnames if not _skip(d)]
        yield dirpath, dirnames, filenames


def _has_images(path):
    """Whether ``path`` holds an image file, at any depth (stops at the first)."""
    return any(any(_is_image(f) for f in filenames) for _, _, filenames in _walk(path))


def _walk_images(path):
    """Paths of all images under ``path``, relative to it with ``/`` separators."""
    out = []
    for dirpath, _, filenames in _walk(path):
        rel = os.path.relpath(dirpath, path)
        prefix = "" if rel == os.curdir else rel.replace(os.sep, "/") + "/"
        out.extend(prefix + f for f in filenames if _is_image(f))
    return out


def _is_number(name):
    s = name.strip()
    return bool(s) and all(ch in "0123456789" for ch in s)


def _is_class_name(name):
    return _is_number(name) or canonical_name(name) is not None


def has_split_folders(root):
    """Whether ``root`` is ``ROOT/SPLIT/CLASS/...``: none of its folders is a class name and
    some hold folders with images."""
    subs = _subdirs(root)
    if not subs or any(_is_class_name(s) for s in subs):
        return False
    return any(_has_images(os.path.join(root, s, c)) for s in subs for c in _subdirs(os.path.join(root, s)))


def split_folders(root):
    """The split folders of ``root`` (those holding class folders with images), sorted."""
    return [s for s in _subdirs(root)
            if any(_has_images(os.path.join(root, s, c)) for c in _subdirs(os.path.join(root, s)))]


def _accepted():
    return "emotion names (%s, or %s) or numbers with --labels" % (
        ", ".join(CANONICAL), ", ".join(sorted(set(ALIASES) - set(CANONICAL))))


def _numbering(label_set):
    """The label set whose indices number the folders of ``label_set`` (AffectNet's 0-7 for
    affectnet7, so that folder ``7``, contempt, is dropped rather than refused)."""
    return AFFECTNET8 if label_set is AFFECTNET7 or label_set.name == "affectnet7" else label_set


def _folder_class(folder, name, label_set):
    """The canonical class of class folder ``name`` (None: a class the numbering drops),
    or an error naming the folder and the accepted names."""
    s = name.strip()
    if _is_number(s):
        if label_set is None:
            raise EdgeferError(
                "class folder %s is numbered: pass --labels to say what the numbers mean "
                "(e.g. affectnet8 for the AffectNet folder copies, fer2013 for FER2013's)" % folder
            )
        numbering = _numbering(label_set)
        k = int(s)
        if k < len(numbering):
            return numbering.names[k]
        if numbering is AFFECTNET8 and k <= 10:
            return None  # AffectNet 8-10: none, uncertain, non-face
        raise EdgeferError(
            "class folder %s: %d is not a class index of label set %s (0-%d: %s)"
            % (folder, k, numbering.name, len(numbering) - 1, ", ".join(numbering.names))
        )
    c = canonical_name(s)
    if c is None:
        raise EdgeferError("folder %s is not a class folder: expected %s" % (folder, _accepted()))
    return c


def _classes(root, label_set):
    """{class folder name: canonical class or None} for the class folders of ``root``, with
    an error for a folder that is not a class, two folders of one class, or stray images."""
    out, by_class = {}, {}
    for name in _subdirs(root):
        folder = os.path.join(root, name)
        if not _is_class_name(name) and not _has_images(folder):
            continue  # an empty folder that is not a class (e.g. an emptied "unknown/") is no data
        c = _folder_class(folder, name, label_set)
        if c is not None and c in by_class:
            raise EdgeferError(
                "folders %s and %s are both class %s: merge them or remove one"
                % (os.path.join(root, by_class[c]), folder, c)
            )
        if c is not None:
            by_class[c] = name
        out[name] = c
    stray = _image_files(root)
    if stray:
        raise EdgeferError(
            "%s: image %s is not in a class folder (expected %s/CLASS/*.jpg with CLASS one of %s)"
            % (root, stray[0], root, _accepted())
        )
    return out


def _match_split(split, names):
    """The folder of ``names`` that ``split`` names (case-insensitive; train/training,
    val/valid/validation, test/testing are the same), or None."""
    low = str(split).strip().lower()
    for n in names:
        if n.lower() == low:
            return n
    for group in SPLIT_GROUPS:
        if low in group:
            for n in names:
                if n.lower() in group:
                    return n
    return None


def _found_label_set(classes):
    """The label set of the classes found: a known protocol with exactly these classes
    (first in LABEL_SETS order), else a custom set in canonical order."""
    found = set(classes)
    for s in LABEL_SETS.values():
        if set(s.names) == found and len(s.names) == len(found):
            return s
    return LabelSet("custom", [c for c in CANONICAL if c in found],
                    "classes of a class-per-folder tree")


class FolderDataset(FaceDataset):
    """One split of a class-per-folder tree (see the module docstring).

    Attributes beyond :class:`FaceDataset`'s: :attr:`root`, :attr:`splits` (the split
    folder names, or ``[]``), :attr:`class_folders` ({folder name: canonical class or None}
    of this split), :attr:`dropped` (images of this split in classes that the label set
    lacks) and :attr:`dropped_classes`."""

    def __init__(self, path, split=None, labels=None):
        root = os.fspath(path)
        if not os.path.isdir(root):
            raise EdgeferError("--data: %s is not a folder (expected ROOT/CLASS/*.jpg or ROOT/SPLIT/CLASS/*.jpg)" % path)
        given = resolve_label_set(labels)
        self.splits, folder, self.train_split, split_dirs, split_dir, prefix = _layout(root, split)
        label_set, class_folders = _label_set_and_classes(root, given, split_dirs, split_dir)
        ids, targets, self.dropped, self.dropped_classes = _samples(split_dir, prefix, class_folders, label_set)
        order = sorted(range(len(ids)), key=ids.__getitem__)
        FaceDataset.__init__(self, "folder", path, label_set, folder, [ids[k] for k in order],
                             np.asarray(targets, np.int64)[order] if order else [])
        self.root = root
        self.class_folders = class_folders

    def _load(self, i):
        return read_image(os.path.join(self.root, *self.ids[i].split("/")))


def _layout(root, split):
    """Where ``split`` of the tree at ``root`` is: ``(splits, folder, train_split, split_dirs,
    split_dir, prefix)``, the split folders (``[]`` without), the split's name, the training
    split's, the folders that hold class folders, the split's folder and its ids' prefix."""
    if not has_split_folders(root):
        if split is not None and str(split).strip().lower() != ALL:
            raise EdgeferError(
                "--split: %s has no split folders (ROOT/CLASS/*.jpg), so the split is '%s', not %r"
                % (root, ALL, split)
            )
        return [], ALL, ALL, [root], root, ""
    splits = split_folders(root)
    if split is None:
        folder = _match_split("train", splits)
        if folder is None:
            if len(splits) != 1:
                raise EdgeferError(
                    "%s has split folders %s but none named train/training: pass --split"
                    % (root, ", ".join(splits))
                )
            folder = splits[0]
    else:
        folder = _match_split(split, splits)
        if folder is None:
            raise EdgeferError(
                "--split: %r is not a split folder of %s (it has %s)" % (split, root, ", ".join(splits))
            )
    return (splits, folder, _match_split("train", splits), [os.path.join(root, s) for s in splits],
            os.path.join(root, folder), folder + "/")


def _label_set_and_classes(root, given, split_dirs, split_dir):
    """The label set (``given``, else the one of the classes found over every split, so that
    all splits of a tree share one) and the split's {class folder: class or None}."""
    found, folders_of = set(), {}
    for d in split_dirs:
        cls = _classes(d, given)
        for name, c in cls.items():
            if c is not None:
                found.add(c)
                folders_of.setdefault(c, []).append(os.path.join(d, name))
        if d == split_dir:
            class_folders = cls
    if given is not None:
        return given, class_folders
    _refuse_empty_classes(found, folders_of)
    if found:
        return _found_label_set(found), class_folders
    raise EdgeferError("%s has no class folders (expected ROOT/CLASS/*.jpg or ROOT/SPLIT/CLASS/*.jpg)" % root)


def _refuse_empty_classes(found, folders_of):
    """A class whose folders hold no image in any split would still choose the label set
    (an empty ``contempt/`` turns 7 classes into FER+'s 8): refuse it, naming the folder."""
    for c in sorted(found):
        if not any(_has_images(f) for f in folders_of[c]):
            raise EdgeferError("class folder %s holds no images: add images or remove it (as it is, it makes the label "
                               "set %s instead of %s), or pass --labels"
                               % (folders_of[c][0], _found_label_set(found).name, _found_label_set(found - {c}).name))


def _samples(split_dir, prefix, class_folders, label_set):
    """The split's ids and targets, and the images (and class folders) the label set lacks."""
    ids, targets = [], []
    dropped, dropped_classes = 0, []
    for name in sorted(class_folders):
        c = class_folders[name]
        files = _walk_images(os.path.join(split_dir, name))
        if c is None or c not in label_set.names:
            dropped += len(files)
            if files:
                dropped_classes.append(name)
            continue
        y = label_set.names.index(c)
        ids.extend(prefix + name + "/" + f for f in files)
        targets.extend([y] * len(files))
    if not ids:
        raise EdgeferError(
            "%s: no images of label set %s (%s) in its class folders%s"
            % (split_dir, label_set.name, ", ".join(label_set.names),
               " (%d dropped, in %s)" % (dropped, ", ".join(dropped_classes)) if dropped else "")
        )
    return ids, targets, dropped, dropped_classes
