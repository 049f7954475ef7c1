"""Calibration sets for INT8: deterministic, class-balanced samples of the *training* split,
saved as lists of sample ids so a quantization can be reproduced (device side: numpy only).

File naming convention (see ``calibration/README.md``)::

    calibration/<dataset>-<label protocol>-<split>-balanced-n<N>-seed<S>.json

holding ``{"dataset", "data", "label_protocol", "split", "selection": "class-balanced",
"size", "seed", "ids", "ids_sha256", "class_counts"}``. An existing file of that name is
reused (and checked against the data), so every export with the same settings calibrates on
the same images.
"""

import hashlib
import os
from typing import Any, Dict, Iterable, Iterator, List, Sequence, Tuple

import numpy as np

from .. import jsonfile
from ..atomic import write_json
from ..data.base import FaceDataset
from ..preprocess import Preprocess
from ..data.splits import stratified_sample
from ..errors import EdgeferError


def ids_sha256(ids: Iterable[str]) -> str:
    """The sha256 of a list of sample ids (one a line), recorded beside the list."""
    return hashlib.sha256("\n".join(str(i) for i in ids).encode("utf-8")).hexdigest()


def list_name(dataset: FaceDataset, size: int, seed: int) -> str:
    """The file name of the list of ``size`` images drawn with ``seed`` from ``dataset``."""
    return "%s-%s-%s-balanced-n%d-seed%d.json" % (dataset.name, dataset.labels.name, dataset.split, size, seed)


def select(dataset: FaceDataset, size: int = 500, seed: int = 0, exclude_ids: Sequence[str] = ()) -> List[str]:
    """A class-balanced sample of ``size`` ids from ``dataset`` (a training split), leaving out
    ``exclude_ids`` (the validation slice used by the accuracy gate)."""
    if dataset.split != dataset.train_split:
        raise EdgeferError("calibration must come from the training split (%s), not %s: calibrating on an "
                           "evaluation split leaks it into the model" % (dataset.train_split, dataset.split))
    pool = np.arange(len(dataset))
    if len(exclude_ids):
        ex = set(str(i) for i in exclude_ids)
        pool = np.array([i for i in pool if dataset.ids[i] not in ex], dtype=np.int64)
    if size > len(pool):
        raise EdgeferError("--calib-size %d is larger than the %d training images available" % (size, len(pool)))
    picked = pool[stratified_sample(dataset.targets[pool], total=size, seed=seed)]
    return [dataset.ids[i] for i in picked]


def make_or_load(dataset: FaceDataset, folder: str, size: int = 500, seed: int = 0,
                 exclude_ids: Sequence[str] = ()) -> Tuple[str, Dict[str, Any]]:
    """The calibration list for these settings: loaded from ``folder`` if it exists there
    (and matches the data), else selected and saved. Returns (path, document)."""
    path = os.path.join(folder, list_name(dataset, size, seed))
    if os.path.isfile(path):
        doc = load(path)
        dataset.index_of(doc["ids"])  # every id must exist in this data
        if len(set(doc["ids"]) & set(str(i) for i in exclude_ids)):
            raise EdgeferError("%s overlaps the validation slice; delete it to select a new list" % path)
        return path, doc
    ids = select(dataset, size, seed, exclude_ids)
    counts = np.bincount(dataset.targets[dataset.index_of(ids)], minlength=len(dataset.labels))
    doc = {"dataset": dataset.name, "data": os.path.abspath(dataset.path), "label_protocol": dataset.labels.name,
           "split": dataset.split, "selection": "class-balanced", "size": len(ids), "seed": seed,
           "class_counts": dict(zip(dataset.labels.names, counts.tolist())), "ids_sha256": ids_sha256(ids),
           "ids": ids}
    write_json(path, doc)
    return path, doc


def load(path: str) -> Dict[str, Any]:
    """A calibration list read from ``path`` and checked (its ``ids`` against ``ids_sha256``)."""
    doc = jsonfile.read(path, "calibration list %s" % path)
    if not isinstance(doc, dict) or not isinstance(doc.get("ids"), list):
        raise EdgeferError("calibration list %s: expected a JSON object with an 'ids' list" % path)
    if doc.get("ids_sha256") and doc["ids_sha256"] != ids_sha256(doc["ids"]):
        raise EdgeferError("calibration list %s: ids_sha256 does not match its ids (edited by hand?)" % path)
    return doc


def batches(dataset: FaceDataset, ids: Sequence[str], preprocess: Preprocess, batch_size: int) -> Iterator[np.ndarray]:
    """Float32 N x 3 x H x W batches of the listed images through the shared preprocessing.

    The last batch is padded by repeating images when ``batch_size`` is fixed by the graph."""
    idx = dataset.index_of(ids)
    for s in range(0, len(idx), batch_size):
        chunk = idx[s:s + batch_size]
        x = dataset.inputs(chunk, preprocess)
        if len(chunk) < batch_size:
            x = np.concatenate([x, x[np.arange(batch_size - len(chunk)) % len(chunk)]])
        yield x
