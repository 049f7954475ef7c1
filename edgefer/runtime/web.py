"""A small local web page for kiosks: the annotated stream and live emotion bars.

``WebSink(host="127.0.0.1", port=8080)`` serves, from a daemon thread running the standard
library's ``ThreadingHTTPServer``:

* ``/`` -- a self-contained HTML page (no external scripts, fonts or styles): the stream as
  ``<img src="/stream.mjpg">`` and a bar per emotion for each face;
* ``/stream.mjpg`` -- ``multipart/x-mixed-replace`` MJPEG of the annotated frames. Each frame
  is drawn and JPEG-encoded once, however many clients watch (and not at all while none
  does); every client gets the newest frame when it is ready for one, so a slow client skips
  frames instead of falling behind (the stream's socket send buffer is kept small for that),
  and a client that stops reading is dropped after ``client_timeout`` seconds;
* ``/events`` -- Server-Sent Events, one ``data:`` line with the newest
  ``FrameResult.to_dict()`` per update. The page uses these rather than polling
  ``/latest.json``: an update reaches the page as soon as the frame is processed, costs no
  request per update, and the browser's ``EventSource`` reconnects by itself; frames that
  arrive while a client is still busy are skipped, as in the stream;
* ``/latest.json`` -- the newest record (``null`` before the first frame), for scripts;
* ``/healthz`` -- ``{"status": "ok", "frames": N, ...}``.

It binds 127.0.0.1 unless told otherwise (``host="0.0.0.0"`` shows the page to the whole
network: the URL printed says so). Frames are kept in memory only, never written to disk.
"""

import hmac
import json
import logging
import secrets
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
  <img id="stream" src="/stream.mjpg" alt="annotated camera stream">
  <section id="faces"><p id="status">waiting for frames&hellip;</p></section>
</main>
<footer>Processed on this device; frames are not stored.</footer>
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
img.onerror = function () {  // the pipeline restarted or the stream ended: try again
  setTimeout(function () { img.src = "/stream.mjpg?" + Date.now(); }, 2000);
};
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
            elif path == "/stream.mjpg" and self.command == "GET":
                self._stream()
            elif path == "/events" and self.command == "GET":
                self._events()
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found\n")
        except OSError:
            pass  # the client went away, or stopped reading for client_timeout seconds

    def _stream(self):
        s = self.sink
        # A small send buffer: when the client (or its network) is slower than the stream, the
        # write blocks after a frame or two and the next write takes the newest frame, instead
        # of seconds of old frames piling up in the kernel.
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, s.send_buffer)
        except OSError:
            pass
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=%s" % BOUNDARY)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        seq = 0
        with s._clients_lock:
            s.stream_clients += 1
        try:
            sent = float("-inf")
            while True:
                pause = sent + s.frame_interval - time.monotonic()
                if pause > 0:
                    time.sleep(pause)  # each client at most max_fps frames a second
                if not s._wait_newer(seq):
                    return
                seq, jpeg = s._latest_jpeg()
                sent = time.monotonic()
                if jpeg is None:
                    continue
                head = "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % (BOUNDARY, len(jpeg))
                self.wfile.write(head.encode("ascii") + jpeg + b"\r\n")
                self.wfile.flush()
        finally:
            with s._clients_lock:
                s.stream_clients -= 1

    def _events(self):
        s = self.sink
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"retry: 2000\n\n")
        self.wfile.flush()
        seq = 0
        with s._clients_lock:
            s.event_clients += 1
        try:
            while True:
                newer = s._wait_newer(seq, timeout=15.0)
                if newer is None:
                    self.wfile.write(b": keep-alive\n\n")  # finds dead clients, keeps proxies open
                elif not newer:
                    return
                else:
                    seq, text = s._latest()
                    self.wfile.write(("data: %s\n\n" % text).encode("utf-8"))
                self.wfile.flush()
        finally:
            with s._clients_lock:
                s.event_clients -= 1


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
    viewers cost the pipeline little). :meth:`close` shuts the server
    down and frees the port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8080, overlay=None, quality: int = 80,
                 title: str = "edgefer", client_timeout: float = 10.0, token: Optional[str] = None,
                 max_fps: float = 15.0) -> None:
        self.cv2 = deps.cv2("serving the web page")
        self.host = host
        self.quality = int(quality)
        self.client_timeout = float(client_timeout)
        if not max_fps > 0:
            raise EdgeferError("web page: max_fps must be > 0, not %r" % (max_fps,))
        self.frame_interval = 1.0 / float(max_fps)
        self.send_buffer = 128 * 1024  # bytes of socket send buffer per stream client
        self.stream_clients = 0
        self.event_clients = 0
        self.frames = 0         # results written
        self.encoded = 0        # JPEG encodings made (at most one per result)
        if overlay is False:
            self._overlay, self._draw = None, lambda result: result.image
        else:
            self._overlay = overlay if overlay is not None else Overlay()
            # draw without counting the frame again for the FPS (write() counts it)
            self._draw = getattr(self._overlay, "render", self._overlay)
        colors = {name: _css(c) for name, c in PALETTE.items()}
        self.page = (PAGE % {"title": _html_escape(title), "colors": json.dumps(colors)}).encode("utf-8")
        self._cond = threading.Condition()
        self._clients_lock = threading.Lock()
        self._encode_lock = threading.Lock()
        self._result = None
        self._json = None
        self._seq = 0
        self._time = None
        self._jpeg = None
        self._jpeg_seq = 0
        self._jpeg_time = float("-inf")
        self._closing = False
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
        self._hosts = _own_names(host)
        self.url = "http://%s:%d/" % (shown, self.port) + ("?token=" + self.token if self.token else "")
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="edgefer-web:%d" % self.port)
        self._thread.daemon = True
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
        return name in self._hosts or name == local_address.lower()

    def token_ok(self, given: Optional[str]) -> bool:
        return self.token is None or (given is not None and hmac.compare_digest(given, self.token))

    # -- the pipeline side -------------------------------------------------------------
    def write(self, result) -> None:
        if self._closed:
            raise RuntimeError("write() on a closed WebSink")
        text = json.dumps(result.to_dict(), separators=(",", ":"))
        if hasattr(self._overlay, "note"):
            self._overlay.note(result)
        with self._cond:
            self._result, self._json, self._time = result, text, time.time()
            self._seq += 1
            self.frames += 1
            self._cond.notify_all()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)

    # -- the server side ---------------------------------------------------------------
    def latest_json(self):
        with self._cond:
            return self._json

    def health(self):
        with self._cond:
            age = None if self._time is None else round(time.time() - self._time, 3)
            return {"status": "ok", "frames": self.frames, "stream_clients": self.stream_clients,
                    "event_clients": self.event_clients, "last_frame_age_s": age}

    def _wait_newer(self, seq, timeout=None):
        """Wait until a result newer than ``seq`` exists: True; False when closing; None
        when ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._seq <= seq and not self._closing:
                left = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
                if left <= 0:
                    return None
                self._cond.wait(left)
            return not self._closing

    def _latest(self):
        with self._cond:
            return self._seq, self._json

    def _latest_jpeg(self):
        """(seq, JPEG bytes) of the newest result, drawn and encoded once for all clients, and
        at most ``max_fps`` times a second however many clients ask (the page's video is a
        view, not the measurement: a crowd of viewers must not slow the pipeline)."""
        with self._cond:
            seq, result = self._seq, self._result
        with self._encode_lock:
            fresh = time.monotonic() - self._jpeg_time < self.frame_interval
            if seq > self._jpeg_seq and not (fresh and self._jpeg is not None):
                cv2 = self.cv2
                ok, buf = cv2.imencode(".jpg", self._draw(result), [cv2.IMWRITE_JPEG_QUALITY, self.quality])
                if not ok:
                    return seq, None
                self._jpeg, self._jpeg_seq, self._jpeg_time = buf.tobytes(), seq, time.monotonic()
                self.encoded += 1
            return self._jpeg_seq, self._jpeg


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

