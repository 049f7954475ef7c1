"""Sinks, overlay and the kiosk web page, on a real photo with hand-made faces.

The photo (``../shared/data/faces/facerec_obama.jpg``, 910x1137) has one face at about
(340, 40)-(640, 430); the tests place boxes there and elsewhere by hand (no detector).
"""

import http.client
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from conftest import SHARED, need_shared
from edgefer.errors import EdgeferError
from edgefer.runtime import overlay as ov
from edgefer.runtime import sinks
from edgefer.runtime.web import BOUNDARY, WebSink
from edgefer.runtime.types import Event, Face, Frame, FrameResult

cv2 = pytest.importorskip("cv2", reason="OpenCV is needed for the sinks (pip install 'edgefer[cpu]')")
jsonschema = pytest.importorskip("jsonschema")

PHOTO = os.path.join(SHARED, "data", "faces", "facerec_obama.jpg")
LABELS = ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear")
FACE_BOX = (340.0, 40.0, 640.0, 430.0)
EYES = [(430.0, 206.0), (550.0, 206.0)]


@pytest.fixture(scope="module")
def photo():
    need_shared(PHOTO)
    image = cv2.imread(PHOTO)
    assert image is not None and image.shape == (1137, 910, 3)
    return image


@pytest.fixture(scope="module")
def small(photo):
    """The photo at half size, cropped to even sides (454x568): cheaper to encode."""
    return np.ascontiguousarray(cv2.resize(photo, (455, 568), interpolation=cv2.INTER_AREA)[:, :454])


def _probs(top, p=0.7):
    rest = (1.0 - p) / (len(LABELS) - 1)
    return np.array([p if n == top else rest for n in LABELS], np.float32)


def make_face(track_id=1, box=FACE_BOX, emotion="happy", p=0.7, landmarks=EYES, scale=1.0):
    probs = _probs(emotion, p) if emotion in LABELS else _probs("neutral", p)
    box = tuple(v * scale for v in box)
    lms = None if landmarks is None else np.array(landmarks, np.float32) * scale
    return Face(track_id, box, 0.93, lms, LABELS, probs, probs, emotion, p)


def make_result(image, index=0, faces=None, events=None, fps=25.0):
    faces = [make_face()] if faces is None else faces
    return FrameResult(Frame(image, index, index / fps), faces, events)


def sequence(image, n, scale=1.0):
    """n results: a face that appears, turns from neutral to happy at frame 3, and a second
    face that appears at frame 2 and is lost at frame n-1."""
    out = []
    for i in range(n):
        emotion = "neutral" if i < 3 else "happy"
        faces = [make_face(1, emotion=emotion, p=0.55 + 0.04 * i, scale=scale)]
        events = []
        if i == 0:
            events.append(Event(Event.APPEARED, 1, "neutral", frame_index=i))
        if i == 3:
            events.append(Event(Event.EMOTION_CHANGED, 1, "happy", previous="neutral", frame_index=i))
        if 2 <= i < n - 1:
            faces.append(make_face(2, box=(40, 600, 240, 860), emotion="sad", landmarks=None, scale=scale))
        if i == 2:
            events.append(Event(Event.APPEARED, 2, "sad", frame_index=i))
        if i == n - 1:
            events.append(Event(Event.LOST, 2, "sad", frame_index=i))
        out.append(make_result(image, i, faces, events))
    return out


def schema_validator():
    schema = sinks.load_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


# -- overlay ---------------------------------------------------------------------------------


def test_overlay_draws_box_label_landmarks_and_leaves_the_rest(photo):
    before = photo.copy()
    result = make_result(photo)
    out = ov.draw(photo, result)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert np.array_equal(photo, before), "draw() must not modify its input"
    x0, y0, x1, y1 = [int(v) for v in FACE_BOX]
    happy = np.array(ov.PALETTE["happy"], np.uint8)
    ym, xm = (y0 + y1) // 2, (x0 + x1) // 2
    for y, x in ((ym, x0), (ym, x1), (y0 + 200, x0), (y1, xm)):  # box border, away from the label
        assert np.array_equal(out[y, x], happy), (y, x, out[y, x])
    assert not np.array_equal(out[206, 430], photo[206, 430])  # a landmark
    label = out[max(y0 - 25, 0):y0, x0:x0 + 60]
    assert (label != photo[max(y0 - 25, 0):y0, x0:x0 + 60]).any(axis=2).mean() > 0.5  # filled label
    # far from the face: unchanged pixel for pixel
    assert np.array_equal(out[700:, :300], photo[700:, :300])
    assert np.array_equal(out[600:, 700:], photo[600:, 700:])
    assert np.array_equal(out[x1 + 40:, x1 + 40:], photo[x1 + 40:, x1 + 40:])


def test_overlay_options_and_colours(photo):
    result = make_result(photo, faces=[make_face(emotion="bored")])
    plain = ov.draw(photo, result, landmarks=False)
    assert np.array_equal(plain[206, 430], photo[206, 430])  # no landmark dots
    assert np.array_equal(plain[40:60, :80], photo[40:60, :80])
    # unknown label: a stable colour that is not one of the palette's
    c = ov.color_for("bored")
    assert c == ov.color_for("bored") and c not in ov.PALETTE.values()
    assert np.array_equal(plain[235, 340], np.array(c, np.uint8))
    # FPS text in the corner; bars to the right of the box
    rich = ov.draw(photo, make_result(photo), bars=True, fps=12.5)
    assert (rich[5:30, 5:60] != photo[5:30, 5:60]).any()
    assert (rich[60:200, 650:760] != photo[60:200, 650:760]).any()
    assert np.array_equal(rich[700:, :300], photo[700:, :300])
    # the Overlay object draws each result once and counts it once for the FPS
    o = ov.Overlay(show_fps=True)
    a = o(result)
    assert o(result) is a and len(o.meter._times) == 1


# -- JSON lines ------------------------------------------------------------------------------


def test_json_lines_file_validates_and_round_trips(photo, tmp_path):
    path = str(tmp_path / "out" / "run.jsonl")
    results = sequence(photo, 6)
    validator = schema_validator()
    with sinks.JsonLinesSink(path) as sink:
        for i, r in enumerate(results):
            sink.write(r)
            with open(path) as f:  # flushed per line: a reader (tail -f) sees it at once
                assert len(f.read().splitlines()) == i + 1
    with open(path) as f:
        lines = f.read().splitlines()
    assert len(lines) == 6 and sink.count == 6
    for line, r in zip(lines, results):
        rec = json.loads(line)
        validator.validate(rec)
        assert rec == json.loads(json.dumps(r.to_dict()))
        assert rec["frame"] == r.index and (rec["width"], rec["height"]) == (910, 1137)
        assert [f["id"] for f in rec["faces"]] == [f.track_id for f in r.faces]
        assert [(e["event"], e["id"], e["label"], e.get("previous")) for e in rec["events"]] == [
            (e.kind, e.track_id, e.emotion, e.previous) for e in r.events]
    changed = json.loads(lines[3])["events"]
    assert changed == [{"event": "emotion_changed", "id": 1, "label": "happy", "previous": "neutral"}]
    face = json.loads(lines[0])["faces"][0]
    assert face["box"] == list(FACE_BOX) and face["landmarks"] == [list(p) for p in EYES]
    assert face["label"] == "neutral" and abs(sum(face["probs"].values()) - 1) < 1e-3
    assert json.loads(lines[2])["faces"][1]["landmarks"] is None


def test_json_lines_stdout_and_schema_rejects_bad_records(small, capsys):
    with sinks.make_sink("-") as sink:
        assert isinstance(sink, sinks.JsonLinesSink)
        for r in sequence(small, 3):
            sink.write(r)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and [json.loads(x)["frame"] for x in out] == [0, 1, 2]
    validator = schema_validator()
    good = json.loads(out[0])
    for bad in (dict(good, width="910"), {k: v for k, v in good.items() if k != "faces"},
                dict(good, events=[{"event": "emotion_changed", "id": 1, "label": "happy"}]),
                dict(good, events=[{"event": "vanished", "id": 1, "label": None}])):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(bad)


# -- video and image files --------------------------------------------------------------------


def _read_video(path):
    cap = cv2.VideoCapture(path)
    assert cap.isOpened(), path
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return frames, fps


@pytest.mark.parametrize("ext", [".mp4", ".avi"])
def test_video_sink_writes_all_frames_then_renames(small, tmp_path, ext):
    path = str(tmp_path / ("out" + ext))
    results = sequence(small, 10, scale=0.5)
    with sinks.VideoFileSink(path) as sink:  # fps from the frames' timestamps (25 fps)
        for r in results:
            sink.write(r)
            assert not os.path.exists(path), "the final name appears only on close"
    assert os.listdir(str(tmp_path)) == ["out" + ext], "no temporary file left"
    frames, fps = _read_video(path)
    assert len(frames) == 10 and sink.frames == 10
    assert all(f.shape == small.shape for f in frames)
    assert abs(fps - 25.0) < 0.01
    # the overlay is in the video: what the codec changed from the plain frame correlates with
    # what the overlay drew (lossy codec: no pixel equality; a plain frame gives about 0)
    drawn = ov.draw(small, results[5]).astype(float) - small
    coded = frames[5].astype(float) - small
    assert np.corrcoef(drawn.ravel(), coded.ravel())[0, 1] > 0.7


def test_video_sink_sizes_fps_option_and_errors(photo, small, tmp_path):
    path = str(tmp_path / "odd.mp4")
    with sinks.VideoFileSink(path, fps=7.5) as sink:
        sink.write(make_result(photo, 0))               # 910x1137: odd height -> 910x1136
        sink.write(make_result(small, 1, faces=[]))     # another size: resized
    assert sink.size == (910, 1136)
    frames, fps = _read_video(path)
    assert len(frames) == 2 and all(f.shape == (1136, 910, 3) for f in frames) and abs(fps - 7.5) < 0.01

    with pytest.raises(EdgeferError) as e:
        sinks.VideoFileSink(str(tmp_path / "out.webm"))
    assert "out.webm" in str(e.value) and ".mp4" in str(e.value) and "\n" not in str(e.value)
    bad = sinks.VideoFileSink(str(tmp_path / "bad.mp4"), fps=10, fourcc="XXXX")
    with pytest.raises(EdgeferError) as e:
        bad.write(make_result(small))
    assert "bad.mp4" in str(e.value) and ".avi" in str(e.value) and "\n" not in str(e.value)
    assert sorted(os.listdir(str(tmp_path))) == ["odd.mp4"]


def test_video_sink_crash_leaves_no_file_but_ctrl_c_keeps_it(small, tmp_path):
    crashed = str(tmp_path / "crashed.mp4")
    with pytest.raises(RuntimeError):
        with sinks.VideoFileSink(crashed, fps=10) as sink:
            for r in sequence(small, 4, scale=0.5):
                sink.write(r)
            raise RuntimeError("the pipeline failed")
    assert os.listdir(str(tmp_path)) == [], "a partial video must not appear (nor its temporary file)"

    stopped = str(tmp_path / "stopped.mp4")
    with pytest.raises(KeyboardInterrupt):
        with sinks.VideoFileSink(stopped, fps=10) as sink:
            for r in sequence(small, 4, scale=0.5):
                sink.write(r)
            raise KeyboardInterrupt
    assert os.listdir(str(tmp_path)) == ["stopped.mp4"]
    assert len(_read_video(stopped)[0]) == 4

    # a consumer leaving a generator early (GeneratorExit inside `with`) keeps the video too
    def stream(path):
        with sinks.VideoFileSink(path, fps=10) as sink:
            for r in sequence(small, 5, scale=0.5):
                sink.write(r)
                yield r
    gen = stream(str(tmp_path / "left.mp4"))
    next(gen), next(gen), next(gen)
    gen.close()
    assert sorted(os.listdir(str(tmp_path))) == ["left.mp4", "stopped.mp4"]
    assert len(_read_video(str(tmp_path / "left.mp4"))[0]) == 3


class _Camera(object):
    fps = 12.0


def test_video_sink_rate_from_few_frames_and_from_the_source(small, tmp_path):
    few = str(tmp_path / "few.avi")
    with sinks.VideoFileSink(few) as sink:  # fewer frames than it holds back to measure the rate
        for r in sequence(small, 3, scale=0.5):
            sink.write(r)
    frames, fps = _read_video(few)
    assert len(frames) == 3 and abs(fps - 25.0) < 0.01
    still = str(tmp_path / "still.avi")
    with sinks.VideoFileSink(still) as sink:  # timestamps that do not move: the source's rate
        for i in range(6):
            sink.write(FrameResult(Frame(small, i, 100.0, source=_Camera()), []))
    frames, fps = _read_video(still)
    assert len(frames) == 6 and abs(fps - 12.0) < 0.01


def test_image_sinks_single_file_and_folder(small, tmp_path):
    one = str(tmp_path / "one.png")
    with sinks.make_sink(one) as sink:
        assert isinstance(sink, sinks.ImageFileSink) and not sink.folder
        sink.write(make_result(small, faces=[make_face(scale=0.5)]))
    img = cv2.imread(one)
    assert img.shape == small.shape and not np.array_equal(img, small)
    assert np.array_equal(img[400:, 300:], small[400:, 300:])  # PNG: lossless away from the face

    folder = str(tmp_path / "frames") + "/"
    with sinks.make_sink(folder) as sink:
        for r in sequence(small, 3, scale=0.5)[::-1]:
            sink.write(r)
    names = sorted(os.listdir(folder))
    assert names == ["frame_000000.jpg", "frame_000001.jpg", "frame_000002.jpg"]
    assert cv2.imread(os.path.join(folder, names[1])).shape == small.shape
    with pytest.raises(EdgeferError):
        sinks.ImageFileSink(str(tmp_path / "x.gif"))
    assert sorted(os.listdir(str(tmp_path))) == ["frames", "one.png"]


# -- window, callback, factory ----------------------------------------------------------------


def _warnings(caplog):
    """The edgefer warnings logged since the last call (and forget them)."""
    got = [r.getMessage() for r in caplog.records if r.name.startswith("edgefer.") and r.levelname == "WARNING"]
    caplog.clear()
    return got


def test_window_sink_headless_warns_once_and_does_nothing(small, caplog, monkeypatch):
    assert sinks._gui_from_build_info(cv2) is False, "this test expects a headless OpenCV build"
    sink = sinks.WindowSink()
    with sink:
        for r in sequence(small, 3, scale=0.5):
            sink.write(r)
    warned = _warnings(caplog)
    assert len(warned) == 1 and sinks.NO_GUI_MESSAGE in warned[0]
    assert sink.available is False and sink.stopped is False

    # a build that does not say, with a display set: cv2.imshow raises -> the same warning
    monkeypatch.setattr(sinks, "_gui_from_build_info", lambda cv2: None)
    monkeypatch.setenv("DISPLAY", ":99")
    sink = sinks.WindowSink()
    for r in sequence(small, 3, scale=0.5):
        sink.write(r)
    sink.close()
    warned = _warnings(caplog)
    assert len(warned) == 1 and sinks.NO_GUI_MESSAGE in warned[0] and sink.available is False

    # a GUI build but no display: says so instead of letting the GUI toolkit abort
    monkeypatch.setattr(sinks, "_gui_from_build_info", lambda cv2: True)
    monkeypatch.delenv("DISPLAY")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    sink = sinks.WindowSink()
    sink.write(make_result(small))
    sink.write(make_result(small))
    warned = _warnings(caplog)
    assert len(warned) == 1 and "no display" in warned[0] and sink.available is False


def test_callback_factory_and_group(small, tmp_path):
    seen = []
    cb = sinks.make_sink(lambda r: seen.append(r.index) or (False if r.index == 2 else None))
    assert isinstance(cb, sinks.CallbackSink)
    for r in sequence(small, 2, scale=0.5):
        cb.write(r)
    assert seen == [0, 1] and not cb.stopped
    cb.write(make_result(small, 2))
    assert cb.stopped

    for spec, cls in (("display", sinks.WindowSink), (str(tmp_path / "a.avi"), sinks.VideoFileSink),
                      (str(tmp_path / "b.jpg"), sinks.ImageFileSink),
                      (str(tmp_path / "c.ndjson"), sinks.JsonLinesSink)):
        s = sinks.make_sink(spec)
        assert isinstance(s, cls), spec
        s.close()
    with pytest.raises(EdgeferError) as e:
        sinks.make_sink(str(tmp_path / "x.unknown"))
    assert "x.unknown" in str(e.value) and ".mp4" in str(e.value)
    assert sinks._web_address("web") == ("127.0.0.1", 8080)
    assert sinks._web_address("web:9000") == ("127.0.0.1", 9000)
    assert sinks._web_address("web://0.0.0.0:8081") == ("0.0.0.0", 8081)
    assert sinks._web_address("http://localhost:8082/") == ("localhost", 8082)
    assert sinks._web_address("web://[::1]:8083") == ("::1", 8083)
    # output URIs as jetson-inference's videoOutput spells them, and today's spellings, one parser
    for spec, want in (("display://0", ("display", "0")), ("window", ("display", "")), ("-", ("jsonl", "-")),
                       ("file://clip.mp4", ("video", "clip.mp4")), ("frames/", ("image", "frames/")),
                       ("web:8080", ("web", "8080")), ("http://127.0.0.1:8081", ("web", "127.0.0.1:8081")),
                       ("out.JSONL", ("jsonl", "out.JSONL")), ("C:/videos/out.avi", ("video", "C:/videos/out.avi"))):
        assert sinks.parse_output(spec)[:2] == want, spec
    with pytest.raises(EdgeferError) as e:
        sinks.parse_output("rtp://192.168.1.2:5000")
    assert "rtp://" in str(e.value) and "display://" in str(e.value)
    assert set(sinks.SINKS) >= {"display", "web", "jsonl", "video", "image"}

    # a group shares one overlay; an exception inside `with` drops the unfinished video
    video, lines = str(tmp_path / "g.mp4"), str(tmp_path / "g.jsonl")
    got = []
    with pytest.raises(ValueError):
        with sinks.open_sinks([video, lines, got.append], show_fps=True) as group:
            for r in sequence(small, 3, scale=0.5):
                group.write(r)
            raise ValueError("boom")
    assert not os.path.exists(video) and len(got) == 3
    assert len(open(lines).read().splitlines()) == 3
    assert sorted(os.listdir(str(tmp_path))) == ["c.ndjson", "g.jsonl"]  # no video, no temporary file


# -- web page --------------------------------------------------------------------------------


def _get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


def _read_part(resp):
    line = resp.readline()
    while line == b"\r\n":
        line = resp.readline()
    assert line.strip() == ("--" + BOUNDARY).encode(), line
    headers = {}
    while True:
        line = resp.readline().strip()
        if not line:
            break
        k, v = line.split(b":", 1)
        headers[k.strip().lower()] = v.strip()
    assert headers[b"content-type"] == b"image/jpeg"
    return resp.read(int(headers[b"content-length"]))


class _Feeder(object):
    """Writes results to a sink every 20 ms from a thread, like a running pipeline."""

    def __init__(self, sink, image):
        self.sink, self.image = sink, image
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.thread.daemon = True

    def _run(self):
        i = 0
        while not self.stop.is_set():
            face = make_face(p=0.5 + (i % 50) / 100.0, scale=0.5)  # the label's % changes per frame
            self.sink.write(make_result(self.image, i, faces=[face]))
            i += 1
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)


def test_web_sink_page_latest_health_and_close(small, caplog):
    caplog.set_level("INFO", logger="edgefer")
    sink = WebSink(port=0)
    try:
        assert sink.host == "127.0.0.1" and sink._server.socket.getsockname()[0] == "127.0.0.1"
        assert sink.port > 0 and sink.url == "http://127.0.0.1:%d/" % sink.port
        assert sum(sink.url in r.getMessage() for r in caplog.records if r.name == "edgefer.runtime.web") == 1  # once
        assert _get(sink.url + "latest.json")[2] == b"null"  # before the first frame
        status, ctype, body = _get(sink.url)
        assert status == 200 and ctype.startswith("text/html")
        assert b'<img id="stream" src="/stream.mjpg"' in body and b"EventSource(\"/events\")" in body
        results = sequence(small, 4, scale=0.5)
        for r in results:
            sink.write(r)
        status, ctype, body = _get(sink.url + "latest.json")
        assert ctype == "application/json" and json.loads(body) == json.loads(json.dumps(results[-1].to_dict()))
        schema_validator().validate(json.loads(body))
        health = json.loads(_get(sink.url + "healthz")[2])
        assert health["status"] == "ok" and health["frames"] == 4
        with pytest.raises(urllib.error.HTTPError) as e:
            _get(sink.url + "nope")
        assert e.value.code == 404
        # an open stream and an open event stream must not keep close() waiting
        conn = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=5)
        conn.request("GET", "/stream.mjpg")
        resp = conn.getresponse()
        assert len(_read_part(resp)) > 0
    finally:
        t = time.monotonic()
        sink.close()
        closed_in = time.monotonic() - t
    assert closed_in < 3.0
    conn.close()
    with pytest.raises(OSError):  # nothing listens any more
        socket.create_connection(("127.0.0.1", sink.port), timeout=2).close()
    again = WebSink(port=sink.port)  # the port is free again
    again.close()
    with pytest.raises(EdgeferError) as e:  # a port in use: one line naming it
        with WebSink(port=0) as busy:
            WebSink(port=busy.port)
    assert str(busy.port) in str(e.value) and "\n" not in str(e.value)
    web = sinks.make_sink("web://127.0.0.1:0")
    assert isinstance(web, WebSink) and web.port > 0 and _get(web.url + "healthz")[0] == 200
    web.close()


def _status(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders())
    finally:
        conn.close()


def test_web_sink_answers_to_its_own_host_names_only(small):
    """DNS rebinding: a browser on this machine that loaded evil.example, whose name then points
    at 127.0.0.1, sends Host: evil.example; the page must not answer it."""
    with WebSink(port=0) as sink:
        assert sink._server.request_queue_size >= 128  # the standard library's 5 drops bursts
        assert sink.token is None and "token" not in sink.url  # loopback: no token
        for host in ("127.0.0.1:%d" % sink.port, "localhost:%d" % sink.port, "localhost", socket.gethostname()):
            assert _status(sink.port, "/latest.json", {"Host": host})[0] == 200, host
        for host in ("evil.example:%d" % sink.port, "evil.example", "127.0.0.1.evil.example"):
            for path in ("/", "/stream.mjpg", "/events", "/latest.json"):
                assert _status(sink.port, path, {"Host": host})[0] == 403, (host, path)


def test_web_sink_on_the_network_needs_its_token_then_a_cookie(small):
    with WebSink(host="0.0.0.0", port=0) as sink, _Feeder(sink, small):
        assert sink.token and len(sink.token) >= 20 and sink.url.endswith("/?token=" + sink.token)
        with WebSink(host="0.0.0.0", port=0) as other:
            assert other.token != sink.token  # made afresh for each server
        port = sink.port
        for path in ("/", "/stream.mjpg", "/events", "/latest.json", "/?token=wrong", "/latest.json?token="):
            assert _status(port, path)[0] == 401, path
        assert _status(port, "/latest.json", {"Cookie": "%s=wrong" % sink.cookie_name})[0] == 401
        assert _status(port, "/healthz")[0] == 200  # frame counts only, for monitors
        status, headers = _status(port, "/?token=" + sink.token)
        assert status == 200 and headers["set-cookie"].startswith("%s=%s;" % (sink.cookie_name, sink.token))
        assert "httponly" in headers["set-cookie"].lower() and "samesite=strict" in headers["set-cookie"].lower()
        cookie = {"Cookie": "%s=%s" % (sink.cookie_name, sink.token)}
        assert _status(port, "/latest.json", cookie)[0] == 200
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/stream.mjpg", headers=cookie)
        resp = conn.getresponse()
        assert resp.status == 200 and len(_read_part(resp)) > 0
        conn.close()
    given = sinks.make_sink("web://0.0.0.0:0?token=s3cret-token")
    try:
        assert given.token == "s3cret-token" and _status(given.port, "/latest.json?token=s3cret-token")[0] == 200
    finally:
        given.close()


def test_web_sink_slow_viewer_skips_frames(photo):
    """A viewer slower than the stream gets the newest frame each time it is ready for one,
    not a backlog: far fewer frames are drawn and encoded than written. (The client's receive
    buffer is made small, as a slow network would; the server keeps its send buffer small.)"""
    with WebSink(port=0) as sink, _Feeder(sink, photo):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        sock.settimeout(5)
        sock.connect(("127.0.0.1", sink.port))
        conn = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=5)
        conn.sock = sock
        conn.request("GET", "/stream.mjpg")
        resp = conn.getresponse()
        _read_part(resp)
        frames0, encoded0 = sink.frames, sink.encoded
        for _ in range(4):
            time.sleep(0.25)
            jpeg = _read_part(resp)
            assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == photo.shape
        written, encoded = sink.frames - frames0, sink.encoded - encoded0
        conn.close()
    assert written >= 20 and encoded <= written // 3, (written, encoded)


def test_web_sink_drops_a_client_that_stops_reading_and_keeps_serving_the_others(photo):
    """One writer serves every client: a client that never reads must not hold up the one that
    does, and is dropped after client_timeout; a client that leaves is forgotten."""
    with WebSink(port=0, client_timeout=1.0) as sink, _Feeder(sink, photo):
        ask = b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        stalled = socket.create_connection(("127.0.0.1", sink.port), timeout=5)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(ask)
        leaver = socket.create_connection(("127.0.0.1", sink.port), timeout=5)
        leaver.sendall(ask)
        conn = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=5)
        conn.request("GET", "/stream.mjpg")
        resp = conn.getresponse()
        _wait_for(lambda: sink.stream_clients == 3)
        leaver.close()
        _wait_for(lambda: sink.stream_clients == 2)
        got, t = 0, time.monotonic()
        while time.monotonic() - t < 2.5:  # the reader keeps getting frames meanwhile
            assert len(_read_part(resp)) > 0
            got += 1
        _wait_for(lambda: sink.stream_clients == 1)  # the stalled one is gone, the reader stays
        assert got >= 10, got
        stalled.close()
        conn.close()


def _wait_for(condition, seconds=5.0):
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_web_sink_mjpeg_stream_and_events(small):
    with WebSink(port=0) as sink, _Feeder(sink, small):
        conns, parts = [], []
        for _ in range(2):  # two viewers at once
            conn = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=5)
            conn.request("GET", "/stream.mjpg")
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.getheader("Content-Type") == "multipart/x-mixed-replace; boundary=%s" % BOUNDARY
            conns.append((conn, resp))
        for conn, resp in conns:
            for _ in range(3):
                jpeg = _read_part(resp)
                img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
                assert img is not None and img.shape == small.shape
                parts.append(jpeg)
        assert len(set(parts)) >= 2, "the stream moves on to newer frames"
        assert 0 < sink.encoded <= sink.frames, "each frame is encoded once, not per client"
        for c, _ in conns:
            c.close()

        conn = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=5)
        conn.request("GET", "/events")
        resp = conn.getresponse()
        assert resp.getheader("Content-Type") == "text/event-stream"
        records = []
        while len(records) < 2:
            line = resp.readline()
            assert line, "event stream ended early"
            if line.startswith(b"data: "):
                records.append(json.loads(line[6:]))
        assert records[1]["frame"] > records[0]["frame"] and records[0]["faces"][0]["label"] == "happy"
        schema_validator().validate(records[1])
        conn.close()


def test_outputs_get_the_umask_permissions_not_mkstemp_0600(small, tmp_path):
    """A service user (a kiosk's systemd unit) must be able to read what edgefer writes."""
    from edgefer import atomic

    old = os.umask(0o022)
    try:
        img, video, data = str(tmp_path / "a.jpg"), str(tmp_path / "v.avi"), str(tmp_path / "d.json")
        with sinks.open_sinks([img, video]) as group:
            group.write(make_result(small))
        atomic.write_json(data, {"a": 1})
        for f in (img, video, data):
            assert os.stat(f).st_mode & 0o777 == 0o644, f
    finally:
        os.umask(old)


# -- the HTTP catalogue: what a careless or hostile client may send (issue 12) -------------------

_H = "Host: 127.0.0.1\r\n"
HTTP_CATALOGUE = [
    ("page", "GET / HTTP/1.1\r\n" + _H + "\r\n", 200),
    ("post", "POST / HTTP/1.1\r\n" + _H + "Content-Length: 3\r\n\r\nabc", 501),
    ("put", "PUT /latest.json HTTP/1.1\r\n" + _H + "\r\n", 501),
    ("delete", "DELETE / HTTP/1.1\r\n" + _H + "\r\n", 501),
    ("options", "OPTIONS * HTTP/1.1\r\n" + _H + "\r\n", 501),
    ("traversal", "GET /../../etc/passwd HTTP/1.1\r\n" + _H + "\r\n", 404),
    ("encoded traversal", "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n" + _H + "\r\n", 404),
    ("unknown path", "GET /admin HTTP/1.1\r\n" + _H + "\r\n", 404),
    ("long path", "GET /" + "a" * 70000 + " HTTP/1.1\r\n" + _H + "\r\n", 414),
    ("long header", "GET / HTTP/1.1\r\n" + _H + "X: " + "b" * 70000 + "\r\n\r\n", 431),
    ("many headers", "GET / HTTP/1.1\r\n" + _H + "".join("X-%d: 1\r\n" % i for i in range(150)) + "\r\n", 431),
    # one word is an HTTP/0.9 request line to http.server: the 400 comes without a status line
    ("garbage", "garbage\r\n\r\n", None),
    ("binary", "\x00\x01\x02\xff\r\n\r\n", None),
    ("two words", "GET /latest.json\r\n\r\n", None),
    ("bad version", "GET / HTTP/9.9\r\n" + _H + "\r\n", None),  # a 505 body, without a status line
    ("no host (HTTP/1.0)", "GET /latest.json HTTP/1.0\r\n\r\n", 200),
    ("empty host", "GET /latest.json HTTP/1.1\r\nHost: \r\n\r\n", 403),
    ("foreign host", "GET /latest.json HTTP/1.1\r\nHost: attacker.example\r\n\r\n", 403),
    ("ipv6 loopback host", "GET /latest.json HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 200),
    ("head of the stream", "HEAD /stream.mjpg HTTP/1.1\r\n" + _H + "\r\n", 404),
    ("head of the page", "HEAD / HTTP/1.1\r\n" + _H + "\r\n", 200),
    ("query junk", "GET /latest.json?%ff%fe=&&token HTTP/1.1\r\n" + _H + "\r\n", 200),
    ("health", "GET /healthz HTTP/1.1\r\n" + _H + "\r\n", 200),
    ("connect method", "CONNECT example.com:443 HTTP/1.1\r\n" + _H + "\r\n", 501),
    ("absolute uri", "GET http://127.0.0.1/latest.json HTTP/1.1\r\n" + _H + "\r\n", 404),
]


def _raw(port, data, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data.encode("latin-1"))
        head = s.recv(64)
    finally:
        s.close()
    return int(head.split()[1]) if head.startswith(b"HTTP/") else None


def test_the_web_page_answers_the_http_catalogue_and_stays_up(small, capfd):
    with WebSink(port=0) as sink:
        for name, request, want in HTTP_CATALOGUE:
            assert _raw(sink.port, request) == want, name
        # a client that connects and says nothing, or half a request line, then leaves
        socket.create_connection(("127.0.0.1", sink.port), timeout=5).close()
        half = socket.create_connection(("127.0.0.1", sink.port), timeout=5)
        half.sendall(b"GET /str")
        half.close()
        assert _raw(sink.port, "GET /healthz HTTP/1.1\r\n" + _H + "\r\n") == 200  # still serving
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception" not in err, err[-2000:]
