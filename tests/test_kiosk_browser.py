"""examples/kiosk/ in a real headless browser: Debian's Chromium driven by Selenium through
chromium-driver (both installed by .ci/run; README "Set up"). The kiosk plays a video made of
real photos at its own pace with the shipped model: the page loads, the stream shows frames,
the bars move while the video plays, privacy mode blurs the faces (measured on the pixels the
browser shows) or sends no video at all, and the server listens on 127.0.0.1 only."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from conftest import ROOT, photo_video

cv2 = pytest.importorskip("cv2", reason="the runtime needs OpenCV (pip install 'edgefer[cpu]')")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")

KIOSK = os.path.join(ROOT, "examples", "kiosk", "kiosk.py")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="no Chromium and ChromeDriver here (Debian: apt install chromium chromium-driver)")

# three photos, one after the other: one face, a group (six faces), one face; the bars must
# move when the faces change, and the count follows the frame
CHANGING = [("facerec_obama.jpg", 25), ("linzaer_1.jpg", 25), ("facerec_lin-manuel-miranda.png", 25)]
STILL = [("facerec_obama.jpg", 40)]  # one face, unmoving: the same pixels with and without blur


class Kiosk(object):
    """examples/kiosk/kiosk.py in a process: its URL, its /latest.json, its end."""

    def __init__(self, video, privacy="off"):
        self.proc = subprocess.Popen([sys.executable, KIOSK, "--source", video, "--loop", "--port", "0",
                                      "--privacy", privacy], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("kiosk at http://127.0.0.1:"), (line, self.proc.stderr.read()[-2000:])
        self.url = line.split()[2]
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))

    def latest(self):
        with urllib.request.urlopen(self.url + "latest.json", timeout=5) as r:
            return json.loads(r.read())

    def status(self, path):
        try:
            with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()  # SIGTERM, as systemd stops it
        try:
            assert self.proc.wait(timeout=20) == 0, self.proc.stderr.read()[-2000:]
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,720"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kiosk")
    changing, still = str(folder / "changing.avi"), str(folder / "still.avi")
    photo_video(changing, CHANGING)
    photo_video(still, STILL)
    return {"changing": changing, "still": still}


def _wait(condition, seconds=20.0, what="the page"):
    end = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < end, "timed out waiting for %s" % what
        time.sleep(0.1)


def _bars(driver):
    """{person id: {label: width %}} as the page shows them."""
    return driver.execute_script("""
        var out = {};
        document.querySelectorAll('.person').forEach(function (p) {
          var bars = {};
          p.querySelectorAll('.bar').forEach(function (b) { bars[b.dataset.label] = parseFloat(b.style.width); });
          out[p.dataset.id] = bars;
        });
        return out;""")


def _stream_pixels(driver):
    """The stream as the browser shows it (a screenshot of the <img>), at the frame's own size."""
    _wait(lambda: driver.execute_script("var i = document.getElementById('stream');"
                                        "return i && i.complete && i.naturalWidth > 0;"), what="a stream frame")
    png = driver.find_element("id", "stream").screenshot_as_png
    shown = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    natural = driver.execute_script("var i = document.getElementById('stream'); return [i.naturalWidth, i.naturalHeight];")
    return cv2.resize(shown, tuple(natural), interpolation=cv2.INTER_AREA)


def _detail(image, box, inset=0.2):
    """Variance of the Laplacian inside the box (shrunk by ``inset`` of its size, clear of the
    overlay's outline): high on a sharp face, near zero on a blurred one."""
    x0, y0, x1, y1 = box
    dx, dy = inset * (x1 - x0), inset * (y1 - y0)
    a, b, c, d = int(x0 + dx), int(y0 + dy), int(x1 - dx), int(y1 - dy)
    gray = cv2.cvtColor(image[b:d, a:c], cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def test_the_kiosk_page_shows_the_stream_and_moving_bars(browser, videos):
    with Kiosk(videos["changing"]) as kiosk:
        browser.get(kiosk.url)
        assert browser.title == "edgefer kiosk"
        _wait(lambda: browser.find_elements("css selector", ".person"), what="a person's card")
        first = _stream_pixels(browser)
        assert first.shape[:2] == (360, 640) and first.std() > 20, "the stream shows a real frame"
        seen, frames, counts, change, t0 = [], set(), [], 0.0, time.monotonic()
        while time.monotonic() - t0 < 9:  # the video's three photos take 7.5 s
            seen.append(json.dumps(_bars(browser), sort_keys=True))
            frames.add(browser.execute_script("return document.body.dataset.frame"))
            # the count and the cards in one script: both come from the same rendered record
            counts.append(browser.execute_script("return [document.getElementById('count').textContent,"
                                                 " document.querySelectorAll('.person').length];"))
            if len(seen) % 4 == 0:
                change = max(change, float(np.abs(_stream_pixels(browser).astype(int) - first.astype(int)).mean()))
            time.sleep(0.3)
        assert change > 10, "the stream moves on to newer frames (%.1f)" % change
        # one state of the bars per photo at least, whatever the people's ids (a still photo's
        # bars settle within a few frames, so how many transitions a 0.3 s poll catches depends
        # on the machine)
        shown = {json.dumps(sorted(json.loads(x).values(), key=json.dumps), sort_keys=True) for x in seen}
        assert len(shown) >= 3, "the bars move while the video plays"
        assert len(frames) >= 10, "the page follows the frames"
        label_sets = [set(b) for bars in map(json.loads, seen) for b in bars.values()]
        assert label_sets and all(s == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
                                  for s in label_sets)
        # "N person/people: ..." with one card per face, for the single faces and the group alike
        # (which photo is on screen at a given moment depends on the machine's speed)
        for text, cards in counts:
            n = 0 if text == "nobody here" else int(text.split()[0])
            assert n == 0 or text.startswith("%d %s: " % (n, "person" if n == 1 else "people")), text
            assert n == cards, (text, cards)
        sizes = {cards for _, cards in counts}
        assert 1 in sizes and max(sizes) >= 2, sizes
        # the server listens on loopback only
        assert kiosk.url.startswith("http://127.0.0.1:")
        address = _own_address()
        if address:
            with pytest.raises(OSError):
                socket.create_connection((address, kiosk.port), timeout=3).close()


def test_privacy_blur_blurs_every_face_in_the_stream(browser, videos):
    sharp = {}
    for privacy in ("off", "blur"):
        with Kiosk(videos["still"], privacy) as kiosk:
            browser.get(kiosk.url)
            _wait(lambda: browser.find_elements("css selector", ".person"), what="a person's card")
            if privacy == "blur":
                _wait(lambda: browser.find_element("id", "privacy").text == "faces blurred", what="the badge")
            box = _wait(lambda: kiosk.latest() and kiosk.latest()["faces"] and kiosk.latest()["faces"][0]["box"],
                        what="a face")
            sharp[privacy] = _detail(_stream_pixels(browser), box)
    assert sharp["off"] > 50, sharp  # the measure sees a face's detail...
    assert sharp["blur"] < 0.1 * sharp["off"], sharp  # ...and its absence


def test_privacy_no_video_shows_counts_and_emotions_only(browser, videos):
    with Kiosk(videos["changing"], "no-video") as kiosk:
        assert kiosk.status("/stream.mjpg") == 404 and kiosk.status("/healthz") == 200
        browser.get(kiosk.url)
        _wait(lambda: browser.find_elements("css selector", ".person"), what="a person's card")
        assert browser.execute_script("return document.getElementById('stream') === null")
        assert browser.execute_script("return document.querySelectorAll('img, video, canvas').length") == 0
        assert browser.find_element("id", "count").text.startswith("1 person: ")
        assert "No video leaves this device" in browser.find_element("id", "note").text


def _own_address():
    """This machine's address on its network (not loopback), or None when it has none."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address
