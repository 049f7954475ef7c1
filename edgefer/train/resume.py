"""What ``edgefer train`` runs: a new run from its options, or a run folder continued.

A run continues from its ``last.pt`` (written atomically at the end of every epoch). A run
killed before its first ``last.pt`` was complete has only ``config.json``: it starts again
from that config, which is the same run (the seeds are in it), instead of being refused.
"""

import logging
import os
from typing import Dict, Iterable, Optional, Tuple

from ..atomic import check_writable
from ..errors import EdgeferError
from . import checkpoint

log = logging.getLogger(__name__)

# Options a continued run may change; the others are the run's and stay as they were.
RESUME_OVERRIDES = ("epochs", "stop_after", "max_steps", "workers", "device", "compile")


def run(data: Optional[str] = None, resume: Optional[str] = None, given: Iterable[str] = (), progress: bool = True,
        **options) -> str:
    """Train (``data`` and ``options``: :class:`TrainConfig` fields) or continue the run at
    ``resume`` (its folder or ``last.pt``; of ``options`` only those named in ``given`` and
    in :data:`RESUME_OVERRIDES` apply). Returns the best checkpoint's path."""
    from .loop import TrainConfig, train

    check_inputs(data, resume)
    if resume:
        cfg, state = continued(resume, {k: options[k] for k in given if k in RESUME_OVERRIDES and k in options})
    else:
        cfg, state = TrainConfig(data=data, **options), None
        check_writable(cfg.out, "--out")  # before minutes of data loading
    return train(cfg, resume=state, progress=progress)


def check_inputs(data: Optional[str], resume: Optional[str]) -> None:
    """The data set or the run to continue exists, checked before the training stack is
    imported (seconds on a small CPU): a wrong path is refused at once."""
    if resume:
        if not os.path.exists(resume):
            raise EdgeferError("--resume: %s does not exist (expected a run folder or its last.pt)" % resume)
    elif not data:
        raise EdgeferError("--data is required (a data set file or folder), or --resume RUN to continue a run")
    else:
        from ..data import detect_format

        detect_format(data)


def continued(resume: str, overrides: Dict[str, object]) -> Tuple["TrainConfig", Optional[dict]]:
    """The config and ``last.pt`` state of the run at ``resume``, with ``overrides`` applied;
    the state is None for a run that never finished an epoch (it starts again)."""
    from .loop import TrainConfig

    folder = resume if os.path.isdir(resume) else os.path.dirname(os.path.abspath(resume))
    path = os.path.join(resume, "last.pt") if os.path.isdir(resume) else resume
    if not os.path.exists(path) and os.path.isfile(os.path.join(folder, "config.json")):
        cfg = _from_config(folder)
        log.info("%s: no epoch finished yet (no last.pt); starting the run again from its config.json", folder)
        state = None
    else:
        state = checkpoint.load(path)
        if state.get("kind") != "last" or "resume" not in state:
            raise EdgeferError("--resume %s: not a last.pt checkpoint (best.pt holds no optimizer state)" % path)
        cfg = TrainConfig(**state["train"])
    for name, value in overrides.items():
        setattr(cfg, name, value)
    cfg.out = os.path.abspath(folder)
    return cfg, state


def _from_config(folder):
    from ..jsonfile import read
    from .loop import TrainConfig

    doc = read(os.path.join(folder, "config.json"), "--resume %s: config.json" % folder)
    try:
        return TrainConfig(**doc["train"])
    except (KeyError, TypeError) as exc:
        raise EdgeferError("--resume %s: config.json has no usable 'train' settings (%s)" % (folder, exc)) from None
