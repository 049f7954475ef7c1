"""examples/robot/: robot.py on a video made from real photos, with the shipped default model,
sends its emotion events as UDP JSON datagrams that a socket here receives; the behaviour's
decisions on their own; receiver.py prints what it gets. (ros2_node.py needs rclpy, which
this machine lacks: it is only compiled here.)"""

import json
import os
import py_compile
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT, photo_video

cv2 = pytest.importorskip("cv2", reason="the runtime needs OpenCV (pip install 'edgefer[cpu]')")

ROBOT_DIR = os.path.join(ROOT, "examples", "robot")
FIELDS = {"v", "event", "id", "label", "previous", "confidence", "box", "frame", "timestamp", "source", "sent",
          "action"}

sys.path.insert(0, ROBOT_DIR)
import robot  # noqa: E402  (examples/robot/robot.py)


def _receive_all(sock, proc, timeout):
    """Datagrams until the process ends (and the socket is drained) or ``timeout`` s pass."""
    messages, deadline = [], time.monotonic() + timeout
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            data, _ = sock.recvfrom(65535)
            messages.append(json.loads(data.decode("utf-8")))
        except socket.timeout:
            if proc.poll() is not None:
                break
    return messages


def test_robot_publishes_events_and_greets_the_happy_face(tmp_path):
    video = str(tmp_path / "two_faces.avi")
    # A neutral face (the default model: neutral 0.76), an empty room long enough for its
    # track to be lost (10 missed frames), then a happy face (happy 0.95).
    n = photo_video(video, [("facerec_lin-manuel-miranda.png", 12), (None, 14), ("facerec_obama.jpg", 12)])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, os.path.join(ROBOT_DIR, "robot.py"), "--source", video,
                                 "--port", str(port), "--threads", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                                env=dict(os.environ, OMP_NUM_THREADS="1"))
        messages = _receive_all(sock, proc, timeout=90)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert time.monotonic() - t0 < 60, "robot.py took %.0f s" % (time.monotonic() - t0)

    for m in messages:
        assert set(m) == FIELDS, m
        assert m["v"] == robot.MESSAGE_VERSION and isinstance(m["id"], int) and isinstance(m["frame"], int)
        assert m["source"] == video and 0 <= m["frame"] < n
        assert isinstance(m["confidence"], float) and 0 < m["confidence"] <= 1
        x0, y0, x1, y1 = m["box"]
        assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 360, m["box"]
        assert (m["previous"] is not None) == (m["event"] == "emotion_changed")
    kinds = [(m["event"], m["id"]) for m in messages]
    first, second = [m for m in messages if m["event"] == "appeared"][:2]
    assert kinds[0] == ("appeared", first["id"]) and first["frame"] == 0 and first["label"] == "neutral"
    assert first["action"] is None
    lost_first = [m for m in messages if m["event"] == "lost" and m["id"] == first["id"]]
    assert len(lost_first) == 1 and 12 <= lost_first[0]["frame"] < 26, lost_first
    assert second["id"] != first["id"] and second["frame"] == 26 and second["label"] == "happy"
    assert second["action"] == robot.GREET and second["confidence"] >= 0.5
    assert kinds[-1] == ("lost", second["id"])  # the end of the file closes the open track
    assert "robot: greet face %d (happy" % second["id"] in out, out
    assert "robot: stopped, %d event(s) sent" % len(messages) in out, out


def test_behaviour_greets_happy_backs_off_from_angry_and_forgets_lost_faces():
    now = [0.0]
    b = robot.Behaviour(min_confidence=0.5, cooldown=10.0, clock=lambda: now[0])

    def msg(event, track, label, confidence=0.9, previous=None):
        return {"event": event, "id": track, "label": label, "confidence": confidence, "previous": previous}

    assert b.decide(msg("appeared", 1, "neutral")) is None
    assert b.decide(msg("emotion_changed", 1, "happy", previous="neutral")) == robot.GREET
    now[0] = 5.0
    assert b.decide(msg("emotion_changed", 1, "happy", previous="sad")) is None  # greeted 5 s ago
    now[0] = 11.0
    assert b.decide(msg("emotion_changed", 1, "happy", previous="sad")) == robot.GREET  # cooldown over
    assert b.decide(msg("emotion_changed", 2, "angry", previous="neutral")) == robot.BACK_OFF
    assert b.decide(msg("appeared", 3, "angry", confidence=0.4)) is None  # not sure enough
    assert b.decide(msg("appeared", 4, "happy", confidence=0.3)) is None
    assert b.decide(msg("lost", 1, "happy")) is None
    assert b.decide(msg("appeared", 1, "happy")) == robot.GREET  # a new face with an old id: forgotten
    assert b.decide(msg("frame", 1, "happy")) is None


def test_receiver_prints_each_datagram(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # a free port; released for the receiver
    proc = subprocess.Popen([sys.executable, os.path.join(ROBOT_DIR, "receiver.py"), "--port", str(port),
                             "--count", "2", "--timeout", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    try:
        assert "listening on udp://127.0.0.1:%d" % port in proc.stderr.readline()
        sent = [{"v": 1, "event": "appeared", "id": 3, "label": "happy", "previous": None, "confidence": 0.91,
                 "frame": 7, "action": "greet"},
                {"v": 1, "event": "emotion_changed", "id": 3, "label": "angry", "previous": "happy",
                 "confidence": 0.66, "frame": 9, "action": "back_off"}]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"not json", ("127.0.0.1", port))
            for m in sent:
                s.sendto(json.dumps(m).encode("utf-8"), ("127.0.0.1", port))
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out.splitlines() == ["frame 7  face 3 appeared (happy 0.91) -> greet",
                                "frame 9  face 3: happy -> angry 0.66 -> back_off"], out
    assert "not JSON" in err


def test_ros2_node_compiles_and_shares_robots_messages():
    """Not runnable without ROS 2: compiled, and checked to build its messages with robot.py's code."""
    path = os.path.join(ROBOT_DIR, "ros2_node.py")
    py_compile.compile(path, doraise=True)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert "from robot import Behaviour, wire" in text and "std_msgs.msg import String" in text
    assert "NOT RUNNABLE" in text
