"""The validation slice used for model selection: seeded, stratified, carved from the
training split, its ids saved with the run. Test splits are never used for selection."""

import numpy as np

from ..errors import EdgeferError


def stratified_split(targets, fraction=0.1, seed=0):
    """Split indices 0..N-1 into (train, val) with ``fraction`` of every class in val.

    Deterministic for a given (targets, fraction, seed); every class with at least two
    samples keeps at least one in each part. Returns two sorted int64 arrays."""
    targets = np.asarray(targets)
    if not 0.0 < fraction < 1.0:
        raise EdgeferError("--val-fraction: %r (expected a fraction between 0 and 1, e.g. 0.1)" % fraction)
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(targets):
        idx = np.flatnonzero(targets == c)
        idx = idx[rng.permutation(len(idx))]
        k = int(round(len(idx) * fraction))
        if len(idx) >= 2:
            k = min(max(k, 1), len(idx) - 1)
        val.append(idx[:k])
    val = np.sort(np.concatenate(val)) if val else np.zeros(0, np.int64)
    mask = np.ones(len(targets), bool)
    mask[val] = False
    return np.flatnonzero(mask).astype(np.int64), val.astype(np.int64)


def stratified_sample(targets, per_class=None, total=None, seed=0):
    """A class-balanced sample: ``per_class`` indices of each class (all of a class that has
    fewer), or ``total`` spread as evenly as the classes allow. Sorted int64 indices."""
    targets = np.asarray(targets)
    classes = np.unique(targets)
    if per_class is None:
        if total is None:
            raise ValueError("give per_class or total")
        counts = np.array([(targets == c).sum() for c in classes])
        # water-filling: small classes give all they have, the rest share what is left
        quota, left, open_ = np.zeros(len(classes), int), int(total), np.ones(len(classes), bool)
        while left > 0 and open_.any():
            share = max(1, left // int(open_.sum()))
            for j in np.flatnonzero(open_):
                take = min(share, counts[j] - quota[j], left)
                quota[j] += take
                left -= take
                if quota[j] >= counts[j]:
                    open_[j] = False
                if left == 0:
                    break
    else:
        quota = np.full(len(classes), int(per_class))
    rng = np.random.default_rng(seed)
    out = []
    for c, q in zip(classes, quota):
        idx = np.flatnonzero(targets == c)
        out.append(idx[rng.permutation(len(idx))[:q]])
    return np.sort(np.concatenate(out)).astype(np.int64)
