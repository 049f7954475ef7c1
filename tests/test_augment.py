"""Batched training augmentation (edgefer.train.transforms) on real FER2013 faces."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (torch, timm)")

from edgefer.train import transforms  # noqa: E402
from edgefer.train.transforms import BatchAugment  # noqa: E402


@pytest.fixture(scope="module")
def faces(fer_csv):
    from edgefer.data import open_dataset
    from edgefer.preprocess import Preprocess
    from edgefer.train.datasets import TrainFaces

    ds = open_dataset(fer_csv, split="Training")
    tf = TrainFaces(ds.subset(np.arange(64)), Preprocess(size=48))
    return torch.stack([tf[i][0] for i in range(64)])


def _geometry(n, sx=1.0, sy=1.0, tx=0.0, ty=0.0, angle=0.0):
    full = lambda v: torch.full((n,), float(v))  # noqa: E731
    return full(sx), full(sy), full(tx), full(ty), full(angle)


def test_identity_window_returns_the_image(faces):
    x = faces.float() / 255
    y = transforms._affine(x, _geometry(len(x)))
    assert torch.allclose(x, y, atol=1e-5)


def test_flip_and_shift_move_pixels_where_expected(faces):
    x = faces.float() / 255
    assert torch.allclose(transforms._affine(x, _geometry(len(x), sx=-1.0)), x.flip(3), atol=1e-5)
    # a window centred 8 px to the right (in a 48 px image: 1/3 of the half-side) shows
    # the image moved 8 px to the left, the right border replicated
    y = transforms._affine(x, _geometry(len(x), tx=8 / 24))
    assert torch.allclose(y[..., :40], x[..., 8:], atol=1e-5)
    assert torch.allclose(y[..., 40:], x[..., 47:48].expand(-1, -1, -1, 8), atol=1e-5)


def test_recipes_are_seeded_bounded_and_change_the_batch(faces):
    for recipe in transforms.RECIPES:
        a = BatchAugment(recipe)(faces, torch.Generator().manual_seed(5))
        b = BatchAugment(recipe)(faces, torch.Generator().manual_seed(5))
        c = BatchAugment(recipe)(faces, torch.Generator().manual_seed(6))
        assert a.shape == faces.shape and a.dtype == torch.float32
        assert torch.equal(a, b), recipe
        assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
        if recipe == "none":
            assert torch.equal(a, faces.float() / 255)
        else:
            assert not torch.equal(a, c), recipe
            changed = (a - faces.float() / 255).abs().flatten(1).amax(1) > 1e-3
            assert 0.3 < float(changed.float().mean()) <= 1.0, recipe


def test_random_erasing_covers_the_asked_share_of_the_image():
    x = torch.ones(2000, 1, 48, 48)
    y = transforms._erase(x, torch.Generator().manual_seed(0), p=0.5, area=(0.02, 0.33), ratio=(0.3, 3.3))
    erased = (y == 0).flatten(1).float().mean(1)
    hit = erased > 0
    assert 0.45 < float(hit.float().mean()) < 0.55
    assert float(erased[hit].min()) >= 0.005 and float(erased[hit].max()) <= 0.34


def test_rgb_batches_keep_their_channels(faces):
    rgb = faces.expand(-1, 3, -1, -1).contiguous()
    rgb[:, 1] = 255 - rgb[:, 1]
    y = BatchAugment("fer")(rgb, torch.Generator().manual_seed(0))
    assert y.shape == rgb.shape
    assert not torch.allclose(y[:, 0], y[:, 1])


def test_unknown_recipe_is_refused():
    with pytest.raises(ValueError, match="fer"):
        BatchAugment("autoaugment")


def test_scale_replaces_the_recipes_window_and_is_checked(faces, monkeypatch):
    """--scale: the random window's area range instead of the recipe's; recipes without a
    window, and ranges that are not 0 < LO <= HI, are refused with the flag's name."""
    from edgefer.errors import EdgeferError
    from edgefer.train.loop import TrainConfig

    drawn = []
    params = transforms._params
    monkeypatch.setattr(transforms, "_params", lambda n, gen, area, **kw: drawn.append(area) or params(n, gen, area, **kw))
    wide = BatchAugment("fer", [0.6, 1.5])
    a = wide(faces, torch.Generator().manual_seed(5))
    b = BatchAugment("fer")(faces, torch.Generator().manual_seed(5))
    assert drawn == [(0.6, 1.5), (0.8, 1.2)] and not torch.equal(a, b)
    assert torch.equal(a, wide(faces, torch.Generator().manual_seed(5)))
    assert BatchAugment("effnet").scale == (0.8, 1.0) and BatchAugment("effvit").scale is None
    with pytest.raises(ValueError, match="--scale: the effvit augmentation draws no scaled window"):
        BatchAugment("effvit", (0.6, 1.5))
    with pytest.raises(ValueError, match="--scale: expected 0 < LO <= HI"):
        BatchAugment("fer", (1.5, 0.6))
    # the trainer refuses it before any data is read, and keeps it in the run's config
    with pytest.raises(EdgeferError, match="--scale: the none augmentation"):
        TrainConfig(data="x", augment="none", scale=(0.6, 1.5)).resolved()
    assert TrainConfig(data="x", arch="efficientnet_lite0", scale=[0.6, 1.5]).resolved().scale == (0.6, 1.5)
