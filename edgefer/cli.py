"""The ``edgefer`` command line (click). Start-up imports no torch, timm or OpenCV:
each command imports what it needs when it runs."""

import os
import sys

import click
import numpy as np

from . import __version__
from .errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EdgeferError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EdgeferError as exc:
            click.echo("error: %s" % exc, err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="edgefer")
def main():
    """edgefer: facial emotion recognition from a training host to Jetson and Raspberry Pi.

    \b
    Train and evaluate on the host (needs the `train` extra):
      edgefer train --arch efficientvit_m5 --data fer2013.csv.gz --out runs/vit
      edgefer eval runs/vit/best.pt --data fer2013.csv.gz --split PublicTest

    \b
    Exit codes: 0 ok, 1 internal error, 2 bad usage or input, 3 missing dependency,
    130 interrupted (Ctrl-C; work written so far stays usable).
    """


def _host_stack(why):
    """torch, torchvision and timm, or a one-line error saying how to get them."""
    from . import deps
    from .errors import require

    deps.torch(why)
    require("torchvision", why, deps.TORCH_HINT)
    require("timm", why, deps.TORCH_HINT)


def _data_options(f):
    f = click.option("--ferplus-csv", type=click.Path(dir_okay=False), default=None,
                     help="FER+ votes file (default: fer2013new.csv beside the FER2013 CSV).")(f)
    f = click.option("--labels", default=None, metavar="PROTOCOL",
                     help="Label protocol: fer2013, ferplus, rafdb, affectnet7, affectnet8 "
                          "(default: the data set's own).")(f)
    f = click.option("--data", "data", required=True, type=click.Path(exists=False),
                     help="Data set file or folder in its native format: fer2013.csv[.gz], a RAF-DB "
                          "basic/ folder, an AffectNet folder, or a class-per-folder tree.")(f)
    return f


TRAIN_HELP = """Train an emotion classifier (host side: needs `pip install 'edgefer[train]'`).

\b
Validation loss on a seeded, stratified slice of the training split (--val-fraction)
picks the best epoch and drives early stopping; test splits are never used here.
Writes OUT/best.pt, OUT/last.pt (both atomic), OUT/history.jsonl, OUT/config.json
and OUT/split.json (the validation slice's sample ids).

\b
Examples:
  edgefer train --arch efficientvit_m5 --data fer2013.csv.gz --out runs/vit
  edgefer train --arch efficientnet_b0_attn --data fer2013.csv.gz --labels ferplus \\
      --img-size 112 --optimizer sgd --lr 0.05 --schedule step --out runs/b0
  edgefer train --resume runs/vit                  # continue an interrupted run
  edgefer train --arch efficientvit_m5 --data RAF-DB/basic --pretrained --img-size 224
  torchrun --nproc_per_node 4 -m edgefer train --data fer2013.csv.gz --batch-size 256
"""


@main.command("train", help=TRAIN_HELP, context_settings=CONTEXT)
@click.option("--data", default=None, type=click.Path(), help="Data set file or folder (see `edgefer eval --help`).")
@click.option("--labels", default="", metavar="PROTOCOL", help="Label protocol (default: the data set's own).")
@click.option("--ferplus-csv", default="", type=click.Path(dir_okay=False), help="FER+ votes file for --labels ferplus.")
@click.option("--split", "train_split", default="", help="Training split (default: the data set's, e.g. Training).")
@click.option("--val-fraction", default=0.1, show_default=True, type=float, help="Validation slice of the training split.")
@click.option("--train-limit", default=0, type=int, help="Train on a stratified subset of N images (quick runs).")
@click.option("--out", default="runs/edgefer", show_default=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--arch", default="efficientvit_m5", show_default=True,
              help="efficientvit_m5, efficientnet_b0_attn, or any timm model name.")
@click.option("--img-size", default=64, show_default=True, type=int, help="Square input size in pixels (48-224).")
@click.option("--color", default="gray3", show_default=True, type=click.Choice(["gray3", "rgb"]),
              help="gray3: grayscale replicated to 3 channels; rgb: colour input.")
@click.option("--pretrained", is_flag=True, help="Start from timm's ImageNet weights (downloads; needs internet).")
@click.option("--weights", default="", type=click.Path(dir_okay=False), help="Start from local weights (timm state dict).")
@click.option("--drop-rate", default=-1.0, type=float, help="Dropout before the head (default per architecture).")
@click.option("--epochs", default=30, show_default=True, type=int)
@click.option("--batch-size", default=64, show_default=True, type=int, help="Global batch (split across processes).")
@click.option("--optimizer", default="adamw", show_default=True, type=click.Choice(["adamw", "adam", "sgd"]),
              help="sgd uses Nesterov momentum 0.9.")
@click.option("--lr", default=0.0, type=float, help="Learning rate (default: adamw 2e-3, adam 1e-3, sgd 0.05).")
@click.option("--weight-decay", default=-1.0, type=float, help="Default: adamw 0.05, adam 0, sgd 5e-4.")
@click.option("--schedule", default="cosine", show_default=True, type=click.Choice(["cosine", "step", "plateau", "constant"]),
              help="cosine (per step, warm-up), step (x gamma every --step-epochs), plateau (on val loss).")
@click.option("--warmup-epochs", default=1.0, show_default=True, type=float)
@click.option("--step-epochs", default=10, show_default=True, type=int)
@click.option("--gamma", default=0.1, show_default=True, type=float)
@click.option("--patience", default=5, show_default=True, type=int, help="Early stopping on val loss; 0 disables.")
@click.option("--class-weights", default="balanced", show_default=True, type=click.Choice(["none", "balanced", "sqrt"]),
              help="Class-weighted cross-entropy from the training counts.")
@click.option("--label-smoothing", default=0.0, show_default=True, type=float)
@click.option("--mixup", default=-1.0, type=float, help="Mixup alpha; 0 off (default: 0.2 with --augment effnet, else 0).")
@click.option("--augment", default="", type=click.Choice(["", "effvit", "effnet", "none"]),
              help="Augmentation recipe (default: effvit for efficientvit_m5, effnet for efficientnet_b0_attn).")
@click.option("--soft-labels", is_flag=True, help="Train on label distributions (FER+ votes) instead of majority labels.")
@click.option("--clip-grad", default=0.0, type=float, help="Clip the gradient norm to this value; 0 off.")
@click.option("--amp", default="auto", show_default=True, type=click.Choice(["auto", "on", "off"]), help="fp16 AMP on CUDA.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--workers", default=-1, type=int, help="Data loader processes (default: auto).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N.")
@click.option("--max-steps", default=0, type=int, help="Stop after N optimizer steps in total (quick runs).")
@click.option("--stop-after", default=0, type=int,
              help="Stop after N epochs in this invocation (time-sliced machines); continue with --resume.")
@click.option("--resume", default=None, type=click.Path(), help="Continue a run: its folder or last.pt.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def train_cmd(ctx, resume, quiet, data, **opts):
    _host_stack("training")
    from .train import checkpoint
    from .train.loop import TrainConfig, train

    if resume:
        path = os.path.join(resume, "last.pt") if os.path.isdir(resume) else resume
        state = checkpoint.load(path)
        if state.get("kind") != "last" or "resume" not in state:
            raise EdgeferError("--resume %s: not a last.pt checkpoint (best.pt holds no optimizer state)" % path)
        cfg = TrainConfig(**state["train"])
        for name in ("epochs", "stop_after", "max_steps", "workers", "device"):
            if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
                setattr(cfg, name, opts[name])
        cfg.out = os.path.dirname(os.path.abspath(path))
    else:
        if not data:
            raise EdgeferError("--data is required (a data set file or folder), or --resume RUN to continue a run")
        state = None
        cfg = TrainConfig(data=data, **opts)
    best = train(cfg, resume=state, progress=not quiet)
    click.echo(best)


EVAL_HELP = """Evaluate a checkpoint on a named split: top-1, macro-F1, per-class
precision/recall/F1 and the confusion matrix (JSON and PNG), written to --out.

\b
The training split (and the validation slice carved from it, `--split val`) are refused
unless --allow-train-split: numbers worth reporting come from a test split.
A model trained on one label set is scored on another through the shared classes
(e.g. a FER+ model on FER2013 labels: its `contempt` answers count as wrong).

\b
Examples:
  edgefer eval runs/vit/best.pt --data fer2013.csv.gz --split PublicTest
  edgefer eval runs/vit --data fer2013.csv.gz --labels ferplus --split PublicTest --out reports/vit
  edgefer eval runs/vit/best.pt --data RAF-DB/basic --split test
"""


@main.command("eval", help=EVAL_HELP, context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@_data_options
@click.option("--split", required=True, help="Split to evaluate (e.g. PublicTest, test, val).")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Report folder (default: MODEL_DIR/eval/DATASET-LABELS-SPLIT).")
@click.option("--allow-train-split", is_flag=True, help="Allow the training split or the validation slice.")
@click.option("--batch-size", default=256, show_default=True, type=int)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda (checkpoints).")
def eval_cmd(model, data, labels, ferplus_csv, split, out, allow_train_split, batch_size, device):
    from . import evaluation
    from .data import open_dataset
    from .report import summary_lines, write_report

    _host_stack("evaluating a checkpoint")
    import torch

    from .preprocess import Preprocess
    from .train import checkpoint
    from .train.datasets import predict_logits

    opts = {"ferplus_csv": ferplus_csv} if ferplus_csv else {}
    ckpt = checkpoint.load(model)
    info = ckpt["data"]
    val_slice = split.lower() == "val"
    ds = open_dataset(data, labels=labels, split=info["train_split"] if val_slice else split, **opts)
    if val_slice:
        if not allow_train_split:
            raise EdgeferError("--split val is the validation slice the model was selected on; pass "
                               "--allow-train-split to evaluate it anyway (it is not a test result)")
        ds = ds.subset(ds.index_of(info["val_ids"]), split=ds.split + ":val")
    else:
        evaluation.check_split(ds, info, allow_train_split)
    keep, m2d, names = evaluation.align_labels(ckpt["labels"]["names"], ds)
    n_dropped = int((~keep).sum())
    if n_dropped:
        ds = ds.subset(np.flatnonzero(keep))
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))
    net = checkpoint.build_model(ckpt).to(dev)
    desc = "%s (%s, %d px, epoch %d)" % (ckpt["path"], ckpt["model"]["arch"], ckpt["model"]["img_size"], ckpt["epoch"])
    pre = Preprocess.from_dict(ckpt["preprocess"])
    logits = predict_logits(net, ds, pre, dev, batch_size=batch_size)
    rep = evaluation.score(logits, ds.targets, m2d, names)
    out = out or evaluation.default_out_dir(model, ds)
    context = {"model": ckpt["path"], "arch": ckpt["model"]["arch"], "data": ds.path, "dataset": ds.name,
               "label_protocol": ds.labels.name, "split": ds.split, "excluded_images": n_dropped}
    paths = write_report(out, rep, context)
    for line in summary_lines(rep, evaluation.header_lines(ds, desc, n_dropped)):
        click.echo(line)
    click.echo("wrote " + ", ".join(paths))

