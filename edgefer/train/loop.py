"""The training loop behind ``edgefer train``.

Determinism: each epoch seeds every random source (shuffling, augmentation in the data
workers, dropout, mixup) from (seed, epoch, rank), so a run resumed at an epoch boundary
continues exactly as the uninterrupted run would have (bit for bit on CPU).
"""

import dataclasses
import hashlib
import json
import logging
import math
import os
import random
import shutil
import sys
import time

import numpy as np
import torch

from .. import __version__, progress as progress_hook
from ..atomic import write_json
from ..data import open_dataset
from ..data.splits import stratified_sample, stratified_split
from ..errors import EdgeferError
from ..metrics import classification_report
from ..preprocess import Framing, Preprocess
from . import checkpoint, distributed
from .datasets import TrainFaces, predict_logits
from .losses import class_weights, mixup, soft_cross_entropy
from .recipes import recipe
from .schedule import DEFAULT_LR, DEFAULT_WD, EarlyStopping, Schedule, build_optimizer
from .transforms import DEFAULT_MIXUP, BatchAugment, check_scale

log = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainConfig:
    """Every option of a training run (saved in the checkpoint under ``train``)."""

    data: str
    out: str = "runs/edgefer"
    arch: str = "efficientvit_m5"
    labels: str = ""            # label protocol; "" = the data set's own
    train_split: str = ""       # "" = the data set's training split
    val_fraction: float = 0.1
    train_limit: int = 0        # >0: a stratified subset of this many training images
    img_size: int = None        # None: the architecture's recipe (edgefer.train.recipes), as for
    color: str = "gray3"        # every field whose default is None
    pretrained: bool = False
    weights: str = None         # a file, "imagenet" (a pip package's, where one ships them), "none"
    drop_rate: float = -1.0     # <0: the architecture's default
    stem_stride: int = 2        # 1: the first convolution's stride halved (edgefer.train.models)
    epochs: int = None
    batch_size: int = None      # global: split across torchrun processes
    optimizer: str = None
    lr: float = None            # 0: the optimizer's default
    weight_decay: float = None  # <0: the optimizer's default
    schedule: str = None
    warmup_epochs: float = None
    step_epochs: int = 10
    gamma: float = 0.1
    patience: int = None
    class_weights: str = None
    label_smoothing: float = None
    mixup: float = None         # <0: the augmentation recipe's default
    augment: str = None
    scale: tuple = None         # (lo, hi) area of the augmentation's random window; None: the recipe's
    soft_labels: bool = False
    teacher: tuple = ()         # knowledge distillation: checkpoints, run folders or bundles (edgefer.train.distill)
    distill_weight: float = 0.5
    distill_temperature: float = 2.0
    clip_grad: float = 0.0
    amp: str = "auto"           # auto|on|off (CUDA only)
    channels_last: bool = True  # NHWC weights and batches: 1.5-2x the CPU training step (benchmarks/train_throughput.py)
    compile: bool = False       # torch.compile (TorchInductor): a speed knob, see the CLI's --compile
    seed: int = 0
    workers: int = -1           # <0: auto
    device: str = "auto"
    max_steps: int = 0          # >0: stop after this many optimizer steps in total
    stop_after: int = 0         # >0: stop after this many epochs in this invocation
    ferplus_csv: str = ""

    def __post_init__(self):
        # checkpoints before 2026-12-08 hold one teacher as a string ("" for none); JSON gives a list
        if isinstance(self.teacher, str):
            self.teacher = (self.teacher,) if self.teacher else ()
        self.teacher = tuple(self.teacher)

    def resolved(self):
        """Fields left None filled from the architecture's recipe; an optimizer other than
        the recipe's brings its own default learning rate and weight decay."""
        c = dataclasses.replace(self)
        rec = recipe(c.arch)
        if c.optimizer is not None and c.optimizer != rec["optimizer"]:
            del rec["lr"], rec["weight_decay"]
        if c.pretrained:  # --pretrained asks for timm's download instead of the recipe's weights
            rec.pop("weights", None)
        for k, v in rec.items():
            if getattr(c, k) is None:
                setattr(c, k, v)
        if not c.augment:
            c.augment = "fer"
        try:
            c.scale = check_scale(c.augment, c.scale)
        except ValueError as e:
            raise EdgeferError(str(e))
        if c.mixup is None or c.mixup < 0:
            c.mixup = DEFAULT_MIXUP[c.augment]
        if c.lr is None or c.lr <= 0:
            c.lr = DEFAULT_LR[c.optimizer]
        if c.weight_decay is None or c.weight_decay < 0:
            c.weight_decay = DEFAULT_WD[c.optimizer]
        if c.workers < 0:
            c.workers = min(4, max(0, (os.cpu_count() or 1) // 2 - 1)) if sys.platform != "win32" else 0
        return c


def _seed_epoch(seed, epoch, rank):
    s = (seed * 1000003 + epoch * 1009 + rank) % (2 ** 31)
    random.seed(s)
    np.random.seed(s)
    torch.manual_seed(s)
    return s


def _open(cfg, split):
    opts = {"ferplus_csv": cfg.ferplus_csv} if cfg.ferplus_csv else {}
    return open_dataset(cfg.data, labels=cfg.labels or None, split=split or None, **opts)


def _say(ctx, msg):
    """A line about the run (INFO on this module's logger), from the main process only."""
    if ctx.is_main:
        log.info(msg)


def train(cfg, resume=None, progress=True):
    """Train a model; returns the path of the best checkpoint.

    ``resume``: a ``last.pt`` checkpoint dict to continue from (its config wins, except
    ``epochs``, ``stop_after`` and ``max_steps``, which come from ``cfg``). ``progress``:
    report each epoch's batches through the progress hook (:func:`edgefer.progress.bar`:
    ``epoch k/N``, with loss, lr and images per second); the run's lines (data, model, one
    per epoch, best) go to the ``edgefer.train.loop`` logger either way."""
    cfg = cfg.resolved()
    ctx = distributed.setup(cfg.device)
    try:
        return _train(cfg, ctx, resume, progress)
    finally:
        ctx.close()


def _train(cfg, ctx, resume, progress):
    """The training run, as named steps: data, model, optimization state, run metadata, then
    one :func:`_train_epoch` + :func:`_end_epoch` per epoch. The order of the steps is the
    order of the random draws (seeded data split, ``torch.manual_seed`` before the model,
    per-epoch generators): a resumed run stays bit-exact."""
    if cfg.compile:
        _check_compiler(ctx.device)
    d = _data(cfg, resume)
    _say(ctx, "data: %s | labels %s (%d classes) | train %d, val %d (%.0f%% of %s, stratified, seed %d)" % (
        cfg.data, d.labels.name, len(d.labels), len(d.train_ds), len(d.val_ds), 100 * cfg.val_fraction, d.full.split,
        cfg.seed))
    model, model_cfg, net = _model(cfg, ctx, resume, len(d.labels))
    s = _optimization(cfg, ctx, model, d, resume)
    train_set = TrainFaces(d.train_ds, d.pre, cfg.label_smoothing, cfg.soft_labels,
                           teacher=_teacher(cfg, ctx, d), teacher_weight=cfg.distill_weight)
    augment = BatchAugment(cfg.augment, cfg.scale)
    meta = _run_meta(cfg, ctx, d, model_cfg)
    best_path = os.path.join(cfg.out, "best.pt")
    last_path = os.path.join(cfg.out, "last.pt")
    _say(ctx, "model: %s at %d px, %.2fM parameters | %s lr %.2g wd %.2g | %s schedule | batch %d x %d process(es) "
              "| augment %s%s, mixup %.2g, class weights %s | device %s%s" % (
                  cfg.arch, cfg.img_size, sum(p.numel() for p in model.parameters()) / 1e6, cfg.optimizer, cfg.lr,
                  cfg.weight_decay, cfg.schedule, s.local_bs, ctx.world_size, cfg.augment,
                  " (scale %g-%g)" % augment.scale if augment.scale else "", cfg.mixup,
                  cfg.class_weights, ctx.device, ", AMP fp16" if s.use_amp else ""))

    epochs_run = 0
    epoch = s.start_epoch
    try:
        for epoch in range(s.start_epoch, cfg.epochs):
            if s.stopper.should_stop:
                break
            if cfg.max_steps and s.step >= cfg.max_steps:
                break
            if cfg.stop_after and epochs_run >= cfg.stop_after:
                _say(ctx, "stopping after %d epoch(s) as asked (--stop-after); continue with --resume %s" % (epochs_run, last_path))
                break
            t0, seen, loss_sum, n_batches = _train_epoch(cfg, ctx, epoch, net, model, train_set, augment, s, progress)
            _end_epoch(cfg, ctx, epoch, model, d, s, meta, (t0, seen, loss_sum, n_batches), best_path, last_path)
            epochs_run += 1
            ctx.barrier()
        else:
            epoch = cfg.epochs
        if s.stopper.should_stop:
            _say(ctx, "early stopping: validation loss has not improved for %d epochs (best %.4f at epoch %d)"
                 % (s.stopper.patience, s.stopper.best, s.stopper.best_epoch))
    except KeyboardInterrupt:
        _say(ctx, "interrupted during epoch %d; %s holds the last completed epoch (%d): continue with "
                  "edgefer train --resume %s" % (epoch + 1, last_path, epoch, cfg.out))
        raise
    best = s.best
    if ctx.is_main and best:
        _say(ctx, "best: epoch %d, val loss %.4f, val top-1 %.2f%%, val macro-F1 %.3f (validation slice of %s) -> %s"
             % (best["epoch"], best["val_loss"], 100 * best["val_top1"], best["val_macro_f1"], d.full.split, best_path))
    return best_path


def _teacher(cfg, ctx, d):
    """The teacher's targets for the training images (None without --teacher)."""
    if not cfg.teacher:
        return None
    from .distill import agreement, teacher_targets

    _say(ctx, "teacher: %s on the %d training images (as is and mirrored, temperature %g, weight %g)"
         % (" + ".join(cfg.teacher), len(d.train_ds), cfg.distill_temperature, cfg.distill_weight))
    t = teacher_targets(cfg.teacher, d.train_ds, d.labels.names, cfg.distill_temperature, cfg.out)
    _say(ctx, "teacher: its top class is the label on %.1f%% of the training images"
         % (100 * agreement(t, d.train_ds.targets)))
    return t


class _Namespace(object):
    def __init__(self, **kw):
        self.__dict__.update(kw)


def _data(cfg, resume):
    """The training split, its seeded stratified validation slice, and the preprocessing."""
    full = _open(cfg, cfg.train_split)
    if len(set(full.targets.tolist())) < 2:
        raise EdgeferError("--data %s split %s has fewer than 2 classes: nothing to learn" % (cfg.data, full.split))
    pool = np.arange(len(full))
    if cfg.train_limit and cfg.train_limit < len(full):
        pool = stratified_sample(full.targets, total=cfg.train_limit, seed=cfg.seed)
    tr_rel, va_rel = stratified_split(full.targets[pool], cfg.val_fraction, seed=cfg.seed)
    train_idx, val_idx = pool[tr_rel], pool[va_rel]
    if resume is not None and [full.ids[i] for i in val_idx] != resume["data"]["val_ids"]:
        raise EdgeferError("--resume: the data at %s no longer gives the run's validation slice (data changed?)" % cfg.data)
    train_ds = full.subset(train_idx, split=full.split)
    return _Namespace(full=full, train_ds=train_ds, val_ds=full.subset(val_idx, split=full.split + ":val"),
                      labels=full.labels, counts=train_ds.class_counts(), val_ids=[full.ids[i] for i in val_idx],
                      pre=Preprocess(size=cfg.img_size, color=cfg.color, framing=Framing()))


def _check_compiler(device):
    """``--compile`` needs a compiler on PATH (TorchInductor builds C++ kernels on a CPU, Triton a C
    launcher on a GPU); without one it would fail at the first step with a long traceback."""
    names = ("CXX", "g++", "clang++", "c++") if device.type == "cpu" else ("CC", "gcc", "clang", "cc")
    found = [n for n in names[1:] + (os.environ.get(names[0], ""),) if n and shutil.which(n)]
    if not found:
        raise EdgeferError("--compile: torch.compile needs a %s compiler on PATH (%s, or $%s) and none was found: "
                           "install one (e.g. apt-get install %s) or train without --compile"
                           % ("C++" if device.type == "cpu" else "C", ", ".join(names[1:]), names[0],
                              "g++" if device.type == "cpu" else "gcc"))


def _model(cfg, ctx, resume, k):
    """The model (seeded; resumed weights when continuing) and its DDP wrapper when distributed."""
    from .models import create_model, model_config

    torch.manual_seed(cfg.seed)
    model_cfg = model_config(cfg.arch, k, cfg.img_size, None if cfg.drop_rate < 0 else cfg.drop_rate, cfg.stem_stride)
    model = create_model(cfg.arch, k, cfg.img_size, model_cfg["drop_rate"], pretrained=cfg.pretrained and resume is None,
                         weights=(cfg.weights or None) if resume is None else None,
                         stem_stride=cfg.stem_stride).to(ctx.device)
    if resume is not None:
        model.load_state_dict(resume["state_dict"])
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    net = model
    if ctx.distributed:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    if cfg.compile:  # the training forward only: validation and checkpoints use ``model`` itself
        net = torch.compile(net)
    return model, model_cfg, net


def _optimization(cfg, ctx, model, d, resume):
    """Optimizer, schedule, AMP scaler, early stopping, class weights and the counters
    (restored from ``resume``)."""
    if cfg.batch_size % ctx.world_size:
        raise EdgeferError("--batch-size %d is not divisible by the %d processes" % (cfg.batch_size, ctx.world_size))
    steps_per_epoch = max(1, math.ceil(len(d.train_ds) / float(cfg.batch_size)))
    opt = build_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.weight_decay)
    sched = Schedule(cfg.schedule, opt, total_steps=cfg.epochs * steps_per_epoch,
                     warmup_steps=int(cfg.warmup_epochs * steps_per_epoch), step_epochs=cfg.step_epochs, gamma=cfg.gamma)
    use_amp = ctx.device.type == "cuda" and cfg.amp != "off"
    s = _Namespace(opt=opt, sched=sched, use_amp=use_amp, scaler=torch.amp.GradScaler("cuda", enabled=use_amp),
                   stopper=EarlyStopping(cfg.patience), local_bs=cfg.batch_size // ctx.world_size,
                   weight=torch.from_numpy(class_weights(d.counts, cfg.class_weights)).to(ctx.device),
                   start_epoch=0, step=0, history=[], best={})
    if resume is not None:
        r = resume["resume"]
        s.opt.load_state_dict(r["optimizer"])
        s.sched.load_state_dict(r["scheduler"])
        s.scaler.load_state_dict(r["scaler"])
        s.stopper.load_state_dict(r["early_stopping"])
        s.start_epoch, s.step = resume["epoch"], resume["step"]
        s.history, s.best = list(resume["history"]), dict(resume["best"])
        _say(ctx, "resuming %s after epoch %d (step %d)" % (resume["path"], s.start_epoch, s.step))
    return s


def _run_meta(cfg, ctx, d, model_cfg):
    """What every checkpoint records about the run; ``config.json`` and ``split.json``."""
    meta = {
        "model": model_cfg,
        "labels": d.labels.to_dict(),
        "preprocess": d.pre.to_dict(),
        "data": {
            "format": d.full.name, "path": os.path.abspath(cfg.data), "label_protocol": d.labels.name,
            "train_split": d.full.split, "val_fraction": cfg.val_fraction, "split_seed": cfg.seed,
            "n_train": len(d.train_ds), "n_val": len(d.val_ds), "val_ids": d.val_ids,
            "train_ids_sha256": hashlib.sha256("\n".join(d.train_ds.ids).encode()).hexdigest(),
            "train_limit": cfg.train_limit, "class_counts": d.counts.tolist(),
        },
        "train": dataclasses.asdict(cfg),
        "versions": _versions(),
    }
    if ctx.is_main:
        os.makedirs(cfg.out, exist_ok=True)
        write_json(os.path.join(cfg.out, "config.json"), {k2: v for k2, v in meta.items() if k2 != "data"} | {
            "data": {k2: v for k2, v in meta["data"].items() if k2 != "val_ids"}})
        write_json(os.path.join(cfg.out, "split.json"), {"train_split": d.full.split, "seed": cfg.seed,
                                                        "val_fraction": cfg.val_fraction, "val_ids": d.val_ids})
    return meta


def _train_epoch(cfg, ctx, epoch, net, model, train_set, augment, s, progress):
    """One pass over the training set (seeded per epoch and rank); returns (start time,
    images seen, summed loss, batches)."""
    seed = _seed_epoch(cfg.seed, epoch, ctx.rank)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    aug_gen = torch.Generator().manual_seed(seed + 1)  # its own stream: independent of the loader's draws
    if ctx.distributed:
        sampler = torch.utils.data.DistributedSampler(train_set, ctx.world_size, ctx.rank, shuffle=True, seed=cfg.seed)
        sampler.set_epoch(epoch)
    else:
        sampler = torch.utils.data.RandomSampler(train_set, generator=gen)
    loader = torch.utils.data.DataLoader(
        train_set, batch_size=s.local_bs, sampler=sampler, num_workers=cfg.workers, generator=gen,
        pin_memory=ctx.device.type == "cuda", drop_last=len(train_set) > s.local_bs * ctx.world_size)
    net.train()
    t0, seen, loss_sum, n_batches = time.time(), 0, 0.0, 0
    quiet = not (progress and ctx.is_main)
    with (progress_hook.Bar() if quiet else
          progress_hook.bar(total=len(loader), desc="epoch %d/%d" % (epoch + 1, cfg.epochs), unit="it")) as bar:
        for x, y, _ in loader:
            x = train_set.normalize(augment(x.to(ctx.device, non_blocking=True), aug_gen))
            if cfg.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            y = y.to(ctx.device, non_blocking=True)
            x, y = mixup(x, y, cfg.mixup, rng)
            with torch.autocast("cuda", dtype=torch.float16, enabled=s.use_amp):
                logits = net(x)
            loss = soft_cross_entropy(logits, y, s.weight)
            if not torch.isfinite(loss):
                raise EdgeferError("training diverged at epoch %d step %d (loss %s): lower --lr (now %g)"
                                   % (epoch + 1, s.step, loss.item(), cfg.lr))
            s.opt.zero_grad(set_to_none=True)
            s.scaler.scale(loss).backward()
            if cfg.clip_grad > 0:
                s.scaler.unscale_(s.opt)
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
            s.scaler.step(s.opt)
            s.scaler.update()
            s.sched.after_step()
            s.step += 1
            n_batches += 1
            loss_sum += loss.item()
            seen += x.shape[0] * ctx.world_size
            bar.update()
            bar.set_postfix(loss="%.3f" % (loss_sum / n_batches), lr="%.2g" % s.opt.param_groups[0]["lr"],
                            ips="%.0f" % (seen / max(1e-9, time.time() - t0)))
            if cfg.max_steps and s.step >= cfg.max_steps:
                break
    return t0, seen, loss_sum, n_batches


def _end_epoch(cfg, ctx, epoch, model, d, s, meta, counts, best_path, last_path):
    """Validation on the slice (all ranks share the work, all see the result), schedule and
    early stopping, history, and the checkpoints (``best.pt`` when improved, ``last.pt``)."""
    t0, seen, loss_sum, n_batches = counts
    train_time = time.time() - t0
    v = _validate(model, d.val_ds, d.pre, ctx)
    lr_now = s.opt.param_groups[0]["lr"]
    s.sched.after_epoch(v["val_loss"])
    improved = s.stopper.update(v["val_loss"], epoch + 1)
    row = {"epoch": epoch + 1, "step": s.step, "train_loss": loss_sum / max(1, n_batches), **v, "lr": lr_now,
           "world_size": ctx.world_size,
           "train_images_per_s": seen / max(1e-9, train_time), "epoch_time_s": time.time() - t0}
    s.history.append(row)
    if improved:
        s.best = {"epoch": epoch + 1, "val_loss": v["val_loss"], "val_top1": v["val_top1"],
                  "val_macro_f1": v["val_macro_f1"]}
    if ctx.is_main:
        base = dict(meta, epoch=epoch + 1, step=s.step, metrics=row, best=s.best, history=s.history)
        if improved:
            checkpoint.save(best_path, dict(base, kind="best", state_dict=_cpu_state(model)))
        checkpoint.save(last_path, dict(base, kind="last", state_dict=_cpu_state(model), resume={
            "optimizer": s.opt.state_dict(), "scheduler": s.sched.state_dict(), "scaler": s.scaler.state_dict(),
            "early_stopping": s.stopper.state_dict()}))
        with open(os.path.join(cfg.out, "history.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")
        _say(ctx, "epoch %d/%d  train loss %.4f  val loss %.4f  val top-1 %.2f%%  val macro-F1 %.3f  lr %.2g  "
                  "%.0f img/s%s" % (epoch + 1, cfg.epochs, row["train_loss"], v["val_loss"], 100 * v["val_top1"],
                                   v["val_macro_f1"], lr_now, row["train_images_per_s"],
                                   "  *best" if improved else ""))


def _validate(model, val_ds, pre, ctx):
    idx = np.arange(len(val_ds))[ctx.rank::ctx.world_size]
    logits = predict_logits(model, val_ds, pre, ctx.device, indices=idx)
    parts = ctx.gather((idx, logits))
    order = np.concatenate([p[0] for p in parts])
    all_logits = np.concatenate([p[1] for p in parts])[np.argsort(order)]
    targets = val_ds.targets
    lt = torch.from_numpy(all_logits)
    loss = float(torch.nn.functional.cross_entropy(lt, torch.from_numpy(targets)))
    rep = classification_report(targets, all_logits.argmax(1), list(val_ds.labels.names))
    return {"val_loss": loss, "val_top1": rep["top1"], "val_macro_f1": rep["macro_f1"]}


def _cpu_state(model):
    """The weights on the CPU in the default (contiguous) layout, whatever the training layout."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def _versions():
    import timm

    return {"edgefer": __version__, "torch": str(torch.__version__), "timm": str(timm.__version__)}
