"""A kiosk: camera -> emotions -> a local web page (annotated stream + live emotion bars).

    python examples/kiosk.py --bundle vit.edgefer --source picam://0              # Raspberry Pi camera
    python examples/kiosk.py --bundle vit.edgefer --source csi://0 --host 0.0.0.0 # Jetson, page on the LAN

Open http://127.0.0.1:8080/ in the kiosk's browser. No frame is stored on disk.
The same as `edgefer run --source picam://0 --bundle vit.edgefer --serve 8080`.
"""

import argparse

import edgefer


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--source", default="0")
    ap.add_argument("--host", default="127.0.0.1", help="0.0.0.0 makes the page reachable from the network")
    ap.add_argument("--port", type=int, default=8080)
    args = ap.parse_args()
    source = int(args.source) if args.source.isdigit() else args.source

    pipe = edgefer.Pipeline(bundle=args.bundle, max_faces=4)
    with edgefer.open_sinks(["web://%s:%d" % (args.host, args.port)], bars=True) as sinks:
        try:
            summary = pipe.run(source, [sinks])
            print(summary.line())
        except KeyboardInterrupt:
            pass
        finally:
            pipe.close()


if __name__ == "__main__":
    main()
