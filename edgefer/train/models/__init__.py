"""Model factory (host side: needs torch and timm, the ``train`` extra).

    from edgefer.train.models import create_model
    model = create_model("efficientvit_m5", num_classes=7, img_size=64)

Architectures:

* ``efficientvit_m5`` — timm's EfficientViT-M5 (Microsoft, CVPR 2023), trunk kept, a new
  classification head for the emotion classes. ``img_size`` sets the attention-bias tables
  (timm resizes pretrained ones when the size differs from 224).
* ``efficientnet_b0_attn`` — timm's EfficientNet-B0 trunk + spatial attention over the
  last feature map, dropout, a new head (:mod:`edgefer.train.models.attention`).
* any other timm model name (e.g. ``efficientnet_lite0``, ``mobilenetv3_large_100``) with a
  new head, for experiments.

Weights: ``pretrained=True`` downloads timm's ImageNet weights from the Hugging Face hub
(needs internet); ``weights=FILE`` loads local weights (a timm/PyTorch state dict,
``.pth``/``.bin``/``.safetensors``) through timm's own loader, which drops the old
classifier and resizes what depends on the input size.
"""

import os

from ...errors import EdgeferError

ARCHS = ("efficientvit_m5", "efficientnet_b0_attn")
DEFAULT_DROP_RATE = {"efficientvit_m5": 0.2, "efficientnet_b0_attn": 0.3}


def _pretrained_args(pretrained, weights):
    if weights:
        if not os.path.isfile(weights):
            raise EdgeferError("--weights: %s does not exist (expected a timm/PyTorch state dict file)" % weights)
        return True, {"file": os.path.abspath(weights)}
    return bool(pretrained), None


def model_config(arch, num_classes, img_size, drop_rate=None):
    """The plain dict a checkpoint keeps to rebuild the model (key ``model`` of a checkpoint)."""
    if drop_rate is None:
        drop_rate = DEFAULT_DROP_RATE.get(arch, 0.2)
    return {"arch": arch, "num_classes": int(num_classes), "img_size": int(img_size), "drop_rate": float(drop_rate)}


def create_model(arch, num_classes, img_size=224, drop_rate=None, pretrained=False, weights=None):
    """Build a classifier. Returns a ``torch.nn.Module`` taking Nx3xHxW float input
    (``H = W = img_size``) and returning N x num_classes logits."""
    try:
        import timm
    except ImportError:
        raise EdgeferError("building a model needs torch and timm: pip install 'edgefer[train]'") from None
    cfg = model_config(arch, num_classes, img_size, drop_rate)
    pre, overlay = _pretrained_args(pretrained, weights)
    try:
        if arch == "efficientnet_b0_attn":
            from .attention import EfficientNetAttention

            return EfficientNetAttention(num_classes, "efficientnet_b0", drop_rate=cfg["drop_rate"],
                                         pretrained=pre, pretrained_cfg_overlay=overlay)
        kwargs = {}
        if arch.startswith("efficientvit_m"):
            kwargs["img_size"] = cfg["img_size"]
        if arch not in ARCHS and not timm.is_model(arch):
            raise EdgeferError("--arch: unknown architecture %r (expected %s, or a timm model name)" % (arch, ", ".join(ARCHS)))
        return timm.create_model(arch, pretrained=pre, num_classes=num_classes, drop_rate=cfg["drop_rate"],
                                 pretrained_cfg_overlay=overlay, **kwargs)
    except EdgeferError:
        raise
    except Exception as exc:  # timm/torch raise many types for a foreign, damaged or missing file
        if weights:
            raise EdgeferError("--weights %s: cannot load into %s: %s" % (weights, arch, str(exc).splitlines()[0])) from None
        if pretrained:
            raise EdgeferError(
                "--pretrained: cannot fetch timm's ImageNet weights for %s (%s); without internet, download "
                "them elsewhere and pass --weights FILE" % (arch, str(exc).splitlines()[0])
            ) from None
        raise


def create_from_config(cfg):
    """Rebuild a model from a checkpoint's ``model`` dict (random weights; load the state dict after)."""
    return create_model(cfg["arch"], cfg["num_classes"], cfg["img_size"], cfg.get("drop_rate"))
