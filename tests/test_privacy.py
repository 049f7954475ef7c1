"""Privacy modes (edgefer/runtime/privacy.py): ``blur`` blurs every face in the frames that
leave the pipeline, saved files included; ``no-video`` lets no frame leave at all."""

import json
import os

import numpy as np
import pytest

from conftest import ROOT, run_cli
from edgefer.errors import EdgeferError
from edgefer.runtime import privacy

cv2 = pytest.importorskip("cv2", reason="the runtime needs OpenCV (pip install 'edgefer[cpu]')")

ASTRONAUT = os.path.join(ROOT, "examples", "images", "astronaut.jpg")


def _detail(image, box, inset=0.2):
    x0, y0, x1, y1 = box
    dx, dy = inset * (x1 - x0), inset * (y1 - y0)
    region = image[int(y0 + dy):int(y1 - dy), int(x0 + dx):int(x1 - dx)]
    return float(cv2.Laplacian(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_blur_faces_removes_the_detail_of_each_box_and_nothing_else():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    boxes = [(40.0, 30.0, 120.0, 130.0), (200.0, 50.0, 260.0, 110.0)]
    out = privacy.blur_faces(image, boxes, margin=0.25)
    assert out.shape == image.shape and out.dtype == np.uint8 and not np.shares_memory(out, image)
    for box in boxes:
        assert _detail(out, box) < 0.02 * _detail(image, box), box
    assert np.array_equal(out[160:, :], image[160:, :]) and np.array_equal(out[:, 145:180], image[:, 145:180])
    edge = privacy.blur_faces(image, [(-50.0, -50.0, 20.0, 20.0), (299.0, 199.0, 400.0, 300.0)])  # partly outside
    assert edge.shape == image.shape


def test_modes_are_checked_by_name():
    assert privacy.shows_video("off") and privacy.shows_video("blur") and not privacy.shows_video("no-video")
    with pytest.raises(EdgeferError) as e:
        privacy.check_mode("none")
    assert "off, blur, no-video" in str(e.value)


def test_run_with_privacy_blur_saves_an_image_whose_face_is_blurred(tmp_path):
    out, lines = str(tmp_path / "out.jpg"), str(tmp_path / "out.jsonl")
    p = run_cli("run", "--source", ASTRONAUT, "--privacy", "blur", "--save", out, "--json", lines, "--quiet",
                timeout=300)
    assert p.returncode == 0, p.stderr
    box = json.loads(open(lines).readline())["faces"][0]["box"]
    saved, original = cv2.imread(out), cv2.imread(ASTRONAUT)
    assert _detail(saved, box) < 0.1 * _detail(original, box)
    x0, y0, x1, y1 = (int(v) for v in box)
    below = (slice(min(y1 + 2 * (y1 - y0), saved.shape[0] - 40), None), slice(None))  # the suit, far from the face
    assert np.abs(saved[below].astype(int) - original[below].astype(int)).mean() < 4  # only JPEG's loss


def test_privacy_no_video_refuses_every_output_that_carries_frames(tmp_path):
    for out in ("x.jpg", "x.mp4", "frames/", "display://0"):
        p = run_cli("run", "--source", ASTRONAUT, "--privacy", "no-video", "-o", str(tmp_path / out)
                    if "://" not in out else out, timeout=120)
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
        assert "privacy mode no-video sends no frame anywhere" in p.stderr.strip().splitlines()[-1], p.stderr
    assert os.listdir(str(tmp_path)) == []
    p = run_cli("run", "--source", ASTRONAUT, "--privacy", "no-video", "--json", "-", "--quiet", timeout=300)
    assert p.returncode == 0 and json.loads(p.stdout.splitlines()[0])["faces"], p.stderr


def test_the_api_refuses_frame_sinks_under_no_video_and_the_page_drops_its_stream(tmp_path):
    import urllib.error
    import urllib.request

    import edgefer
    from edgefer.runtime.sinks import VideoFileSink
    from edgefer.runtime.web import WebSink

    image = cv2.imread(ASTRONAUT)
    with edgefer.Pipeline(privacy="no-video") as pipe:
        with pytest.raises(EdgeferError) as e:
            list(pipe.stream(ASTRONAUT, sinks=[VideoFileSink(str(tmp_path / "v.mp4"))]))
        assert "VideoFileSink" in str(e.value)
        with pytest.raises(EdgeferError):
            list(pipe.stream(ASTRONAUT, sinks=[str(tmp_path / "x.png")]))
        result = pipe.process(image)
    with WebSink(port=0, privacy="no-video") as web:
        web.write(result)
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(web.url + "stream.mjpg", timeout=5)
        assert e.value.code == 404
        page = urllib.request.urlopen(web.url, timeout=5).read().decode("utf-8")
        assert "/stream.mjpg\"" not in page and "No video leaves the device" in page
        health = json.loads(urllib.request.urlopen(web.url + "healthz", timeout=5).read())
        assert health["privacy"] == "no-video" and health["video"] is False
    assert not os.listdir(str(tmp_path))
