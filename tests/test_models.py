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
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"junk")
    with pytest.raises(EdgeferError, match="junk.pth"):
        create_model("efficientvit_m5", 7, weights=str(junk))
