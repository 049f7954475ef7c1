"""Losses and class weights."""

import numpy as np
import torch
import torch.nn.functional as F

CLASS_WEIGHTS = ("none", "balanced", "sqrt")


def class_weights(counts, mode):
    """Per-class loss weights from training-class counts.

    ``balanced``: n / (C * n_c) (scikit-learn's "balanced"); ``sqrt``: its square root, a
    milder correction; ``none``: all ones. Classes absent from training get weight 0."""
    counts = np.asarray(counts, np.float64)
    if mode == "none":
        w = np.ones_like(counts)
    elif mode in ("balanced", "sqrt"):
        present = counts > 0
        w = np.zeros_like(counts)
        w[present] = counts.sum() / (present.sum() * counts[present])
        if mode == "sqrt":
            w = np.sqrt(w)
    else:
        raise ValueError("unknown class weighting %r" % mode)
    return w.astype(np.float32)


def soft_cross_entropy(logits, target, weight=None):
    """Cross-entropy against target distributions, optionally class-weighted.

    loss = sum_i sum_c w_c y_ic (-log p_ic) / sum_i sum_c w_c y_ic.
    With one-hot targets this is exactly ``F.cross_entropy(logits, y, weight=w)`` (the
    weighted mean); it also takes label-smoothed, mixed-up and soft (FER+ vote) targets,
    which ``F.cross_entropy``'s weighting does not normalise this way."""
    logp = F.log_softmax(logits.float(), dim=1)
    yw = target if weight is None else target * weight
    return -(yw * logp).sum() / yw.sum().clamp_min(1e-12)


def mixup(x, y, alpha, rng):
    """Mixup (Zhang et al., ICLR 2018): blend each sample and its target with another's.

    Written here rather than using ``timm.data.Mixup`` because that one takes class indices
    and builds its own one-hot targets; ours mixes any target distribution (FER+ votes,
    smoothed labels). ``rng`` is a numpy Generator, so a seeded epoch mixes the same way
    after a resume."""
    if alpha <= 0:
        return x, y
    lam = float(rng.beta(alpha, alpha))
    perm = torch.from_numpy(rng.permutation(x.shape[0])).to(x.device)
    return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]
