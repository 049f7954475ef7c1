"""A small local web page for kiosks: the annotated stream and live emotion bars.

``WebSink(host="127.0.0.1", port=8080)`` serves, from the standard library's
``ThreadingHTTPServer`` (a short-lived thread per request) and one writer thread that feeds
every open stream and event client on non-blocking sockets:

* ``/`` -- a self-contained HTML page (no external scripts, fonts or styles): the stream as
  ``<img src="/stream.mjpg">`` and a bar per emotion for each face;
* ``/stream.mjpg`` -- ``multipart/x-mixed-replace`` MJPEG of the annotated frames. Each frame
  is drawn and JPEG-encoded once, however many clients watch (and not at all while none
  does), at most ``max_fps`` times a second; every client gets the newest frame when it has
  taken the whole of its previous one, so a slow client skips frames instead of falling
  behind (the stream's socket send buffer is kept small for that), and a client that stops
  reading is dropped after ``client_timeout`` seconds;
* ``/events`` -- Server-Sent Events, one ``data:`` line with the newest
  ``FrameResult.to_dict()`` per update, at most ``max_fps`` a second. The page uses these
  rather than polling ``/latest.json``: an update reaches the page within a frame interval,
  costs no request per update, and the browser's ``EventSource`` reconnects by itself;
  results that arrive while a client is still busy are skipped, as in the stream;
* ``/latest.json`` -- the newest record (``null`` before the first frame), for scripts;
* ``/healthz`` -- ``{"status": "ok", "frames": N, ...}``.

It binds 127.0.0.1 unless told otherwise (``host="0.0.0.0"`` shows the page to the whole
network: the URL printed says so). Frames are kept in memory only, never written to disk.
"""

import hmac
import json
import logging
import secrets
import selectors
import socket
import sys
import threading
import time
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs

from .. import deps
from ..errors import EdgeferError, reason
from .overlay import PALETTE, Overlay
from .privacy import check_mode as check_privacy
from .privacy import shows_video
from .types import Sink

log = logging.getLogger(__name__)

BOUNDARY = "edgefer-frame"
_WILDCARDS = ("", "0.0.0.0", "::")


def _css(color):
    b, g, r = color
    return "#%02x%02x%02x" % (r, g, b)


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s</title>
<style>
  html, body { margin: 0; background: #111; color: #eee; font: 16px/1.3 system-ui, sans-serif; }
  main { display: flex; flex-wrap: wrap; gap: 12px; padding: 12px; align-items: flex-start; }
  #stream { max-width: 100%%; max-height: 92vh; background: #000; flex: 0 1 auto; }
  #faces { flex: 1 1 260px; min-width: 240px; }
  .face { background: #1c1c1c; border-radius: 6px; padding: 8px 10px; margin-bottom: 10px; }
  .face h2 { font-size: 18px; margin: 0 0 6px; }
  .row { display: flex; align-items: center; gap: 6px; margin: 2px 0; font-size: 14px; }
  .row .name { width: 72px; }
  .row .track { flex: 1; background: #333; height: 12px; border-radius: 3px; overflow: hidden; }
  .row .bar { height: 100%%; width: 0; transition: width .15s linear; }
  .row .value { width: 40px; text-align: right; font-variant-numeric: tabular-nums; }
  #status, footer { color: #888; font-size: 13px; }
  footer { padding: 0 12px 12px; }
</style>
</head>
<body>
<main>
  %(stream)s
  <section id="faces"><p id="status">waiting for frames&hellip;</p></section>
</main>
<footer>Processed on this device; frames are not stored.%(privacy_note)s</footer>
<script>
var COLORS = %(colors)s;
function colorOf(label) { return COLORS[label] || "#9cf"; }
function render(rec) {
  var box = document.getElementById("faces");
  while (box.firstChild) { box.removeChild(box.firstChild); }
  if (!rec) { return; }
  if (!rec.faces.length) {
    var p = document.createElement("p"); p.id = "status";
    p.textContent = "frame " + rec.frame + ": no face"; box.appendChild(p); return;
  }
  rec.faces.forEach(function (f) {
    var div = document.createElement("div"); div.className = "face";
    var h = document.createElement("h2");
    h.textContent = "#" + f.id + " " + (f.label || "?") + " " + Math.round(100 * f.confidence) + "%%";
    h.style.color = colorOf(f.label); div.appendChild(h);
    Object.keys(f.probs).forEach(function (name) {
      var row = document.createElement("div"); row.className = "row";
      var n = document.createElement("span"); n.className = "name"; n.textContent = name;
      var t = document.createElement("span"); t.className = "track";
      var b = document.createElement("span"); b.className = "bar"; b.style.display = "block";
      b.style.width = (100 * f.probs[name]).toFixed(1) + "%%"; b.style.background = colorOf(name);
      var v = document.createElement("span"); v.className = "value";
      v.textContent = Math.round(100 * f.probs[name]) + "%%";
      t.appendChild(b); row.appendChild(n); row.appendChild(t); row.appendChild(v); div.appendChild(row);
    });
    box.appendChild(div);
  });
}
function poll() {
  fetch("/latest.json").then(function (r) { return r.json(); }).then(render)
    .catch(function () {}).then(function () { setTimeout(poll, 500); });
}
if (window.EventSource) {
  new EventSource("/events").onmessage = function (e) { render(JSON.parse(e.data)); };
} else {
  poll();
}
var img = document.getElementById("stream");
if (img) {
  img.onerror = function () {  // the pipeline restarted or the stream ended: try again
    setTimeout(function () { img.src = "/stream.mjpg?" + Date.now(); }, 2000);
  };
}
</script>
</body>
</html>
"""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The standard library's listen backlog is 5: a burst of browsers (a kiosk's page opened on
    # several screens, reconnects after a network blip) would see refused connections.
    request_queue_size = 128

    def __init__(self, *args, **kwargs):
        self.handed = set()  # stream and event sockets the broadcaster now owns
        ThreadingHTTPServer.__init__(self, *args, **kwargs)

    def shutdown_request(self, request):
        if request in self.handed:
            self.handed.discard(request)  # the request's thread is done; the socket lives on
            return
        ThreadingHTTPServer.shutdown_request(self, request)

    def handle_error(self, request, client_address):
        """A client that goes away mid-answer is normal (debug); anything else one warning
        line. socketserver's default prints a traceback into the user's terminal."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            log.debug("web page: client %s went away (%s)", client_address[0], exc)
        else:
            log.warning("web page: a request from %s failed: %s", client_address[0], reason(exc))


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    sink = None  # set on the subclass made per WebSink
    server_version = "edgefer"

    def log_message(self, fmt, *args):  # no per-request lines on stderr
        pass

    def _send(self, code, ctype, body, cache=False, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        if not cache:
            self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path, _, query = self.path.partition("?")
        s = self.sink
        try:
            if not s.host_allowed(self.headers.get("Host"), self.connection.getsockname()[0]):
                # DNS rebinding: a page from another site, its name pointed at this machine
                self._send(403, "text/plain; charset=utf-8", b"this page answers to its own host names only\n")
                return
            given = parse_qs(query).get("token", [None])[0]
            if path != "/healthz" and not s.token_ok(given or _cookie(self.headers.get("Cookie"), s.cookie_name)):
                self._send(401, "text/plain; charset=utf-8",
                           b"an access token is needed: open the address with ?token= that edgefer printed at start\n")
                return
            remember = [("Set-Cookie", "%s=%s; Path=/; HttpOnly; SameSite=Strict" % (s.cookie_name, given))] \
                if given and s.token else []
            if path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", s.page, headers=remember)
            elif path == "/latest.json":
                self._send(200, "application/json", (s.latest_json() or "null").encode("utf-8"))
            elif path == "/healthz":
                self._send(200, "application/json", json.dumps(s.health()).encode("utf-8"))
            elif path == "/stream.mjpg" and self.command == "GET" and s.video:
                self._stream()
            elif path == "/events" and self.command == "GET":
                self._events()
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found\n")
        except OSError:
            pass  # the client went away, or stopped reading for client_timeout seconds

    def _stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=%s" % BOUNDARY)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self._hand_over(_Viewer.MJPEG)

    def _events(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"retry: 2000\n\n")
        self._hand_over(_Viewer.EVENTS)

    def _hand_over(self, kind):
        """From here the broadcaster writes to this client; this request's thread ends now and
        must leave the socket open."""
        self.close_connection = True
        self.server.handed.add(self.connection)
        self.sink._broadcaster.adopt(self.connection, kind)


class _Viewer(object):
    """One client of ``/stream.mjpg`` or ``/events``: what is still to be sent of its current
    frame or record, and when it last took any of it."""

    MJPEG, EVENTS = "mjpeg", "events"
    __slots__ = ("sock", "kind", "pending", "seq", "progress", "sent")

    def __init__(self, sock, kind, now):
        self.sock, self.kind = sock, kind
        self.pending = memoryview(b"")
        self.seq = 0           # the result it got last
        self.progress = now    # when it last took bytes (or arrived)
        self.sent = now        # when it was last given something (keep-alives)


class _Broadcaster(object):
    """The one thread that writes the stream and the events to every client, on non-blocking
    sockets through a selector.

    A thread per client (the standard library's way) made a hundred viewers cost the
    pipeline 15 % of its frame rate and 390 MB, mostly in threads taking turns at the GIL;
    one writer does the same work in one place: ``max_fps`` times a second it takes the
    newest result, draws and encodes it once, and gives it to every client that has taken
    the whole of its previous one. A client still busy keeps what it has (it skips frames
    instead of falling behind); one that takes nothing for ``client_timeout`` seconds, or
    goes away, is dropped."""

    KEEP_ALIVE_S = 15.0  # an event client hears something this often (finds dead clients, keeps proxies open)

    def __init__(self, sink):
        self.sink = sink
        self.selector = selectors.DefaultSelector()
        self.viewers = {}             # socket -> _Viewer; touched by the broadcaster's thread only
        self._arrivals = []           # (socket, kind) handed over by request threads
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="edgefer-web-writer:%d" % sink.port)
        self._thread.daemon = True
        self._thread.start()

    # -- other threads -------------------------------------------------------------------
    def adopt(self, sock, kind):
        with self._lock:
            self._arrivals.append((sock, kind))
        self._wake()

    def count(self, kind):
        return sum(1 for v in list(self.viewers.values()) if v.kind == kind)

    def stop(self):
        self._stop = True
        self._wake()
        self._thread.join(5.0)

    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass  # already awake (its buffer is full) or stopped

    # -- the broadcaster's thread --------------------------------------------------------
    def _run(self):
        tick = time.monotonic()
        try:
            while not self._stop:
                now = time.monotonic()
                if now >= tick:
                    self._give_newest(now)
                    tick = now + self.sink.frame_interval
                self._welcome(now)
                for key, mask in self.selector.select(timeout=max(0.0, tick - time.monotonic())):
                    self._on_ready(key, mask)
                self._drop_stalled(time.monotonic())
        finally:
            for sock in list(self.viewers):
                self._drop(sock)
            self.selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _welcome(self, now):
        with self._lock:
            arrivals, self._arrivals = self._arrivals, []
        for sock, kind in arrivals:
            try:
                # A small send buffer: a client slower than the stream holds one frame in the
                # kernel, not seconds of them.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.sink.send_buffer)
                sock.setblocking(False)
            except OSError:
                sock.close()
                continue
            self.viewers[sock] = _Viewer(sock, kind, now)
            self.selector.register(sock, selectors.EVENT_READ, None)
        if arrivals:
            self._give_newest(now)  # a new viewer sees the current frame at once

    def _give_newest(self, now):
        seq, result, text = self.sink._snapshot()
        idle = [v for v in self.viewers.values() if not v.pending]
        if seq:
            self._give(idle, _Viewer.MJPEG, seq, lambda: self._mjpeg_part(result), now)
            self._give(idle, _Viewer.EVENTS, seq, lambda: ("data: %s\n\n" % text).encode("utf-8"), now)
        for v in idle:
            if v.kind == _Viewer.EVENTS and not v.pending and now - v.sent >= self.KEEP_ALIVE_S:
                self._queue(v, b": keep-alive\n\n", v.seq, now)

    def _give(self, idle, kind, seq, make, now):
        """Queue the result numbered ``seq`` to every idle client of ``kind`` that lacks it,
        made (drawn, encoded) once for all of them and only if one wants it."""
        wanting = [v for v in idle if v.kind == kind and v.seq < seq]
        data = make() if wanting else None
        for v in wanting if data else ():
            self._queue(v, data, seq, now)

    def _mjpeg_part(self, result):
        jpeg = self.sink._encode(result)
        if jpeg is None:
            return None
        head = "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % (BOUNDARY, len(jpeg))
        return head.encode("ascii") + jpeg + b"\r\n"

    def _queue(self, viewer, data, seq, now):
        viewer.pending, viewer.seq, viewer.sent = memoryview(data), seq, now
        self._send(viewer, now)

    def _send(self, viewer, now):
        try:
            n = viewer.sock.send(viewer.pending)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:
            self._drop(viewer.sock)
            return
        if n:
            viewer.pending, viewer.progress = viewer.pending[n:], now
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if viewer.pending else 0)
        self.selector.modify(viewer.sock, events, None)

    def _on_ready(self, key, mask):
        sock = key.fileobj
        if sock is self._wake_r:
            try:
                while sock.recv(4096):
                    pass
            except OSError:
                pass
            return
        viewer = self.viewers.get(sock)
        if viewer is None:
            return
        if mask & selectors.EVENT_READ and not self._still_there(sock):
            self._drop(sock)
        elif mask & selectors.EVENT_WRITE:
            self._send(viewer, time.monotonic())

    @staticmethod
    def _still_there(sock):
        """A readable client socket: the client closed it (end of file, reset) or sent bytes,
        which nothing here reads."""
        try:
            return bool(sock.recv(4096))
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False

    def _drop_stalled(self, now):
        timeout = self.sink.client_timeout
        for v in [v for v in self.viewers.values() if v.pending and now - v.progress > timeout]:
            log.debug("web page: dropped a client that took nothing for %.0f s", timeout)
            self._drop(v.sock)

    def _drop(self, sock):
        self.viewers.pop(sock, None)
        try:
            self.selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


class WebSink(Sink):
    """Serves the annotated stream and live emotion bars on a local web page.

    ``host``: the address to bind (127.0.0.1: this machine only; ``"0.0.0.0"``: every
    network interface). ``port``: 0 picks a free port; ``.port`` and ``.url`` say which.
    ``overlay``: the :class:`~edgefer.runtime.overlay.Overlay` the stream is drawn with
    (``False``: the frames without annotation). ``quality``: JPEG quality of the stream.
    The URL is logged once (``edgefer.runtime.web``, INFO; a warning when every interface
    listens).

    Protection: requests must name this machine in their ``Host`` header (the bound address,
    ``localhost``, the machine's names and the address the request came in on), which stops
    DNS rebinding; on any address but loopback an access ``token`` is required (generated
    unless given, and part of the logged URL), as Jupyter does: ``/?token=...`` on first load,
    then a cookie, accepted by the stream and the events too. ``/healthz`` needs no token
    (it tells frame counts only). ``client_timeout``:
    seconds a client may stop reading before it is dropped. ``max_fps``: the stream's frame
    rate per client, and of JPEG encoding overall (15: enough for a kiosk screen; a hundred
    viewers cost the pipeline little). ``privacy``: ``no-video`` serves no stream (the page
    shows the emotions and counts only; ``/stream.mjpg`` is 404), ``blur`` says on the page
    that faces are blurred (the pipeline blurs them: :mod:`edgefer.runtime.privacy`).
    ``page``: the HTML served at ``/`` instead of the built-in page, for an app of one's own
    over the same endpoints (``examples/kiosk/``). :meth:`close` shuts the server down and
    frees the port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8080, overlay=None, quality: int = 80,
                 title: str = "edgefer", client_timeout: float = 10.0, token: Optional[str] = None,
                 max_fps: float = 15.0, privacy: str = "off", page: Optional[str] = None) -> None:
        self.cv2 = deps.cv2("serving the web page")
        self.host = host
        self.privacy = check_privacy(privacy)
        self.video = shows_video(privacy)
        self.quality = int(quality)
        self.client_timeout = float(client_timeout)
        if not max_fps > 0:
            raise EdgeferError("web page: max_fps must be > 0, not %r" % (max_fps,))
        self.frame_interval = 1.0 / float(max_fps)
        self.send_buffer = 128 * 1024  # bytes of socket send buffer per stream client
        self.frames = 0         # results written
        self.encoded = 0        # JPEG encodings made (at most one per result)
        if overlay is False:
            self._overlay, self._draw = None, lambda result: result.image
        else:
            self._overlay = overlay if overlay is not None else Overlay()
            # draw without counting the frame again for the FPS (write() counts it)
            self._draw = getattr(self._overlay, "render", self._overlay)
        colors = {name: _css(c) for name, c in PALETTE.items()}
        self.page = (page if page is not None else _page(title, colors, self.privacy)).encode("utf-8")
        self._lock = threading.Lock()  # the newest result, between the pipeline and the broadcaster
        self._result = None
        self._json = None
        self._seq = 0
        self._time = None
        self._closed = False

        handler = type("Handler", (_Handler,), {"sink": self, "timeout": self.client_timeout})
        server_cls = _Server6 if ":" in host else _Server
        try:
            self._server = server_cls((host, int(port)), handler)
        except (OSError, OverflowError) as exc:
            raise EdgeferError("cannot serve the web page on %s:%s: %s (choose another port, or port 0 for a "
                               "free one)" % (host, port, getattr(exc, "strerror", None) or exc))
        self.port = self._server.server_address[1]
        shown = "127.0.0.1" if host in _WILDCARDS else ("[%s]" % host if ":" in host else host)
        self.token = token if token is not None else (None if _loopback(host) else secrets.token_urlsafe(18))
        self.cookie_name = "edgefer_token_%d" % self.port
        self._hosts = None  # the machine's names and addresses, looked up on first need (DNS may be slow)
        self._local_names = {"localhost", "127.0.0.1", "::1", host.lower()} - set(_WILDCARDS)
        self.url = "http://%s:%d/" % (shown, self.port) + ("?token=" + self.token if self.token else "")
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="edgefer-web:%d" % self.port)
        self._thread.daemon = True
        self._broadcaster = _Broadcaster(self)
        self._thread.start()
        if host in _WILDCARDS:
            log.warning("web page at %s (listening on every network interface: anyone on the network can open it)",
                        self.url)
        else:
            log.info("web page at %s", self.url)

    # -- who may look ------------------------------------------------------------------
    def host_allowed(self, header: Optional[str], local_address: str) -> bool:
        """Whether a request's ``Host`` header names this machine (no header: HTTP/1.0 tools)."""
        if header is None:
            return True
        name = _host_name(header)
        if name in self._local_names or name == local_address.lower():
            return True
        if self._hosts is None:
            self._hosts = _own_names(self.host)
        return name in self._hosts

    def token_ok(self, given: Optional[str]) -> bool:
        return self.token is None or (given is not None and hmac.compare_digest(given, self.token))

    # -- the pipeline side -------------------------------------------------------------
    def write(self, result) -> None:
        if self._closed:
            raise RuntimeError("write() on a closed WebSink")
        text = json.dumps(result.to_dict(), separators=(",", ":"))
        if hasattr(self._overlay, "note"):
            self._overlay.note(result)
        with self._lock:
            self._result, self._json, self._time = result, text, time.time()
            self._seq += 1
            self.frames += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._broadcaster.stop()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)

    @property
    def carries_frames(self) -> bool:
        return self.video

    # -- the server side ---------------------------------------------------------------
    @property
    def stream_clients(self) -> int:
        return self._broadcaster.count(_Viewer.MJPEG)

    @property
    def event_clients(self) -> int:
        return self._broadcaster.count(_Viewer.EVENTS)

    def latest_json(self):
        with self._lock:
            return self._json

    def health(self):
        with self._lock:
            age = None if self._time is None else round(time.time() - self._time, 3)
            frames = self.frames
        return {"status": "ok", "frames": frames, "stream_clients": self.stream_clients,
                "event_clients": self.event_clients, "last_frame_age_s": age, "privacy": self.privacy,
                "video": self.video}

    def _snapshot(self):
        with self._lock:
            return self._seq, self._result, self._json

    def _encode(self, result):
        """JPEG bytes of ``result`` drawn with the overlay (the broadcaster's thread: once per
        frame it sends, however many clients watch)."""
        cv2 = self.cv2
        ok, buf = cv2.imencode(".jpg", self._draw(result), [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            return None
        self.encoded += 1
        return buf.tobytes()


def _page(title, colors, privacy):
    stream = '<img id="stream" src="/stream.mjpg" alt="annotated camera stream">' if shows_video(privacy) else ""
    note = {"off": "", "blur": " Faces are blurred in the stream.", "no-video": " No video leaves the device."}[privacy]
    return PAGE % {"title": _html_escape(title), "colors": json.dumps(colors), "stream": stream,
                   "privacy_note": note}


def _host_name(header):
    """``Host`` header -> the name without the port: ``[::1]:8080`` -> ``::1``, ``pi.local:80`` -> ``pi.local``."""
    name = header.strip().lower()
    if name.startswith("[") and "]" in name:
        return name[1:name.index("]")]
    return name.rsplit(":", 1)[0] if name.count(":") == 1 else name


def _loopback(host):
    return host in ("localhost", "::1") or host.startswith("127.")


def _own_names(host):
    """The names a request may use for this machine: the bound address, loopback, the
    host name, its fully qualified name and their addresses."""
    names = {"localhost", "127.0.0.1", "::1", host.lower()}
    for name in (socket.gethostname(), socket.getfqdn()):
        names.add(name.lower())
        try:
            names.update(info[4][0].lower() for info in socket.getaddrinfo(name, None))
        except OSError:
            pass
    return names - set(_WILDCARDS)


def _cookie(header, name):
    if not header:
        return None
    try:
        morsel = SimpleCookie(header).get(name)
    except CookieError:
        return None
    return morsel.value if morsel is not None else None


def _html_escape(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")

