"""AffectNet, the official release (manually annotated part)::

    ROOT/
        training.csv, validation.csv        # or in ROOT/Manually_Annotated_file_lists/
        Manually_Annotated_Images/<subDirectory_filePath>   # e.g. 689/737db2...a0.jpg

The CSVs have the columns ``subDirectory_filePath,face_x,face_y,face_width,face_height,
facial_landmarks,expression,valence,arousal``; ``training.csv`` starts with that header,
``validation.csv`` of the release has none (both are accepted with or without it).
``expression`` 0-7 are the :data:`~edgefer.labels.AFFECTNET8` classes; 8-10 (none,
uncertain, non-face) are dropped, and contempt (7) too under ``affectnet7``.

The images are uncropped photographs: :meth:`AffectNetDataset.box` gives the annotated face
box and the caller crops (through :mod:`edgefer.preprocess`). ``validation.csv`` is the test
set of AffectNet (the real test set was never released), so its split is named ``val`` and
also answers to ``test``; model selection uses a slice of ``train``.
"""

import csv
import os

import numpy as np

from ..errors import DataFormatError, EdgeferError
from ..labels import AFFECTNET8, mapping, resolve_label_set
from .base import FaceDataset, read_image

HEADER = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks",
          "expression", "valence", "arousal"]
SPLITS = ("train", "val")
SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                 "test": "val"}
SPLIT_FILES = {"train": "training.csv", "val": "validation.csv"}
LIST_FOLDER = "Manually_Annotated_file_lists"
IMAGE_FOLDERS = ("Manually_Annotated_Images", os.path.join("Manually_Annotated", "Manually_Annotated_Images"))
EXPRESSIONS = ("Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Contempt", "None", "Uncertain",
               "Non-Face")


def canonical_split(split):
    try:
        return SPLIT_ALIASES[str(split).strip().lower()]
    except KeyError:
        raise EdgeferError(
            "--split: %r is not an AffectNet split (expected train, or val: validation.csv, AffectNet's test set)" % (split,)
        ) from None


def find_csv(root, split):
    """The CSV file of ``split`` under ``root`` (or its ``Manually_Annotated_file_lists``), or None."""
    name = SPLIT_FILES[split]
    for folder in (root, os.path.join(root, LIST_FOLDER)):
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            return p
    return None


def is_affectnet(path):
    """Whether ``path`` is an AffectNet release folder: ``training.csv`` or ``validation.csv``
    in it or in its ``Manually_Annotated_file_lists/``."""
    path = os.fspath(path)
    return os.path.isdir(path) and any(find_csv(path, s) is not None for s in SPLITS)


def read_affectnet_csv(path):
    """Parse a training.csv / validation.csv: (paths list[str], expression int64[N] 0-10,
    boxes float32[N, 4] as x0, y0, x1, y1). Image files are not checked here."""
    paths, expressions, boxes = [], [], []
    try:
        with open(path, "r", encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            first = True
            for row in reader:
                lineno = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if first:
                    first = False
                    if [c.strip() for c in row] == HEADER:
                        continue
                    if len(row) != len(HEADER) or not _is_int(row[6]):
                        # neither the header nor a data row: report the header that was expected
                        raise DataFormatError(
                            "%s line %d: header %r, expected '%s' (the AffectNet release format)"
                            % (path, lineno, ",".join(row)[:200], ",".join(HEADER))
                        )
                if len(row) != len(HEADER):
                    raise DataFormatError(
                        "%s line %d: %d columns, expected %d (%s)" % (path, lineno, len(row), len(HEADER), ",".join(HEADER))
                    )
                sub = row[0].strip()
                if not sub:
                    raise DataFormatError("%s line %d: empty subDirectory_filePath" % (path, lineno))
                try:
                    e = int(row[6])
                except ValueError:
                    raise DataFormatError(
                        "%s line %d: expression %r is not an integer 0-10" % (path, lineno, row[6])
                    ) from None
                if not 0 <= e <= 10:
                    raise DataFormatError("%s line %d: expression %d outside 0-10" % (path, lineno, e))
                try:
                    x, y, w, h = (float(v) for v in row[1:5])
                except ValueError:
                    raise DataFormatError(
                        "%s line %d: face box %r is not 4 numbers (face_x, face_y, face_width, face_height)"
                        % (path, lineno, row[1:5])
                    ) from None
                if not (w > 0 and h > 0):
                    raise DataFormatError(
                        "%s line %d: face box width %g, height %g (expected both > 0)" % (path, lineno, w, h)
                    )
                paths.append(sub.replace("\\", "/"))
                expressions.append(e)
                boxes.append((x, y, x + w, y + h))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataFormatError("%s: cannot read it as a CSV file: %s" % (path, exc)) from None
    return paths, np.asarray(expressions, np.int64), np.asarray(boxes, np.float32).reshape(-1, 4)


def _is_int(s):
    try:
        int(s)
        return True
    except ValueError:
        return False


class AffectNetDataset(FaceDataset):
    """One split of AffectNet (``train``: training.csv, ``val``: validation.csv).

    ``labels``: ``affectnet8`` (default), ``affectnet7`` (contempt dropped) or another
    protocol onto which the classes are mapped by name. :attr:`dropped` counts the rows of
    the split left out (expression 8-10, or a class the label set lacks)."""

    train_split = "train"

    def __init__(self, path, split="train", labels="affectnet8"):
        split = canonical_split(split)
        root = os.fspath(path)
        if not os.path.isdir(root):
            raise EdgeferError("--data: %s is not a folder (expected the AffectNet release folder)" % path)
        label_set = resolve_label_set(labels, AFFECTNET8)
        csv_path = find_csv(root, split)
        if csv_path is None:
            raise EdgeferError(
                "AffectNet: %s not found in %s or %s" % (SPLIT_FILES[split], root, os.path.join(root, LIST_FOLDER))
            )
        paths, expr, boxes = read_affectnet_csv(csv_path)
        if len(paths) == 0:
            raise EdgeferError("%s has no data rows (split %s is empty)" % (csv_path, split))
        m = np.full(11, -1, np.int64)
        m[:8] = mapping(AFFECTNET8, label_set)
        targets = m[expr]
        keep = np.flatnonzero(targets >= 0)
        self.dropped = int(len(expr) - len(keep))
        if len(keep) == 0:
            raise EdgeferError(
                "%s: no row of split %s has an expression of label set %s (%s)"
                % (csv_path, split, label_set.name, ", ".join(label_set.names))
            )
        FaceDataset.__init__(self, "affectnet", path, label_set, split, [paths[k] for k in keep], targets[keep])
        self.root = root
        self.csv_path = csv_path
        self._boxes = boxes[keep]
        self.image_root = root
        for folder in IMAGE_FOLDERS:
            if os.path.isdir(os.path.join(root, folder)):
                self.image_root = os.path.join(root, folder)
                break

    def box(self, i):
        """The annotated face box (x0, y0, x1, y1) of sample ``i``, in pixels of the full image."""
        b = self._boxes[i]
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))

    def boxes(self):
        """All face boxes of the split, float32 (N, 4) as (x0, y0, x1, y1)."""
        return self._boxes

    def image_path(self, i):
        """The image file of sample ``i``: under the images folder, else directly under the root."""
        parts = self.ids[i].split("/")
        p = os.path.join(self.image_root, *parts)
        if self.image_root != self.root and not os.path.isfile(p):
            q = os.path.join(self.root, *parts)
            if os.path.isfile(q):
                return q
        return p

    def _load(self, i):
        return read_image(self.image_path(i), "AffectNet image")
