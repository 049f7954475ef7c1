"""The ``edgefer`` command line (click). Start-up imports no torch, timm or OpenCV:
each command imports what it needs when it runs."""

import contextlib
import logging
import os
import re
import sys

import click

from . import __version__, progress
from .errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_TERMINATED, EdgeferError, Terminated, terminate_as_interrupt
from .runtime.classifier import BACKEND_CHOICES
from .runtime.detectors import DETECTORS
from .train.recipes import recipe_values
from .onnx_predict import TTA_MODES
from .runtime.privacy import MODES as PRIVACY_MODES

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Group(click.Group):
    def invoke(self, ctx):
        with terminate_as_interrupt(), _voice():
            try:
                return super().invoke(ctx)
            except EdgeferError as exc:
                click.echo("error: %s" % exc, err=True)
                sys.exit(exc.exit_code)
            except Terminated:
                click.echo("terminated", err=True)
                sys.exit(EXIT_TERMINATED)
            except KeyboardInterrupt:
                click.echo("interrupted", err=True)
                sys.exit(EXIT_INTERRUPTED)


log = logging.getLogger(__name__)


class _LineHandler(logging.Handler):
    """The library's messages on the command line: one line each on stderr, written with
    ``tqdm.write`` so that a progress bar being drawn is not broken; a warning or an error
    says so (``warning: ...``)."""

    def emit(self, record):
        try:
            from tqdm import tqdm

            prefix = "error: " if record.levelno >= logging.ERROR else (
                "warning: " if record.levelno >= logging.WARNING else "")
            tqdm.write(prefix + record.getMessage(), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging's own way of reporting a broken handler
            self.handleError(record)


def _tqdm_bar(total=None, desc="", unit="it"):
    """The command line's progress bars (:mod:`edgefer.progress` factory): tqdm on stderr,
    taken down when done."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True, file=sys.stderr)


_HANDLERS = []  # the handlers _voice installed, for _quiet


@contextlib.contextmanager
def _voice():
    """What a command runs with (ARCHITECTURE.md, "Messages and progress"): the ``edgefer``
    logger's INFO and above through :class:`_LineHandler` (not also through the root
    logger's handlers), and tqdm bars as the progress hook; both taken back afterwards."""
    logger = logging.getLogger("edgefer")
    handler = _LineHandler(logging.INFO)
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    _HANDLERS.append(handler)
    try:
        with progress.using(_tqdm_bar):
            yield
    finally:
        _HANDLERS.remove(handler)
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _quiet(messages=True):
    """A command's ``--quiet``: no progress bars; with ``messages``, warnings and errors only."""
    progress.use(None)
    if messages:
        for h in _HANDLERS:
            h.setLevel(logging.WARNING)


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
    130 interrupted (Ctrl-C), 143 terminated (SIGTERM, as systemd stops a service); work
    written so far stays usable in both.
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
Without flags it trains the architecture's recipe, the one that measured best on FER2013
(edgefer/train/recipes.py, docs/training.md); any flag given overrides that setting.
Validation loss on a seeded, stratified slice of the training split (--val-fraction)
picks the best epoch and drives early stopping; test splits are never used here.
Writes OUT/best.pt, OUT/last.pt (both atomic), OUT/history.jsonl, OUT/config.json
and OUT/split.json (the validation slice's sample ids).

\b
Examples:
  edgefer train --arch efficientnet_lite0 --data fer2013.csv.gz --out runs/lite0   # the default model's recipe
  edgefer train --arch efficientvit_m5 --data fer2013.csv.gz --out runs/vit
  edgefer train --arch efficientnet_b0_attn --data fer2013.csv.gz --labels ferplus \\
      --img-size 112 --optimizer sgd --lr 0.05 --schedule step --out runs/b0
  edgefer train --resume runs/vit                  # continue an interrupted run
  edgefer train --arch efficientnet_lite0 --data fer2013.csv.gz --scale 0.6 1.5 --out runs/lite0-wide  # wider framing jitter
  edgefer train --arch efficientvit_m5 --data fer2013.csv.gz --compile --out runs/vit   # TorchInductor
  edgefer train --arch efficientvit_m5 --data fer2013.csv.gz --teacher default --out runs/vit-kd  # distil the shipped model
  edgefer train --arch efficientnet_lite0 --data fer2013.csv.gz --teacher default --teacher runs/lite0-wide \\
      --out runs/lite0-kd                          # distil an ensemble of two models
  edgefer train --arch efficientvit_m5 --data RAF-DB/basic --pretrained --img-size 224
  torchrun --nproc_per_node 4 -m edgefer train --data fer2013.csv.gz --batch-size 256
"""


@main.command("train", help=TRAIN_HELP, context_settings=CONTEXT)
@click.option("--data", default=None, type=click.Path(), help="Data set file or folder (see `edgefer eval --help`).")
@click.option("--labels", default="", metavar="PROTOCOL", help="Label protocol (default: the data set's own).")
@click.option("--ferplus-csv", default="", type=click.Path(dir_okay=False), help="FER+ votes file for --labels ferplus.")
@click.option("--split", "train_split", default="", help="Training split (default: the data set's, e.g. Training).")
@click.option("--val-fraction", default=0.1, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True), help="Validation slice of the training split.")
@click.option("--train-limit", default=0, type=click.IntRange(min=0), help="Train on a stratified subset of N images (quick runs).")
@click.option("--out", default="runs/edgefer", show_default=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--arch", default="efficientvit_m5", show_default=True,
              help="efficientvit_m5, efficientnet_b0_attn, or any timm model name.")
@click.option("--img-size", default=None, type=click.IntRange(min=48, max=224), help="Square input size in pixels, 48-224 (recipe: %s)." % recipe_values("img_size"))
@click.option("--color", default="gray3", show_default=True, type=click.Choice(["gray3", "rgb"]),
              help="gray3: grayscale replicated to 3 channels; rgb: colour input.")
@click.option("--pretrained", is_flag=True, help="Start from timm's ImageNet weights (downloads; needs internet).")
@click.option("--weights", default=None, help="Start from local weights: a state dict FILE (timm's or "
              "EfficientNet-PyTorch's names), 'imagenet' (a pip package's: efficientnet_lite0) or 'none' "
              "(recipe: imagenet for efficientnet_lite0, none otherwise).")
@click.option("--stem-stride", default=2, show_default=True, type=click.IntRange(1, 2),
              help="1: halve the first convolution's stride, so 48 px keeps the feature maps of 96 px "
                   "(at about 96 px's cost) without upsampling the faces.")
@click.option("--drop-rate", default=-1.0, type=click.FloatRange(-1, 1, max_open=True), help="Dropout before the head (default per architecture).")
@click.option("--epochs", default=None, type=click.IntRange(min=1), help="Epochs (recipe: %s)." % recipe_values("epochs"))
@click.option("--batch-size", default=None, type=click.IntRange(min=1, max=65536), help="Global batch, split across processes (recipe: 64).")
@click.option("--optimizer", default=None, type=click.Choice(["adamw", "adam", "sgd"]),
              help="Recipe: %s; sgd uses Nesterov momentum 0.9." % recipe_values("optimizer"))
@click.option("--lr", default=None, type=click.FloatRange(min=0), help="Learning rate (recipe: %s; 0: the optimizer's default, adamw 2e-3, adam 1e-3, sgd 0.05)." % recipe_values("lr"))
@click.option("--weight-decay", default=None, type=click.FloatRange(-1, 1), help="Recipe: %s; < 0: the optimizer's default (adamw 0.05, adam 0, sgd 5e-4)." % recipe_values("weight_decay"))
@click.option("--schedule", default=None, type=click.Choice(["cosine", "step", "plateau", "constant"]),
              help="cosine (per step, warm-up), step (x gamma every --step-epochs), plateau (on val loss).")
@click.option("--warmup-epochs", default=None, type=click.FloatRange(min=0), help="Linear warm-up of the cosine schedule (recipe: %s)." % recipe_values("warmup_epochs"))
@click.option("--step-epochs", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--gamma", default=0.1, show_default=True, type=click.FloatRange(0, 1, min_open=True))
@click.option("--patience", default=None, type=click.IntRange(min=0), help="Early stopping on val loss after N epochs without a gain; 0 off (recipe: 0).")
@click.option("--class-weights", default=None, type=click.Choice(["none", "balanced", "sqrt"]),
              help="Class-weighted cross-entropy from the training counts (recipe: none).")
@click.option("--label-smoothing", default=None, type=click.FloatRange(0, 1, max_open=True), help="Recipe: 0.1.")
@click.option("--mixup", default=None, type=click.FloatRange(min=-1), help="Mixup alpha; 0 off (recipe: 0; < 0: 0.2 with --augment effnet, else 0).")
@click.option("--augment", default=None, type=click.Choice(["fer", "effvit", "effnet", "none"]),
              help="Augmentation recipe, applied to whole batches (default: fer, the FER2013 record holders': "
                   "scale, shift, rotation, flip, brightness/contrast, random erasing).")
@click.option("--scale", default=None, nargs=2, type=click.FloatRange(min=0, min_open=True), metavar="LO HI",
              help="Area range of the augmentation's random window, as fractions of the face (above 1 zooms "
                   "out), instead of the recipe's (fer: 0.8 1.2; effnet: 0.8 1.0); timm's --scale.")
@click.option("--soft-labels", is_flag=True, help="Train on label distributions (FER+ votes) instead of majority labels.")
@click.option("--teacher", multiple=True, metavar="MODEL",
              help="Distil from a teacher: a checkpoint, run folder, bundle or shipped bundle name (default, "
                   "ferplus) with the same classes; its softened predictions on the training images are mixed "
                   "into the targets (docs/training.md). Repeat it to distil from the mean of several.")
@click.option("--distill-weight", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Share of the teacher in each target.")
@click.option("--distill-temperature", default=2.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Softening of the teacher's predictions.")
@click.option("--clip-grad", default=0.0, type=click.FloatRange(min=0), help="Clip the gradient norm to this value; 0 off.")
@click.option("--amp", default="auto", show_default=True, type=click.Choice(["auto", "on", "off"]), help="fp16 AMP on CUDA.")
@click.option("--channels-last/--no-channels-last", default=True, show_default=True,
              help="Train in the NHWC memory layout (1.5-2x faster on CPUs; the weights saved are the same).")
@click.option("--compile/--no-compile", default=False, show_default=True,
              help="torch.compile the model (TorchInductor; minutes of compiling at the start). Measured on a "
                   "2-core CPU: 1.29x the training step of efficientvit_m5 at 64 px, slower for the "
                   "convolutional networks (benchmarks/results/train-compile-2026-12-07-amd). "
                   "A run continued with --resume may switch it.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--workers", default=-1, type=click.IntRange(min=-1, max=256), help="Data loader processes (default: auto).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N.")
@click.option("--max-steps", default=0, type=click.IntRange(min=0), help="Stop after N optimizer steps in total (quick runs).")
@click.option("--stop-after", default=0, type=click.IntRange(min=0),
              help="Stop after N epochs in this invocation (time-sliced machines); continue with --resume.")
@click.option("--resume", default=None, type=click.Path(), help="Continue a run: its folder or last.pt.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def train_cmd(ctx, resume, quiet, data, **opts):
    if quiet:
        _quiet(messages=False)  # train's --quiet: no bar; the run's lines stay
    from .train.resume import check_inputs

    check_inputs(data, resume)  # before seconds of imports
    _host_stack("training")
    from .train.resume import run

    given = [n for n in opts if ctx.get_parameter_source(n) == click.core.ParameterSource.COMMANDLINE]
    if opts.get("teacher"):
        from .runtime.pipeline import resolve_bundle

        opts["teacher"] = tuple(os.path.abspath(resolve_bundle(t)) for t in opts["teacher"])  # a name -> its folder
    click.echo(run(data=data, resume=resume, given=given, progress=not quiet, **opts))


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
  edgefer eval runs/vit/vit.edgefer --data fer2013.csv.gz --split PublicTest   # a bundle: every artifact, no torch
  edgefer eval edgefer/bundles/default.edgefer --data fer2013.csv.gz --split PublicTest --artifact model_int8_cpu_b1.onnx
  edgefer eval edgefer/bundles/default.edgefer --data fer2013.csv.gz --split PublicTest --tta flip
"""


@main.command("eval", help=EVAL_HELP, context_settings=CONTEXT)
@click.argument("model", type=click.Path(), metavar="CHECKPOINT|BUNDLE")
@_data_options
@click.option("--split", required=True, help="Split to evaluate (e.g. PublicTest, test, val).")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Report folder (default: MODEL_DIR/eval/DATASET-LABELS-SPLIT).")
@click.option("--allow-train-split", is_flag=True, help="Allow the training split or the validation slice.")
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(min=1, max=65536))
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda (checkpoints).")
@click.option("--tta", default="none", show_default=True, type=click.Choice(TTA_MODES),
              help="Bundles: test-time augmentation, as `edgefer run --tta` (flip: each face and its mirror image).")
@click.option("--artifact", "artifacts", multiple=True, metavar="FILE",
              help="Bundles: only this artifact (its file name in the manifest, e.g. model_int8_cpu_b1.onnx); "
                   "repeat for several. Default: every artifact.")
def eval_cmd(model, data, labels, ferplus_csv, split, out, allow_train_split, batch_size, device, tta, artifacts):
    from . import evaluation

    if os.path.isfile(os.path.join(model, "manifest.json")) or model.rstrip("/").endswith(".edgefer"):
        out = evaluation.evaluate_bundle(model, data, split, labels, ferplus_csv, out, allow_train_split, say=click.echo,
                                         tta=tta, artifacts=artifacts)
        click.echo("wrote %s" % out)
        return
    if tta != "none":
        raise EdgeferError("--tta %s: only for bundles (the runtime's path); %s is a checkpoint" % (tta, model))
    if artifacts:
        raise EdgeferError("--artifact: only for bundles; %s is a checkpoint" % model)
    from .train.checkpoint import resolve

    resolve(model)  # a wrong path is refused before seconds of imports
    _host_stack("evaluating a checkpoint")
    from .train.evaluate import evaluate_checkpoint

    paths = evaluate_checkpoint(model, data, split, labels, ferplus_csv, out, allow_train_split, batch_size, device,
                                say=click.echo)
    click.echo("wrote " + ", ".join(paths))


EXPORT_HELP = """Export a checkpoint to a bundle NAME.edgefer/: FP32 ONNX (the reference), optional
FP16 ONNX (GPUs) and calibrated INT8 ONNX per target, with a manifest.json that records
labels, preprocessing, provenance, and each artifact's sha256, parity and accuracy.

\b
INT8 is calibrated on a class-balanced sample of the training split (never an evaluation
split; the list of ids is saved under --calib-dir and reused), and gated: INT8 is
compared with FP32 on the run's validation slice, and when top-1 drops by more than
--budget points the most quantization-sensitive nodes stay in float and it tries again.
Accuracy in the manifest is measured on --eval-split (default: the data set's test split).

\b
Examples:
  edgefer export runs/vit/best.pt --int8 --calib-data ../shared/data/fer2013/fer2013.csv.gz
  edgefer export runs/b0/best.pt --int8 --targets cpu,tensorrt --fp16 --batches 1,8
  edgefer export runs/vit/best.pt --profile rpi5 --out bundles/vit-rpi5.edgefer
  edgefer export runs/vit/best.pt --int8 --targets cpu,tensorrt --keep int8/cpu,int8/tensorrt/b1   # a release
  edgefer export runs/vit/best.pt --profile jetson-orin-nano --trt   # on the Jetson itself
"""


@main.command("export", help=EXPORT_HELP, context_settings=CONTEXT)
@click.argument("checkpoint", type=click.Path())
@click.option("--out", default=None, type=click.Path(file_okay=False), help="Bundle folder (default: RUN/RUN.edgefer).")
@click.option("--name", default=None, help="Bundle name (default: the run folder's name).")
@click.option("--profile", default=None, help="Device profile: a name from edgefer/export/devices/ (e.g. rpi5, jetson-orin-nano) or a file.")
@click.option("--opset", default=None, type=click.IntRange(min=11, max=23), help="ONNX opset (default 17: TensorRT 8.5 on JetPack 5 reads up to 17).")
@click.option("--img-size", default=None, type=click.IntRange(min=16, max=1024),
              help="Input size (default: the size it was trained at; others are resized and re-measured).")
@click.option("--batches", default=None, help="Fixed batch sizes, comma-separated (default 1,8).")
@click.option("--fp16", is_flag=True, default=None, help="Also write an FP16 ONNX (for GPUs).")
@click.option("--int8", is_flag=True, default=None, help="Also write calibrated INT8 ONNX for --targets.")
@click.option("--targets", default=None, help="INT8 flavours: cpu (U8S8), tensorrt (S8S8). Default cpu.")
@click.option("--calib-data", default=None, type=click.Path(), help="Data for calibration (default: the training data).")
@click.option("--calib-size", default=None, type=click.IntRange(min=1, max=100000), help="Calibration images (default 500).")
@click.option("--calib-seed", default=None, type=click.IntRange(min=0), help="Seed of the class-balanced selection (default 0).")
@click.option("--calib-method", default=None, type=click.Choice(["minmax", "entropy", "percentile"]),
              help="Range calibration (default entropy).")
@click.option("--calib-dir", default=None, type=click.Path(file_okay=False), help="Where calibration lists live (default calibration/).")
@click.option("--eval-data", default=None, type=click.Path(), help="Data for the accuracy in the manifest (default: training data).")
@click.option("--eval-split", default=None, help="Split for that accuracy (default: the test split, e.g. PublicTest).")
@click.option("--eval-limit", default=None, type=click.IntRange(min=1), help="Measure on a class-stratified sample of N images.")
@click.option("--budget", default=None, type=click.FloatRange(0, 100), help="Allowed INT8 top-1 drop, points (default 1.0).")
@click.option("--gate-tries", default=None, type=click.IntRange(min=0, max=50), help="Retries keeping sensitive nodes in float (default 3).")
@click.option("--gate-limit", default=None, type=click.IntRange(min=1), help="Gate on a sample of N validation images.")
@click.option("--int8-ops", default=None, type=click.Choice(["conv", "compute", "all"]),
              help="Ops to quantize: conv (Conv+Gemm with the ReLU/ReLU6 folded into them, default: best speed/accuracy "
                   "measured), compute (+MatMul), all.")
@click.option("--int8-min-sqnr", "int8_min_sqnr_db", default=None, type=click.FloatRange(0, 100),
              help="Keep Conv/Gemm nodes whose predicted int8 output SQNR is below this many dB (and that read a "
                   "float tensor) in float (default 15; a negative value turns it off).")
@click.option("--silu", default=None, type=click.Choice(["float", "int8"]),
              help="With --int8-ops all, cpu target: keep SiLU (x*sigmoid(x)) in float (default) or quantize it.")
@click.option("--keep", default=None, metavar="LIST",
              help="Artifacts the bundle keeps, as PRECISION[/TARGET[/bBATCH]] (int8, int8/cpu, int8/tensorrt/b1; "
                   "default: all written). The others are still made and measured (FP32 is the reference of the "
                   "parity check and the gate); their numbers stay in the manifest under not_shipped.")
@click.option("--no-simplify", is_flag=True, default=None, help="Skip onnx-simplifier.")
@click.option("--threads", default=None, type=click.IntRange(min=0, max=256), help="ONNX Runtime threads for the measurements (0 = default).")
@click.option("--trt", is_flag=True, default=None, help="Also build TensorRT engines now (on the device; needs TensorRT).")
@click.option("--trt-workspace-mb", default=None, type=click.IntRange(min=1, max=1048576), help="TensorRT builder workspace (default 1024).")
@click.option("--trt-int8-mode", default=None, type=click.Choice(["qdq", "calibrator"]),
              help="TensorRT INT8 from the QDQ graph (default; TensorRT >= 8.0) or an entropy calibrator (8.x).")
@click.option("--dla-core", default=None, type=click.IntRange(min=0, max=7), help="Build for this DLA core (Xavier NX/AGX, AGX Orin).")
def export_cmd(checkpoint, **kw):
    _host_stack("exporting a checkpoint")
    require_onnx()
    from .export import exporter, profiles

    opts = exporter.Options()
    if kw.get("profile"):
        profiles.apply(opts, profiles.load(kw["profile"]))
    no_simplify = kw.pop("no_simplify")
    if no_simplify:
        opts.simplify = False
    for k, v in kw.items():
        if v is None:
            continue
        if k == "int8_min_sqnr_db" and v < 0:
            v = None  # off
        if k == "batches":
            v = _int_list(v, "--batches")
        elif k == "targets":
            v = tuple(t.strip() for t in v.split(",") if t.strip())
            bad = [t for t in v if t not in ("cpu", "tensorrt")]
            if bad:
                raise EdgeferError("--targets: %s (expected cpu, tensorrt)" % ", ".join(bad))
        elif k == "keep":
            v = tuple(t.strip() for t in v.split(",") if t.strip())
            bad = [t for t in v if not re.match(r"^(fp32|fp16|int8)(/(any|gpu|cpu|tensorrt)(/b[0-9]+)?)?$", t)]
            if bad or not v:
                raise EdgeferError("--keep %s: expected PRECISION[/TARGET[/bBATCH]] items such as int8, int8/cpu, "
                                   "int8/tensorrt/b1" % (", ".join(bad) or "(empty)"))
        setattr(opts, k, v)
    path = exporter.run(checkpoint, opts)
    click.echo(path)


def require_onnx():
    from . import deps
    from .errors import require

    require("onnx", "exporting", deps.TORCH_HINT)
    require("onnxruntime", "exporting", "pip install 'edgefer[cpu,train]'")


def _int_list(text, flag):
    try:
        return tuple(int(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise EdgeferError("%s: %r (expected comma-separated integers, e.g. 1,8)" % (flag, text)) from None


CALIBRATE_HELP = """Select (or show) the calibration list for INT8: a deterministic, class-balanced
sample of the training split, saved as sample ids under --calib-dir with a name that says
what it is (<dataset>-<labels>-<split>-balanced-n<N>-seed<S>.json). An existing list with
that name is reused. `edgefer export --int8` calls the same code.

\b
Examples:
  edgefer calibrate --data ../shared/data/fer2013/fer2013.csv.gz --size 500
  edgefer calibrate --data RAF-DB/basic --size 1000 --seed 1 --calib-dir calibration
  edgefer calibrate --data fer2013.csv.gz --exclude-val runs/vit/split.json
"""


@main.command("calibrate", help=CALIBRATE_HELP, context_settings=CONTEXT)
@_data_options
@click.option("--size", default=500, show_default=True, type=click.IntRange(min=1, max=100000), help="Number of images.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--calib-dir", default="calibration", show_default=True, type=click.Path(file_okay=False))
@click.option("--exclude-val", default=None, type=click.Path(dir_okay=False),
              help="A run's split.json: keep its validation slice out of the calibration set.")
def calibrate_cmd(data, labels, ferplus_csv, size, seed, calib_dir, exclude_val):
    import json

    from .data import open_dataset
    from .export import calibration

    opts = {"ferplus_csv": ferplus_csv} if ferplus_csv else {}
    ds = open_dataset(data, labels=labels, split=None, **opts)
    exclude = []
    if exclude_val:
        with open(exclude_val) as f:
            exclude = json.load(f)["val_ids"]
    path, doc = calibration.make_or_load(ds, calib_dir, size, seed, exclude)
    click.echo("%s: %d images from %s %s (%s)" % (path, doc["size"], ds.name, ds.split,
                                                ", ".join("%s %d" % kv for kv in doc["class_counts"].items())))



RUN_HELP = """Run the camera -> faces -> emotions pipeline on a device (needs OpenCV and
onnxruntime: `pip install 'edgefer[cpu]'`; on a Jetson JetPack's OpenCV and TensorRT).

\b
Sources (--camera N or --source): a camera number or /dev/videoN, a video file, an image,
a folder of images, rtsp:// or http:// streams, a GStreamer pipeline ('... ! appsink'),
csi://0 (Jetson CSI camera) and picam://0 (Raspberry Pi camera through picamera2);
--source repeated for a list of images. The photos of an image, a folder or a list are
classified one by one (no tracking or smoothing across them unless --track-stills), and
every JSON line names the file it came from ("source").
Without --bundle, the model shipped inside the package (edgefer/bundles/default.edgefer:
EfficientNet-Lite0 at 112 px, FER2013 PublicTest top-1 68.77 % in INT8; docs/model-card.md).
Outputs (any number), as output URIs (--output, jetson-inference's spelling): out.mp4 or
out.avi (annotated video), out.jpg or frames/ (images), out.jsonl or - (JSON lines),
display://0 (window), web://HOST:PORT (local web page); or by the aliases --save FILE,
--show, --json FILE and --serve [HOST:]PORT, which resolve to the same URIs.
Nothing is stored unless asked. --privacy blur blurs every face in the frames before any
output sees them (the stream, saved videos and images, the window); --privacy no-video
sends no frame anywhere (JSON lines and the web page's emotions and counts only).
Prints a one-line summary at the end (frames, faces, FPS).

\b
Examples:
  edgefer run --source examples/images/astronaut.jpg --save astronaut-out.jpg
  edgefer run --source photos/ --json - --quiet
  edgefer run --camera 0 --show
  edgefer run --source video.mp4 --json out.jsonl --save out.mp4
  edgefer run --source rtsp://cam.local/stream -o out.jsonl -o web://127.0.0.1:8080
  edgefer run --source csi://0 --backend tensorrt --serve 8080
  edgefer run --source picam://0 --serve 0.0.0.0:8080   # kiosk on the LAN
  edgefer run --camera 0 --serve 8080 --privacy blur      # faces blurred in the stream
  edgefer run --camera 0 --show --tta flip                # each face and its mirror image: more accurate, 2x the classifier
  edgefer run --source group.jpg --detector blazeface-back --save out.jpg
  edgefer run --camera 0 --bundle runs/mine/mine.edgefer --show   # your own exported model
  edgefer run --source room.mp4 --detector yunet --detector-model face_detection_yunet_2023mar.onnx
"""


@main.command("run", help=RUN_HELP, context_settings=CONTEXT)
@click.option("--camera", default=None, type=click.IntRange(min=0), help="Camera number (USB/V4L2), same as --source N.")
@click.option("--source", "sources", multiple=True,
              help="Camera number, file, folder, URL, csi://N, picam://N or GStreamer pipeline; several images: "
                   "repeat --source.")
@click.option("--track-stills", is_flag=True,
              help="Track faces across the photos of an image folder or list (frames of one scene); by default "
                   "each photo is classified on its own.")
@click.option("--bundle", default="default", show_default=True, help="NAME.edgefer folder made by `edgefer export`.")
@click.option("--detector", default="blazeface", show_default=True, type=click.Choice(DETECTORS.names()),
              help="blazeface: close range (kiosk, robot, <= ~2 m), fastest; blazeface-back: room view, small "
                   "faces; yunet: multi-scale (needs --detector-model).")
@click.option("--detector-model", default=None, type=click.Path(dir_okay=False), help="Model file for --detector yunet.")
@click.option("--backend", default="auto", show_default=True,
              type=click.Choice(BACKEND_CHOICES),
              help="Classifier backend; auto picks TensorRT > ORT TensorRT/CUDA > ORT CPU.")
@click.option("--precision", default="auto", show_default=True, type=click.Choice(["auto", "fp32", "fp16", "int8"]),
              help="Which bundle artifact; auto: int8 for the backend's target, else fp16 on GPUs, else fp32.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=0, max=256),
              help="ONNX Runtime threads per model (0 = its default); 1 is fastest for small models.")
@click.option("--output", "-o", "outputs", multiple=True, metavar="URI",
              help="Where results go, as jetson-inference's output URIs (repeatable): out.mp4, frames/, "
                   "out.jsonl or - (JSON lines), display://0, web://127.0.0.1:8080, file://out.avi.")
@click.option("--show", is_flag=True, help="Show a window with boxes, ids and emotions (needs an OpenCV with a GUI).")
@click.option("--save", "save", multiple=True, help="Annotated output: .mp4/.avi video, .jpg/.png image or folder/.")
@click.option("--json", "json_out", default=None, help="JSON lines, one per frame (- for stdout).")
@click.option("--serve", default=None, metavar="[HOST:]PORT",
              help="Serve a local web page with the annotated stream and emotion bars (binds 127.0.0.1 unless HOST).")
@click.option("--privacy", default="off", show_default=True, type=click.Choice(PRIVACY_MODES),
              help="blur: faces blurred in every frame that leaves the pipeline; no-video: no frame leaves at all.")
@click.option("--max-frames", default=None, type=click.IntRange(min=1), help="Stop after N frames.")
@click.option("--width", default=None, type=click.IntRange(min=1, max=16384), help="Camera capture width.")
@click.option("--height", default=None, type=click.IntRange(min=1, max=16384), help="Camera capture height.")
@click.option("--fps", default=None, type=click.FloatRange(0, 1000, min_open=True), help="Camera capture rate (also the timestamps of image folders).")
@click.option("--open-timeout", default=20.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds a camera or stream may take to open and give its first frame.")
@click.option("--score-threshold", default=0.6, show_default=True, type=click.FloatRange(0, 1), help="Detector score threshold.")
@click.option("--min-face", default=0, type=click.IntRange(min=0), help="Ignore faces smaller than N pixels.")
@click.option("--max-faces", default=0, type=click.IntRange(min=0), help="Keep at most N faces per frame (best scores; 0 = all).")
@click.option("--smoothing", default="ema", show_default=True, type=click.Choice(["ema", "window", "none"]),
              help="Per-face smoothing of the class probabilities.")
@click.option("--alpha", default=0.3, show_default=True, type=click.FloatRange(0, 1, min_open=True), help="EMA weight of the newest frame.")
@click.option("--hysteresis", default=0.1, show_default=True, type=click.FloatRange(0, 1),
              help="A face's emotion changes only when another class leads by this much.")
@click.option("--tta", default="none", show_default=True, type=click.Choice(TTA_MODES),
              help="Test-time augmentation: flip classifies each face and its mirror image (logits averaged; "
                   "twice the classifier's time).")
@click.option("--quiet", is_flag=True, help="No progress line.")
def run_cmd(camera, sources, track_stills, bundle, detector, detector_model, backend, precision, threads, outputs,
            show, save, json_out, serve, privacy, max_frames, width, height, fps, open_timeout, score_threshold, min_face,
            max_faces, smoothing, alpha, hysteresis, tta, quiet):
    from .runtime.pipeline import run_source
    from .runtime.sinks import output_uris

    progress = None if quiet else _FrameProgress()
    try:
        summary = run_source(
            _run_source_arg(camera, sources), output_uris(outputs, save, show, json_out, serve), bundle=bundle,
            max_frames=max_frames, progress=progress, track_stills=track_stills,
            source_options=dict(width=width, height=height, fps=fps, open_timeout=open_timeout), detector=detector,
            detector_model=detector_model, backend=backend, precision=precision, threads=threads,
            score_threshold=score_threshold, min_face=min_face, max_faces=max_faces, smoothing=smoothing,
            alpha=alpha, hysteresis=hysteresis, privacy=privacy, tta=tta)
    finally:
        if progress is not None:
            progress.end()
    click.echo(summary.line())


def _run_source_arg(camera, sources):
    """--camera N / --source URI|PATH (repeated: a list of images) -> what open_source takes."""
    if camera is not None and sources:
        raise EdgeferError("--camera and --source: give one of them")
    if camera is None and not sources:
        raise EdgeferError("no input: give --camera N or --source URI|PATH (see edgefer run --help)")
    if camera is not None:
        return camera
    if len(sources) > 1:
        return list(sources)
    return int(sources[0]) if sources[0].strip().isdigit() else sources[0]


class _FrameProgress(object):
    """The run's progress line, at most once a second: frame, faces and their emotions."""

    def __init__(self):
        self.last = 0.0

    def __call__(self, result):
        import time

        now = time.time()
        if now - self.last > 1.0:
            self.last = now
            faces = " ".join("#%d %s %.2f" % (f.track_id, f.emotion, f.confidence) for f in result.faces[:4])
            click.echo("\rframe %d: %d face(s) %s" % (result.index, len(result.faces), faces) + " " * 10,
                       err=True, nl=False)

    def end(self):
        if self.last:
            click.echo("", err=True)


BENCH_HELP = """Benchmark on this device (no torch needed): every artifact of a bundle, or with
--pipeline the whole runtime on a real source. Prints a table and writes JSON (with the
device report; schema: edgefer/bench/bench.schema.json), CSV, markdown and PNG plots.

\b
Model benchmark (BUNDLE): one row per artifact (FP32, FP16, each INT8 flavour and batch)
and backend (--backend: onnxruntime CPU, onnxruntime-cuda, onnxruntime-tensorrt, tensorrt;
a backend this machine lacks gives a row saying why), plus the PyTorch checkpoint where
torch is installed: file size, top-1 and macro-F1 on --split (the numbers `edgefer eval`
gives; without --data, those recorded in the manifest, marked *), latency per call at the
artifact's batch (1 for dynamic ones: median, p90, p99 after --warmup calls), throughput
at the larger batch, FPS.

\b
Pipeline benchmark (--pipeline --source): detector x precision x backend x threads rows,
with median and p99 per stage (read, detect, preprocess, classify, track, output), end-to-end
FPS, camera-to-result latency (live sources), CPU load and peak memory (RSS).

\b
For comparable numbers pin the CPUs (--cpus) and fix the threads (--threads); a row is
flagged (!) when its run was too short or too noisy (min-max spread) to trust.

\b
Examples:
  edgefer bench vit.edgefer
  edgefer bench vit.edgefer --data fer2013.csv.gz --split PublicTest --threads 1,4 --cpus 0-3
  edgefer bench vit.edgefer --backend tensorrt,onnxruntime --precision int8,fp16 --duration 5
  edgefer bench vit.edgefer --pipeline --source room.mp4 --detector blazeface,yunet \\
      --detector-model face_detection_yunet_2023mar.onnx --precision fp32,int8
  edgefer bench vit.edgefer --pipeline --source 0 --max-frames 600   # camera: + camera-to-result
  edgefer bench --from-json vit-bench/model.json     # redraw table, CSV, markdown and plots
"""


def _list_option(text, flag, kind=str):
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise EdgeferError("%s: empty list" % flag)
    if kind is int:
        return list(_int_list(text, flag))
    return items


@main.command("bench", help=BENCH_HELP, context_settings=CONTEXT)
@click.argument("bundle", required=False, default=None, metavar="[BUNDLE]")
@click.option("--data", default=None, type=click.Path(), help="Data set for accuracy (as for edgefer eval); needs --split.")
@click.option("--labels", default=None, metavar="PROTOCOL", help="Label protocol (default: the bundle's).")
@click.option("--ferplus-csv", default=None, type=click.Path(dir_okay=False), help="FER+ votes file for --labels ferplus.")
@click.option("--split", default=None, help="Split for accuracy, e.g. PublicTest (the training split is refused).")
@click.option("--allow-train-split", is_flag=True, help="Allow the training split or the validation slice.")
@click.option("--checkpoint", default=None, type=click.Path(dir_okay=False),
              help="PyTorch checkpoint for the PyTorch row (default: found beside the bundle; needs torch).")
@click.option("--no-pytorch", is_flag=True, help="Leave the PyTorch row out.")
@click.option("--backend", "backends", default=None, metavar="LIST",
              help="Comma-separated: onnxruntime (CPU), onnxruntime-cuda, onnxruntime-tensorrt, tensorrt, auto "
                   "(model default: all of them; pipeline default: auto).")
@click.option("--precision", "precisions", default=None, metavar="LIST",
              help="Comma-separated fp32, fp16, int8 (model default: all; pipeline default: fp32,int8).")
@click.option("--threads", default=None, metavar="LIST",
              help="ONNX Runtime / torch threads, one row each (default: 1 and all usable CPUs; 0 = library default).")
@click.option("--cpus", default=None, metavar="LIST", help="Pin the process to these CPUs, e.g. 0-3 or 2,3 (Linux).")
@click.option("--warmup", default=20, show_default=True, type=click.IntRange(min=0), help="Untimed calls before timing.")
@click.option("--runs", default=200, show_default=True, type=click.IntRange(min=1), help="Timed calls per row.")
@click.option("--duration", default=None, type=click.FloatRange(min=0, min_open=True), help="Time each row for this many seconds instead of --runs.")
@click.option("--batch", default=None, type=click.IntRange(min=1, max=1024),
              help="Throughput batch for dynamic-batch models (default: the bundle's largest fixed batch, else 8).")
@click.option("--max-spread", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Flag a row as too noisy when (max - min) / median latency exceeds this (pipeline rows: "
                   "(p99 - min) / median of the detect stage).")
@click.option("--pipeline", is_flag=True, help="Benchmark the whole runtime on --source instead.")
@click.option("--source", default=None, help="Pipeline source: camera number, video, folder, URL, csi://N, picam://N.")
@click.option("--detector", "detectors", default=None, metavar="LIST",
              help="Pipeline detectors: blazeface, blazeface-back, yunet (default: both BlazeFace models, and yunet "
                   "with --detector-model).")
@click.option("--detector-model", default=None, type=click.Path(dir_okay=False), help="YuNet model file.")
@click.option("--max-frames", default=None, type=click.IntRange(min=1), help="Measured frames per pipeline row (default: whole file; "
                                                           "300 for a camera).")
@click.option("--warmup-frames", default=5, show_default=True, type=click.IntRange(min=0), help="Frames per row left out of the numbers.")
@click.option("--width", default=None, type=click.IntRange(min=1, max=16384), help="Camera capture width.")
@click.option("--height", default=None, type=click.IntRange(min=1, max=16384), help="Camera capture height.")
@click.option("--fps", default=None, type=click.FloatRange(0, 1000, min_open=True), help="Camera capture rate.")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Results folder (default: NAME-bench beside the bundle).")
@click.option("--tag", default=None, help="File name stem of the results (default: model or pipeline).")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--from-json", "from_json", default=None, type=click.Path(dir_okay=False),
              help="Redraw the table, CSV, markdown and plots of a saved result JSON (nothing is measured).")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def bench_cmd(bundle, data, labels, ferplus_csv, split, allow_train_split, checkpoint, no_pytorch, backends, precisions,
              threads, cpus, warmup, runs, duration, batch, max_spread, pipeline, source, detectors, detector_model,
              max_frames, warmup_frames, width, height, fps, out, tag, no_plots, from_json, quiet):
    from .bench import report
    from .bench.run import run_bench

    if quiet:
        _quiet()
    lists = dict(backends=_list_option(backends, "--backend") if backends else None,
                 precisions=_list_option(precisions, "--precision") if precisions else None,
                 threads=_list_option(threads, "--threads", int) if threads else None,
                 detectors=_list_option(detectors, "--detector") if detectors else None)
    doc, paths, notes = run_bench(
        bundle, data=data, labels=labels, ferplus_csv=ferplus_csv, split=split, allow_train_split=allow_train_split,
        checkpoint=checkpoint, pytorch=not no_pytorch, cpus=cpus, warmup=warmup, runs=runs, duration=duration,
        batch=batch, max_spread=max_spread, pipeline=pipeline, source=source, detector_model=detector_model,
        max_frames=max_frames, warmup_frames=warmup_frames, source_options={"width": width, "height": height, "fps": fps},
        out=out, tag=tag, plots=not no_plots, from_json=from_json, **lists)
    click.echo("\n".join(report.print_lines(doc)))
    for n in notes:
        click.echo("note: %s" % n, err=True)
    click.echo("wrote " + ", ".join(paths))
    report.require_a_row(doc)


INFO_HELP = """Describe this device: CPU (model, INT8 dot-product features), cores, RAM, OS and
Python, Jetson model with L4T / JetPack or Raspberry Pi model, ONNX Runtime and its
providers, TensorRT and CUDA, OpenCV (GStreamer, GUI) and the cameras. The same report is
embedded in every `edgefer bench` result. Probes that find nothing are left out.

\b
Examples:
  edgefer info
  edgefer info --json > device.json
"""


@main.command("info", help=INFO_HELP, context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def info_cmd(as_json):
    import json

    from .bench import device

    rep = device.report()
    if as_json:
        click.echo(json.dumps(rep, indent=2))
    else:
        click.echo("\n".join(device.lines(rep)))
