"""A robot's control loop driven by emotion events, published to other processes over UDP.

    python examples/robot/robot.py --source 0                        # USB camera, events to 127.0.0.1:5005
    python examples/robot/robot.py --source csi://0 --host 192.168.1.20 --port 5005   # Jetson CSI camera
    python examples/robot/robot.py --source picam://0 --bundle ferplus               # Pi camera, FER+ model
    python examples/robot/receiver.py --port 5005                    # in another terminal or on another machine

The runtime (``edgefer.Pipeline``) runs in a background thread; its callbacks
(``pipe.on("appeared" | "emotion_changed" | "lost", ...)``) turn every event into one JSON
message (layout in README.md), ask :class:`Behaviour` what to do, send the message as one
UDP datagram to HOST:PORT and queue the action. The main thread is the robot's control loop:
at ``--rate`` Hz it takes the queued actions and performs them (printed here: replace
:meth:`Robot.perform` with your motors). A face that is (or turns) happy is greeted, one that
is (or turns) angry is backed away from. Ctrl-C or SIGTERM stops it cleanly; a file source
ends when the file does.
"""

import argparse
import json
import queue
import signal
import socket
import sys
import threading
import time

import edgefer

MESSAGE_VERSION = 1
DEFAULT_PORT = 5005
GREET = "greet"
BACK_OFF = "back_off"


# ------------------------------------------------------------------------ messages

def event_message(event, face=None, source=None, action=None):
    """One event as the JSON-able message every transport sends (README.md, "Message").

    ``event``: an ``edgefer`` Event (``kind``, ``track_id``, ``emotion``, ``previous``,
    ``frame_index``, ``timestamp``); ``face``: that track's newest Face (box and confidence),
    or None."""
    return {
        "v": MESSAGE_VERSION,
        "event": event.kind,
        "id": event.track_id,
        "label": event.emotion,
        "previous": event.previous,
        "confidence": None if face is None else round(float(face.confidence), 4),
        "box": None if face is None else [round(float(v), 1) for v in face.box],
        "frame": event.frame_index,
        "timestamp": round(float(event.timestamp), 6),
        "source": None if source is None else str(source),
        "sent": round(time.time(), 6),
        "action": action,
    }


class Behaviour(object):
    """What the robot does about an event: :data:`GREET` a face that appears happy or turns
    happy (with at least ``min_confidence``), :data:`BACK_OFF` from one that appears angry or
    turns angry, nothing otherwise. A face is greeted at most once per ``cooldown`` seconds;
    a face that left (``lost``) is forgotten. ``decide`` takes and returns plain values (a
    message dict, an action name or None), so it can be tested and reused without a camera."""

    def __init__(self, min_confidence=0.5, cooldown=10.0, clock=time.monotonic):
        self.min_confidence = float(min_confidence)
        self.cooldown = float(cooldown)
        self.clock = clock
        self._greeted = {}  # track id -> when it was last greeted

    def decide(self, message):
        kind, track, label = message.get("event"), message.get("id"), message.get("label")
        if kind == "lost":
            self._greeted.pop(track, None)
            return None
        if kind not in ("appeared", "emotion_changed"):
            return None
        confident = message.get("confidence") is None or message["confidence"] >= self.min_confidence
        if label == "angry" and confident:
            return BACK_OFF
        if label == "happy" and confident:
            now = self.clock()
            last = self._greeted.get(track)
            if last is None or now - last >= self.cooldown:
                self._greeted[track] = now
                return GREET
        return None


class FaceMemory(object):
    """An output sink that keeps the newest face of every track, so that an event (fired
    after the frame's sinks) carries that face's box and confidence. ``lost`` tracks keep
    their last face until :meth:`forget`."""

    def __init__(self):
        self._faces = {}
        self.source = None
        self._lock = threading.Lock()

    def write(self, result):
        with self._lock:
            self.source = result.frame.source
            for face in result.faces:
                self._faces[face.track_id] = face

    def face(self, track_id):
        with self._lock:
            return self._faces.get(track_id)

    def forget(self, track_id):
        with self._lock:
            self._faces.pop(track_id, None)

    def close(self):
        pass


def wire(pipe, behaviour, emit):
    """Register the event callbacks on ``pipe``: each event becomes a message (with the
    behaviour's action) handed to ``emit(message)``. Returns the :class:`FaceMemory` sink to
    pass to ``pipe.stream(source, sinks=[memory])``."""
    memory = FaceMemory()

    def on_event(event):
        message = event_message(event, memory.face(event.track_id), memory.source)
        message["action"] = behaviour.decide(message)
        if event.kind == "lost":
            memory.forget(event.track_id)
        emit(message)

    for kind in ("appeared", "emotion_changed", "lost"):
        pipe.on(kind, on_event)
    return memory


# ------------------------------------------------------------------------ transport

class UdpPublisher(object):
    """Each message as one UDP datagram (UTF-8 JSON, no newline) to ``host:port``. UDP: a
    receiver that is not running loses messages and never slows the robot down."""

    def __init__(self, host="127.0.0.1", port=DEFAULT_PORT):
        family, kind, proto, _, address = socket.getaddrinfo(host, int(port), 0, socket.SOCK_DGRAM)[0]
        self.address = address
        self.sock = socket.socket(family, kind, proto)
        if host.endswith(".255"):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        self.sent = 0

    def send(self, message):
        try:
            self.sock.sendto(json.dumps(message, separators=(",", ":")).encode("utf-8"), self.address)
            self.sent += 1
        except OSError as exc:  # no route, receiver's port closed (ICMP): keep driving
            print("robot: could not send to %s:%s (%s)" % (self.address[0], self.address[1], exc), file=sys.stderr)

    def close(self):
        self.sock.close()


# ------------------------------------------------------------------------ the robot

class Robot(object):
    """The robot's side of the loop: performs one action per call (here: prints it)."""

    def __init__(self, out=sys.stdout):
        self.out = out
        self.performed = []

    def perform(self, action, message):
        what = {GREET: "greet face %(id)s (%(label)s %(confidence)s): wave",
                BACK_OFF: "back off from face %(id)s (%(label)s %(confidence)s): reverse 0.3 m"}[action]
        print("robot: " + what % message, file=self.out, flush=True)
        self.performed.append((action, message["id"]))


def control_loop(pipe, source, robot, behaviour, publisher, rate=20.0, seconds=0.0, max_frames=None,
                 verbose=False, stream_options=None):
    """Run the pipeline in a thread and the robot at ``rate`` Hz until the source ends, ``seconds``
    pass, or :func:`request_stop` / Ctrl-C / SIGTERM. Returns the pipeline thread's error, if any."""
    actions = queue.Queue()

    def emit(message):
        publisher.send(message)
        if verbose:
            print("event: " + json.dumps(message, separators=(",", ":")), flush=True)
        if message["action"]:
            actions.put(message)

    memory = wire(pipe, behaviour, emit)
    failure = []

    def worker():
        try:
            for _ in pipe.stream(source, sinks=[memory], max_frames=max_frames, **(stream_options or {})):
                pass
        except BaseException as exc:  # noqa: BLE001 - reported by the control loop
            failure.append(exc)

    thread = threading.Thread(target=worker, name="edgefer-pipeline", daemon=True)
    thread.start()
    t0, period = time.monotonic(), 1.0 / float(rate)
    try:
        while not _STOP.is_set() and (not seconds or time.monotonic() - t0 < seconds):
            try:
                message = actions.get(timeout=period)
            except queue.Empty:
                if not thread.is_alive():
                    break
                continue  # the robot's own periodic work would go here
            robot.perform(message["action"], message)
    except KeyboardInterrupt:
        pass
    finally:
        pipe.stop()  # safe from this thread: the stream ends after the frame in progress
        thread.join(timeout=10)
        while not actions.empty():  # actions of the last frames (and the final lost events)
            message = actions.get_nowait()
            robot.perform(message["action"], message)
    return failure[0] if failure else None


_STOP = threading.Event()


def request_stop(*_):
    """Stop the control loop (also the SIGTERM handler)."""
    _STOP.set()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", default="0", help="camera number, video file, csi://0, picam://0, rtsp://...")
    ap.add_argument("--bundle", default="default", help="default (shipped), ferplus, or a NAME.edgefer folder")
    ap.add_argument("--host", default="127.0.0.1", help="where the events go (a .255 address broadcasts)")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    ap.add_argument("--rate", type=float, default=20.0, help="control loop rate, Hz")
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until the source ends or Ctrl-C)")
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--min-confidence", type=float, default=0.5, help="act on an emotion only this sure")
    ap.add_argument("--cooldown", type=float, default=10.0, help="greet a face at most once per this many seconds")
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads per model")
    ap.add_argument("--verbose", action="store_true", help="print every event message too")
    args = ap.parse_args(argv)
    source = int(args.source) if args.source.isdigit() else args.source

    signal.signal(signal.SIGTERM, request_stop)
    publisher = UdpPublisher(args.host, args.port)
    pipe = edgefer.Pipeline(bundle=args.bundle, threads=args.threads)
    print("robot: %s; events to udp://%s:%s" % (pipe.describe(), publisher.address[0], publisher.address[1]),
          flush=True)
    try:
        error = control_loop(pipe, source, Robot(), Behaviour(args.min_confidence, args.cooldown), publisher,
                             rate=args.rate, seconds=args.seconds, max_frames=args.max_frames, verbose=args.verbose)
    finally:
        pipe.close()
        publisher.close()
    print("robot: stopped, %d event(s) sent" % publisher.sent, flush=True)
    if error is not None:
        print("robot: the pipeline failed: %s" % error, file=sys.stderr)
        return 2 if isinstance(error, edgefer.EdgeferError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
