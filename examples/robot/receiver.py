"""Receive robot.py's emotion events (UDP JSON datagrams) and print them, one line each.

    python examples/robot/receiver.py                      # listen on 127.0.0.1:5005
    python examples/robot/receiver.py --host 0.0.0.0       # events from robot.py on another machine
    python examples/robot/receiver.py --json --count 10    # the raw JSON lines; stop after 10

Standard library only: copy it to whatever machine or process acts on the events.
"""

import argparse
import json
import socket
import sys

DEFAULT_PORT = 5005  # robot.py's default


def describe(message):
    """One line for a message (layout in README.md)."""
    face = "face %s" % message.get("id")
    label = message.get("label")
    if message.get("confidence") is not None:
        label = "%s %.2f" % (label, message["confidence"])
    if message.get("event") == "emotion_changed":
        line = "%s: %s -> %s" % (face, message.get("previous"), label)
    elif message.get("event") == "appeared":
        line = "%s appeared (%s)" % (face, label)
    elif message.get("event") == "lost":
        line = "%s left (last %s)" % (face, message.get("label"))
    else:
        line = "%s: %s" % (face, message.get("event"))
    if message.get("action"):
        line += " -> " + message["action"]
    return "frame %s  %s" % (message.get("frame"), line)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    ap.add_argument("--json", action="store_true", help="print each message as received (one JSON line)")
    ap.add_argument("--count", type=int, default=0, help="stop after N messages (0: run until Ctrl-C)")
    ap.add_argument("--timeout", type=float, default=0, help="stop after N seconds without a message (0: wait)")
    args = ap.parse_args(argv)

    family, kind, proto, _, address = socket.getaddrinfo(args.host, args.port, 0, socket.SOCK_DGRAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.bind(address)
    if args.timeout:
        sock.settimeout(args.timeout)
    print("listening on udp://%s:%s" % sock.getsockname()[:2], file=sys.stderr, flush=True)
    received = 0
    try:
        while not args.count or received < args.count:
            try:
                data, peer = sock.recvfrom(65535)
            except socket.timeout:
                break
            try:
                message = json.loads(data.decode("utf-8"))
            except ValueError:
                print("ignored a datagram from %s:%s that is not JSON" % peer[:2], file=sys.stderr)
                continue
            received += 1
            print(json.dumps(message) if args.json else describe(message), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
