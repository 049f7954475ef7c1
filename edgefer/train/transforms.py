"""Training augmentation, applied to whole batches: the shared preprocessing frames,
converts and resizes each face once (:meth:`Preprocess.prepare`, uint8), and the batch is
then augmented in torch on the training device.

Why batched and not torchvision's per-image transforms: on a 2-core CPU the per-image
pipeline (a tensor, an affine warp and a blur per 48x48 face, in the training process)
cost more than a third of each step. One affine ``grid_sample`` over the batch does every
geometric change (flip, scale, shift, rotation, aspect) in one call and costs about 1 % of
a step; photometric changes and random erasing are batched tensor ops too.

Recipes (``--augment``):

* ``fer`` — the FER2013 record holders' (Khaireddin & Chen 2021; the default): random
  scale 0.8-1.2 of the area (also the framing jitter of detector boxes; ``--scale`` widens
  it: the default detector's boxes vary about twice as much), shift up to 20 %
  (p 0.5), rotation up to 10 degrees (p 0.5), horizontal flip, brightness and contrast
  up to 50 % (p 0.5), random erasing (p 0.5, 2-33 % of the area). Their ten-crop training
  is replaced by the random shift (ten crops are ten times the compute).
* ``effvit`` — the EfficientViT-M5 FER paper's: horizontal and vertical flips, Gaussian
  blur, additive Gaussian noise (probabilities ours: vertical flips at 0.1, the runtime
  never sees upside-down faces).
* ``effnet`` — the EfficientNet-B0 + attention paper's: rotation up to 15 degrees,
  horizontal flip, zoom/crop (80-100 % of the area, aspect 0.9-1.1), with mixup
  (``--mixup``, on by default for this recipe).
* ``none`` — no augmentation (the evaluation input).

Every draw comes from the ``torch.Generator`` passed in, so a seeded epoch augments the
same way after a resume. Evaluation never goes through here: it uses
:class:`edgefer.preprocess.Preprocess` alone.
"""

import math

import torch
import torch.nn.functional as F

RECIPES = ("fer", "effvit", "effnet", "none")
DEFAULT_MIXUP = {"fer": 0.0, "effvit": 0.0, "effnet": 0.2}
# The area range of each recipe's random window (a fraction of the face; above 1 zooms out):
# ``scale`` (``--scale``, timm's name for it) replaces it. effvit and none draw no window.
SCALE = {"fer": (0.8, 1.2), "effnet": (0.8, 1.0)}


def check_scale(recipe, scale):
    """``scale`` as a (lo, hi) tuple, or None for the recipe's; a clear error otherwise."""
    if scale is None:
        return None
    lo, hi = (float(v) for v in scale)
    if recipe not in SCALE:
        raise ValueError("--scale: the %s augmentation draws no scaled window (fer and effnet do)" % recipe)
    if not 0 < lo <= hi:
        raise ValueError("--scale: expected 0 < LO <= HI (areas as fractions of the face), got %g %g" % (lo, hi))
    return lo, hi


class BatchAugment(object):
    """uint8 N x C x H x W batch (C = 1 for gray3, 3 for rgb) -> augmented float in [0, 1].
    ``scale``: the window's area range instead of the recipe's (:data:`SCALE`)."""

    def __init__(self, recipe, scale=None):
        if recipe not in RECIPES:
            raise ValueError("unknown augmentation recipe %r (expected one of %s)" % (recipe, ", ".join(RECIPES)))
        self.recipe = recipe
        self.scale = check_scale(recipe, scale) or SCALE.get(recipe)

    def __call__(self, batch, gen):
        x = batch.float().div_(255.0)
        if self.recipe == "none":
            return x
        n = x.shape[0]
        if self.recipe == "fer":
            x = _affine(x, _params(n, gen, area=self.scale, aspect=(1.0, 1.0), shift=0.2, p_shift=0.5,
                                   degrees=10.0, p_rotate=0.5, p_hflip=0.5, p_vflip=0.0))
            x = _brightness_contrast(x, gen, 0.5, p=0.5)
            return _erase(x, gen, p=0.5, area=(0.02, 0.33), ratio=(0.3, 3.3))
        if self.recipe == "effvit":
            x = _affine(x, _params(n, gen, area=(1.0, 1.0), aspect=(1.0, 1.0), shift=0.0, p_shift=0.0,
                                   degrees=0.0, p_rotate=0.0, p_hflip=0.5, p_vflip=0.1))
            x = _blur(x, gen, sigma=(0.1, 1.0), p=0.3)
            return _noise(x, gen, sigma=0.03, p=0.3)
        # effnet: RandomRotation(15), flip, RandomResizedCrop(scale 0.8-1.0, ratio 0.9-1.1)
        return _affine(x, _params(n, gen, area=self.scale, aspect=(0.9, 1.1), shift=0.0, p_shift=0.0,
                                  degrees=15.0, p_rotate=1.0, p_hflip=0.5, p_vflip=0.0, crop_shift=True))


def _uniform(n, gen, lo, hi):
    return torch.rand(n, generator=gen) * (hi - lo) + lo


def _chance(n, gen, p):
    return torch.rand(n, generator=gen) < p


def _params(n, gen, area, aspect, shift, p_shift, degrees, p_rotate, p_hflip, p_vflip, crop_shift=False):
    """Per-sample geometry: the sampled window's half-sides (sx, sy, in units of the image's
    half-side), its centre (tx, ty), rotation (radians) and flips."""
    s = _uniform(n, gen, area[0], area[1]).sqrt()
    r = torch.exp(_uniform(n, gen, math.log(aspect[0]), math.log(aspect[1]))).sqrt()
    sx, sy = s * r, s / r
    tx = _uniform(n, gen, -shift, shift) * 2 * _chance(n, gen, p_shift)
    ty = _uniform(n, gen, -shift, shift) * 2 * _chance(n, gen, p_shift)
    if crop_shift:  # a random crop window that stays inside the image
        tx = _uniform(n, gen, -1, 1) * (1 - sx).clamp_min(0)
        ty = _uniform(n, gen, -1, 1) * (1 - sy).clamp_min(0)
    angle = _uniform(n, gen, -degrees, degrees) * (math.pi / 180) * _chance(n, gen, p_rotate)
    hflip = torch.where(_chance(n, gen, p_hflip), -1.0, 1.0)
    vflip = torch.where(_chance(n, gen, p_vflip), -1.0, 1.0)
    return sx * hflip, sy * vflip, tx, ty, angle


def _affine(x, params):
    """Sample each image through its own window: output pixel u maps to input
    R(angle) @ diag(sx, sy) @ u + t in normalised coordinates; borders replicate, as the
    runtime's crops of faces at the frame edge do."""
    sx, sy, tx, ty, angle = params
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos * sx, -sin * sy, tx], 1),
                         torch.stack([sin * sx, cos * sy, ty], 1)], 1).to(x.device, x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _per_sample(values, x):
    return values.to(x.device, x.dtype).view(-1, 1, 1, 1)


def _brightness_contrast(x, gen, strength, p):
    n = x.shape[0]
    on = _chance(n, gen, p)
    b = torch.where(on, _uniform(n, gen, 1 - strength, 1 + strength), 1.0)
    c = torch.where(on, _uniform(n, gen, 1 - strength, 1 + strength), 1.0)
    x = x * _per_sample(b, x)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * _per_sample(c, x) + mean).clamp_(0.0, 1.0)


def _erase(x, gen, p, area, ratio):
    """Random erasing (Zhong et al. 2020) with value 0, torchvision's default: one
    rectangle per chosen sample, 2-33 % of the area, aspect 0.3-3.3, clipped to the image."""
    n, _, h, w = x.shape
    on = _chance(n, gen, p)
    a = _uniform(n, gen, area[0], area[1]) * h * w
    r = torch.exp(_uniform(n, gen, math.log(ratio[0]), math.log(ratio[1])))
    eh = (a * r).sqrt().clamp(1, h)
    ew = (a / r).sqrt().clamp(1, w)
    y0 = _uniform(n, gen, 0, 1) * (h - eh)
    x0 = _uniform(n, gen, 0, 1) * (w - ew)
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    inside = ((rows >= y0.view(-1, 1, 1)) & (rows < (y0 + eh).view(-1, 1, 1)) &
              (cols >= x0.view(-1, 1, 1)) & (cols < (x0 + ew).view(-1, 1, 1)) & on.view(-1, 1, 1))
    return x.masked_fill(inside.unsqueeze(1).to(x.device), 0.0)


def _blur(x, gen, sigma, p):
    """Gaussian blur, 3x3, a sigma per sample (a grouped convolution: one kernel per image)."""
    n, c, h, w = x.shape
    s = _uniform(n, gen, sigma[0], sigma[1])
    on = _chance(n, gen, p)
    k1 = torch.exp(-(torch.tensor([-1.0, 0.0, 1.0]).view(1, 3) ** 2) / (2 * s.view(-1, 1) ** 2))
    k1 = k1 / k1.sum(1, keepdim=True)
    k1 = torch.where(on.view(-1, 1), k1, torch.tensor([0.0, 1.0, 0.0]))
    k2 = (k1[:, :, None] * k1[:, None, :]).repeat_interleave(c, 0).unsqueeze(1).to(x.device, x.dtype)
    y = F.conv2d(F.pad(x.reshape(1, n * c, h, w), (1, 1, 1, 1), mode="replicate"), k2, groups=n * c)
    return y.view(n, c, h, w)


def _noise(x, gen, sigma, p):
    n = x.shape[0]
    on = _per_sample(_chance(n, gen, p).float(), x)
    noise = torch.randn(x.shape, generator=gen).to(x.device, x.dtype)
    return (x + noise * sigma * on).clamp_(0.0, 1.0)
