"""Training augmentations (torchvision.transforms.v2), applied after the shared
preprocessing has framed, converted and resized the face (:meth:`Preprocess.prepare`).

Recipes (``--augment``):

* ``effvit`` — the EfficientViT-M5 FER paper's: random horizontal and vertical flips,
  Gaussian blur, additive Gaussian noise, then normalisation (to [-1, 1] with the default
  block). The ops are the paper's; the probabilities are ours (vertical flips at 0.1: the
  runtime never sees upside-down faces, and at 0.5 they cost accuracy).
* ``effnet`` — the EfficientNet-B0 + attention paper's: random rotation (±15°),
  horizontal flip, zoom/crop (random resized crop, 80-100 % of the area), with mixup
  (``--mixup``, on by default for this recipe).
* ``none`` — no augmentation (the evaluation input).

Evaluation never goes through here: it uses :class:`edgefer.preprocess.Preprocess` alone.
"""

import torch
from torchvision.transforms import v2

RECIPES = ("effvit", "effnet", "none")
DEFAULT_RECIPE = {"efficientvit_m5": "effvit", "efficientnet_b0_attn": "effnet"}
DEFAULT_MIXUP = {"effvit": 0.0, "effnet": 0.2}


def build_train_transform(recipe, size):
    """uint8 CxHxW tensor -> float CxHxW in [0, 1], augmented."""
    to_float = v2.ToDtype(torch.float32, scale=True)
    if recipe == "none":
        return to_float
    if recipe == "effvit":
        return v2.Compose([
            v2.RandomHorizontalFlip(0.5),
            v2.RandomVerticalFlip(0.1),
            v2.RandomApply([v2.GaussianBlur(3, sigma=(0.1, 1.0))], p=0.3),
            to_float,
            v2.RandomApply([v2.GaussianNoise(mean=0.0, sigma=0.03, clip=True)], p=0.3),
        ])
    if recipe == "effnet":
        return v2.Compose([
            v2.RandomRotation(15),
            v2.RandomHorizontalFlip(0.5),
            v2.RandomResizedCrop(size, scale=(0.8, 1.0), ratio=(0.9, 1.1), antialias=True),
            to_float,
        ])
    raise ValueError("unknown augmentation recipe %r (expected one of %s)" % (recipe, ", ".join(RECIPES)))
