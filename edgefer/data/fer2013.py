"""FER2013 (Kaggle ``fer2013.csv`` / ``.csv.gz``) and its FER+ relabelling (``fer2013new.csv``).

Sample ids are the 0-based data-row index in ``fer2013.csv`` (header excluded), which is
also the row index in ``fer2013new.csv``.
"""

import csv
import gzip
import hashlib
import io
import os

import numpy as np

from ..atomic import atomic_path
from ..cache import cache_dir
from ..errors import DataFormatError, EdgeferError
from ..labels import FER2013, FERPLUS
from .base import FaceDataset

SPLITS = ("Training", "PublicTest", "PrivateTest")
SPLIT_ALIASES = {"train": "Training", "training": "Training", "publictest": "PublicTest", "valid": "PublicTest",
                 "fer2013valid": "PublicTest", "privatetest": "PrivateTest", "test": "PrivateTest",
                 "fer2013test": "PrivateTest"}
FERPLUS_FILE = "fer2013new.csv"
FERPLUS_HEADER = ["Usage", "Image name", "neutral", "happiness", "surprise", "sadness", "anger", "disgust",
                  "fear", "contempt", "unknown", "NF"]
_PIXELS = 48 * 48
_CACHE = {}


def canonical_split(split):
    if split in SPLITS:
        return split
    try:
        return SPLIT_ALIASES[str(split).lower()]
    except KeyError:
        raise EdgeferError("--split: %r is not a FER2013 split (expected one of %s)" % (split, ", ".join(SPLITS))) from None


def _open_text(path):
    if str(path).endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, "r", encoding="utf-8", newline="")


def read_fer2013_csv(path):
    """Parse a whole fer2013.csv: (emotion int64[N], usage list[str], pixels uint8[N,48,48]).

    Parsing 35,887 text rows takes 7-10 s on a 2-core machine, so the decoded arrays are
    kept in memory for the process and on disk under ``~/.cache/edgefer/fer2013/`` (keyed
    by the file's absolute path, size and modification time; written atomically)."""
    if not os.path.isfile(path):
        raise EdgeferError("--data: %s does not exist (expected fer2013.csv or fer2013.csv.gz)" % path)
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if key in _CACHE:
        return _CACHE[key]
    cache_file = os.path.join(cache_dir("fer2013"), hashlib.sha256(repr(key).encode()).hexdigest()[:24] + ".npz")
    if os.path.isfile(cache_file):
        try:
            with np.load(cache_file) as z:
                out = (z["emotion"], [str(u) for u in z["usage"]], z["pixels"])
            _CACHE.clear()
            _CACHE[key] = out
            return out
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is re-parsed and rewritten
    emotions, usages, pixels = [], [], []
    try:
        with _open_text(path) as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or [h.strip() for h in header[:3]] != ["emotion", "pixels", "Usage"]:
                raise DataFormatError(
                    "%s line 1: header %r, expected 'emotion,pixels,Usage' (the Kaggle fer2013.csv format)" % (path, header)
                )
            for lineno, row in enumerate(reader, start=2):
                if len(row) < 3:
                    raise DataFormatError("%s line %d: %d columns, expected 3 (emotion,pixels,Usage)" % (path, lineno, len(row)))
                try:
                    emo = int(row[0])
                except ValueError:
                    raise DataFormatError("%s line %d: emotion %r is not an integer 0-6" % (path, lineno, row[0])) from None
                if not 0 <= emo <= 6:
                    raise DataFormatError("%s line %d: emotion %d outside 0-6" % (path, lineno, emo))
                try:
                    px = np.array(row[1].split(), dtype=np.int64) if row[1] else np.zeros(0, np.int64)
                except (ValueError, OverflowError):
                    raise DataFormatError("%s line %d: pixels are not space-separated integers 0-255" % (path, lineno)) \
                        from None
                if px.size != _PIXELS or px.min() < 0 or px.max() > 255:
                    raise DataFormatError(
                        "%s line %d: %d pixel values, expected 2304 (48x48) integers 0-255" % (path, lineno, px.size)
                    )
                usage = row[2].strip()
                if usage not in SPLITS:
                    raise DataFormatError("%s line %d: Usage %r, expected one of %s" % (path, lineno, usage, ", ".join(SPLITS)))
                emotions.append(emo)
                usages.append(usage)
                pixels.append(px.astype(np.uint8))
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise DataFormatError("%s: cannot read it as a (gzipped) CSV file: %s" % (path, exc)) from None
    out = (np.asarray(emotions, np.int64), usages, np.stack(pixels).reshape(-1, 48, 48) if pixels else np.zeros((0, 48, 48), np.uint8))
    with atomic_path(cache_file) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, emotion=out[0], usage=np.asarray(usages), pixels=out[2])
    _CACHE.clear()
    _CACHE[key] = out
    return out


def _ferplus_row(path, lineno, row):
    """One row of fer2013new.csv -> (usage, image name, 10 vote counts), or a clear error."""
    if len(row) != 12:
        raise DataFormatError("%s line %d: %d columns, expected 12" % (path, lineno, len(row)))
    try:
        v = [int(x) for x in row[2:]]
    except ValueError:
        raise DataFormatError("%s line %d: vote counts %r are not integers" % (path, lineno, row[2:])) from None
    if min(v) < 0 or max(v) > 1000:
        raise DataFormatError("%s line %d: vote counts %r, expected integers 0-1000" % (path, lineno, row[2:]))
    return row[0].strip(), row[1].strip(), v


def read_ferplus_votes(path, n_rows):
    """Parse fer2013new.csv: (usage list[str], image names list[str], votes int64[N, 10])."""
    if not os.path.isfile(path):
        raise EdgeferError(
            "--labels ferplus needs %s beside the FER2013 CSV (from github.com/microsoft/FERPlus, or pass --ferplus-csv)" % path
        )
    usages, names, votes = [], [], []
    try:
        with open(path, "r", encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or [h.strip() for h in header] != FERPLUS_HEADER:
                raise DataFormatError("%s line 1: header %r, expected %s" % (path, header, ",".join(FERPLUS_HEADER)))
            for lineno, row in enumerate(reader, start=2):
                usage, name, v = _ferplus_row(path, lineno, row)
                usages.append(usage)
                names.append(name)
                votes.append(v)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataFormatError("%s: cannot read it as a CSV file: %s" % (path, exc)) from None
    if len(votes) != n_rows:
        raise DataFormatError(
            "%s has %d rows but the FER2013 CSV has %d: row i of one must be row i of the other" % (path, len(votes), n_rows)
        )
    return usages, names, np.asarray(votes, np.int64).reshape(-1, 10)


def ferplus_majority(votes, names):
    """The FER+ reference code's "majority" protocol.

    Votes of 1 are set to 0 (outlier removal); a row is kept only if it is a face (non-empty
    image name), its top class holds more than half of the remaining votes, and that class is
    one of the 8 emotions (not ``unknown``/``NF``). Returns (keep mask, hard label in FER+
    order, vote distribution over the 8 emotions after outlier removal)."""
    v = votes.astype(np.float64).copy()
    v[v == 1] = 0
    total = v.sum(axis=1)
    top = v.argmax(axis=1)
    top_votes = v.max(axis=1)
    is_face = np.array([bool(n) for n in names])
    keep = is_face & (total > 0) & (top_votes > total / 2.0) & (top < 8)
    emo = v[:, :8]
    s = emo.sum(axis=1, keepdims=True)
    dist = np.divide(emo, s, out=np.zeros_like(emo), where=s > 0).astype(np.float32)
    return keep, top.astype(np.int64), dist


class FER2013Dataset(FaceDataset):
    """One split of FER2013, with ``fer2013`` (7 classes) or ``ferplus`` (8, majority) labels."""

    train_split = "Training"

    def __init__(self, path, split="Training", labels="fer2013", ferplus_csv=None):
        split = canonical_split(split)
        emotions, usages, pixels = read_fer2013_csv(path)
        usage = np.asarray(usages)
        rows = np.flatnonzero(usage == split)
        soft = None
        if labels == "fer2013":
            targets, label_set = emotions[rows], FER2013
        elif labels == "ferplus":
            ferplus_csv = ferplus_csv or os.path.join(os.path.dirname(os.path.abspath(path)), FERPLUS_FILE)
            fp_usage, names, votes = read_ferplus_votes(ferplus_csv, len(emotions))
            keep, top, dist = ferplus_majority(votes, names)
            rows = rows[keep[rows]]
            targets, soft, label_set = top[rows], dist[rows], FERPLUS
        else:
            raise EdgeferError("--labels: FER2013 data takes 'fer2013' or 'ferplus', not %r" % labels)
        if len(rows) == 0:
            raise EdgeferError("%s has no %s rows (Kaggle's fer2013.csv has Training, PublicTest and PrivateTest)" % (path, split))
        FaceDataset.__init__(self, "fer2013", path, label_set, split, [str(r) for r in rows], targets, soft)
        self._pixels = pixels
        self._rows = rows

    def _load(self, i):
        return self._pixels[self._rows[i]]

    def images(self):
        """All images of the split as one uint8 array (N, 48, 48), without copying per sample."""
        return self._pixels[self._rows]
