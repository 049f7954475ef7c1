"""Optimizers, learning-rate schedules and early stopping."""

import math

import torch

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("cosine", "step", "plateau", "constant")
DEFAULT_LR = {"adamw": 2e-3, "adam": 1e-3, "sgd": 0.05}
DEFAULT_WD = {"adamw": 0.05, "adam": 0.0, "sgd": 5e-4}


def build_optimizer(name, params, lr, weight_decay, momentum=0.9):
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=True, weight_decay=weight_decay)
    raise ValueError("unknown optimizer %r" % name)


class Schedule(object):
    """One object over torch's schedulers, stepped per optimizer step and per epoch.

    * ``cosine``: linear warm-up for ``warmup_steps``, then cosine decay to ``min_lr_ratio``
      of the base rate, per step (``LambdaLR``).
    * ``step``: x ``gamma`` every ``step_epochs`` epochs (the EfficientViT-M5 paper's x0.1
      every 10 epochs; ``StepLR``).
    * ``plateau``: x ``gamma`` when validation loss has not improved for ``plateau_patience``
      epochs (``ReduceLROnPlateau``).
    * ``constant``: the base rate throughout.
    """

    def __init__(self, name, optimizer, total_steps, warmup_steps=0, step_epochs=10, gamma=0.1,
                 plateau_patience=2, min_lr_ratio=0.01):
        self.name = name
        if name == "cosine":
            def factor(step):
                if step < warmup_steps:
                    return (step + 1) / float(warmup_steps)
                t = min(1.0, (step - warmup_steps) / float(max(1, total_steps - warmup_steps)))
                return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))

            self.sched = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        elif name == "step":
            self.sched = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_epochs, gamma=gamma)
        elif name == "plateau":
            self.sched = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=gamma,
                                                                    patience=plateau_patience)
        elif name == "constant":
            self.sched = None
        else:
            raise ValueError("unknown schedule %r" % name)

    def after_step(self):
        if self.name == "cosine":
            self.sched.step()

    def after_epoch(self, val_loss):
        if self.name == "step":
            self.sched.step()
        elif self.name == "plateau":
            self.sched.step(val_loss)

    def state_dict(self):
        return self.sched.state_dict() if self.sched is not None else {}

    def load_state_dict(self, state):
        if self.sched is not None:
            self.sched.load_state_dict(state)


class EarlyStopping(object):
    """Stop when validation loss has not improved by ``min_delta`` for ``patience`` epochs
    (``patience`` 0 disables it)."""

    def __init__(self, patience=5, min_delta=0.0):
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.best = math.inf
        self.best_epoch = 0
        self.bad_epochs = 0

    def update(self, value, epoch):
        """Record an epoch's validation loss; True when it is the best so far."""
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = float(value), int(epoch), 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self):
        return self.patience > 0 and self.bad_epochs >= self.patience

    def state_dict(self):
        return {"patience": self.patience, "min_delta": self.min_delta, "best": self.best,
                "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, s):
        self.best, self.best_epoch, self.bad_epochs = float(s["best"]), int(s["best_epoch"]), int(s["bad_epochs"])
