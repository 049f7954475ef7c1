"""React to emotion changes in a robot's control loop.

    python examples/robot_loop.py --bundle vit.edgefer --source 0
    python examples/robot_loop.py --bundle vit.edgefer --source csi://0      # Jetson CSI camera

The pipeline runs in a background thread; the control loop reads the latest state and the
callbacks fire as faces appear, change emotion and leave. Ctrl-C stops it cleanly.
"""

import argparse
import threading
import time

import edgefer


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", required=True, help="NAME.edgefer made by `edgefer export`")
    ap.add_argument("--source", default="0", help="camera number, video file, csi://0, picam://0, rtsp://...")
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: run until Ctrl-C)")
    args = ap.parse_args()
    source = int(args.source) if args.source.isdigit() else args.source

    pipe = edgefer.Pipeline(bundle=args.bundle)
    print(pipe.describe())
    latest = {}  # track id -> (emotion, confidence)

    @pipe.on("emotion_changed")
    def changed(event):
        print("face %d: %s -> %s" % (event.track_id, event.previous, event.emotion))

    @pipe.on("appeared")
    def appeared(event):
        print("face %d appeared (%s)" % (event.track_id, event.emotion))

    @pipe.on("lost")
    def lost(event):
        latest.pop(event.track_id, None)
        print("face %d left" % event.track_id)

    def worker():
        for result in pipe.stream(source):
            for face in result.faces:
                latest[face.track_id] = (face.emotion, face.confidence)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    t0 = time.time()
    try:
        while thread.is_alive() and (not args.seconds or time.time() - t0 < args.seconds):
            # The robot's own loop: e.g. greet happy faces, slow down near surprised ones.
            if any(emotion == "happy" and conf > 0.6 for emotion, conf in list(latest.values())):
                pass  # robot.wave()
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    finally:
        pipe.stop()  # safe from this thread: the stream ends after the current frame
        thread.join(timeout=5)
        pipe.close()


if __name__ == "__main__":
    main()
