import numpy as np
import pytest

from edgefer.errors import EdgeferError
from edgefer.preprocess import Framing, Preprocess, framed_box


def test_gray3_and_normalisation():
    img = np.arange(48 * 48, dtype=np.uint32).reshape(48, 48).astype(np.uint8)
    pre = Preprocess(size=48)
    x = pre(img)
    assert x.shape == (3, 48, 48) and x.dtype == np.float32
    assert np.array_equal(x[0], x[1]) and np.array_equal(x[1], x[2])
    # mean/std 0.5 map 0 -> -1 and 255 -> +1
    assert np.allclose(pre(np.zeros((4, 4), np.uint8))[0], -1.0)
    assert np.allclose(pre(np.full((4, 4), 255, np.uint8))[0], 1.0, atol=1e-6)
    assert np.allclose(x[0], img / 127.5 - 1.0, atol=1e-6)


def test_colour_orders_agree():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    bgr = rgb[:, :, ::-1].copy()
    rgba = np.dstack([rgb, np.full((40, 30), 255, np.uint8)])
    for color in ("gray3", "rgb"):
        pre = Preprocess(size=32, color=color)
        a, b, c = pre(rgb), pre(bgr, bgr=True), pre(rgba)
        assert np.array_equal(a, b) and np.array_equal(a, c)
    x = Preprocess(size=32, color="rgb")(rgb)
    assert not np.array_equal(x[0], x[2])  # real colour, not replicated


def test_crop_with_margin_and_clipping():
    img = np.zeros((100, 200), np.uint8)
    img[40:60, 90:110] = 255  # a 20x20 "face"
    f = Framing(margin=0.5)
    assert framed_box((90, 40, 110, 60), f) == (85.0, 35.0, 115.0, 65.0)
    pre = Preprocess(size=30, framing=f, interpolation="nearest")
    crop = pre.crop(img, (90, 40, 110, 60))
    assert crop.shape == (30, 30) and crop[5:25, 5:25].min() == 255 and crop[:5].max() == 0
    # a box at the corner: the crop keeps its size, the outside replicates the border
    edge = pre.crop(img, (-10, -10, 10, 10))
    assert edge.shape == (30, 30)
    # square framing of a tall box
    x0, y0, x1, y1 = framed_box((0, 0, 10, 20), Framing(square=True))
    assert (x1 - x0, y1 - y0) == (20.0, 20.0)


def test_alignment_levels_the_eyes():
    img = np.zeros((100, 100), np.uint8)
    pre = Preprocess(size=32, framing=Framing(align=True))
    tilted = pre.crop(img, (30, 30, 70, 70), landmarks=[(40, 45), (60, 55)])
    assert tilted.shape == (40, 40)
    with pytest.raises(EdgeferError, match="no area"):
        pre.crop(img, (10, 10, 10, 30))


def test_block_roundtrip_and_validation():
    pre = Preprocess(size=112, color="rgb", interpolation="linear", mean=(0.485, 0.456, 0.406),
                     std=(0.229, 0.224, 0.225), framing={"margin": 0.2, "shift_y": 0.05})
    d = pre.to_dict()
    assert Preprocess.from_dict(d) == pre
    assert d["framing"] == {"margin": 0.2, "shift_y": 0.05, "square": True, "align": False}
    with pytest.raises(EdgeferError, match="color"):
        Preprocess(color="bgr")
    with pytest.raises(EdgeferError, match="unknown keys"):
        Preprocess.from_dict(dict(d, extra=1))
    with pytest.raises(EdgeferError, match="dtype float64"):
        pre(np.zeros((10, 10)))
    with pytest.raises(EdgeferError, match="shape"):
        pre(np.zeros((10, 10, 2), np.uint8))


def test_batch_matches_single():
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 256, (48, 48), dtype=np.uint8) for _ in range(3)]
    pre = Preprocess(size=64)
    b = pre.batch(imgs)
    assert b.shape == (3, 3, 64, 64)
    for i in range(3):
        assert np.array_equal(b[i], pre(imgs[i]))
