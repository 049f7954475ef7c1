"""Make the pipeline benchmark's videos, deterministically, from the real photos in
../shared/data/faces (the photos may not be shipped, so neither are the videos: they go to a
cache folder, by default ``$EDGEFER_CACHE_DIR/bench-videos`` or ``~/.cache/edgefer/bench-videos``).

    python benchmarks/make_videos.py                      # prints the paths
    python benchmarks/make_videos.py --faces DIR --out DIR --force

Videos (MJPG .avi, 30 fps, 300 frames each; a virtual camera pans and zooms over a photo):

* ``one_face_640x360.avi``  — a portrait (facerec_obama.jpg): one face of 210-330 px that
  drifts across the frame and grows and shrinks (a kiosk or robot camera);
* ``group_640x360.avi``     — a group photo (linzaer_9.jpg): 8 faces of 70-110 px, panning;
* ``crowd_1280x720.avi``    — a crowd (linzaer_10.jpg): 20 faces of 50-110 px at 720p
  (BlazeFace short-range finds none of them: a case for blazeface-back or YuNet).

The camera path is a closed-form function of the frame number, so the same OpenCV gives
the same files; a JSON sidecar beside each video records how it was made.
"""

import argparse
import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from edgefer.atomic import atomic_path, write_json  # noqa: E402
from edgefer.cache import cache_dir  # noqa: E402

DEFAULT_FACES = os.path.join(os.path.dirname(ROOT), "shared", "data", "faces")
FRAMES = 300
FPS = 30.0

# name -> photo, output size, camera path: crop width (pixels of the photo) and centre at t in [0, 1].
VIDEOS = {
    "one_face_640x360": {
        "photo": "facerec_obama.jpg", "size": (640, 360),
        # face centre (489, 252), 310 px wide in the photo
        "width": lambda t, w, h: 910 - 310 * math.sin(math.pi * t),
        "centre": lambda t, cw, w, h: (489 + 0.15 * cw * math.sin(2 * math.pi * t), 252 + 0.03 * cw * math.cos(2 * math.pi * t)),
    },
    "group_640x360": {
        "photo": "linzaer_9.jpg", "size": (640, 360),
        "width": lambda t, w, h: 1024 - 224 * math.sin(math.pi * t),
        "centre": lambda t, cw, w, h: (cw / 2 + (w - cw) * (0.5 - 0.5 * math.cos(2 * math.pi * t)), 310),
    },
    "crowd_1280x720": {
        "photo": "linzaer_10.jpg", "size": (1280, 720),
        "width": lambda t, w, h: 1024 - 300 * math.sin(math.pi * t),
        "centre": lambda t, cw, w, h: (cw / 2 + (w - cw) * (0.5 - 0.5 * math.cos(2 * math.pi * t)), 260),
    },
}


def camera_frame(cv2, img, spec, t):
    """The frame at time ``t`` in [0, 1]: a crop of the photo with the output's aspect ratio,
    kept inside the photo, resized with INTER_AREA."""
    h, w = img.shape[:2]
    ow, oh = spec["size"]
    cw = min(float(spec["width"](t, w, h)), w, h * ow / float(oh))
    ch = cw * oh / float(ow)
    cx, cy = spec["centre"](t, cw, w, h)
    x0 = int(round(min(max(cx - cw / 2, 0), w - cw)))
    y0 = int(round(min(max(cy - ch / 2, 0), h - ch)))
    crop = img[y0:y0 + int(round(ch)), x0:x0 + int(round(cw))]
    return cv2.resize(crop, (ow, oh), interpolation=cv2.INTER_AREA)


def make(cv2, faces, out, name, spec, frames=FRAMES, fps=FPS):
    photo = os.path.join(faces, spec["photo"])
    img = cv2.imread(photo)
    if img is None:
        raise SystemExit("cannot read %s (pass --faces DIR: the folder of ../shared/data/faces)" % photo)
    path = os.path.join(out, name + ".avi")
    with atomic_path(path) as tmp:
        vw = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"MJPG"), fps, tuple(spec["size"]))
        if not vw.isOpened():
            raise SystemExit("OpenCV cannot write MJPG .avi files here")
        for k in range(frames):
            vw.write(camera_frame(cv2, img, spec, k / float(frames - 1)))
        vw.release()
    write_json(os.path.splitext(path)[0] + ".json", {
        "video": os.path.basename(path), "photo": spec["photo"], "size": list(spec["size"]), "frames": frames,
        "fps": fps, "codec": "MJPG", "opencv": cv2.__version__, "made_by": "benchmarks/make_videos.py"})
    return path


def ensure(faces=DEFAULT_FACES, out=None, force=False, names=None, frames=FRAMES):
    """Make the videos that are missing; returns {name: path}."""
    import cv2

    out = out or cache_dir("bench-videos")
    os.makedirs(out, exist_ok=True)
    paths = {}
    for name in names or VIDEOS:
        path = os.path.join(out, name + ".avi")
        if force or not os.path.isfile(path):
            make(cv2, faces, out, name, VIDEOS[name], frames=frames)
        paths[name] = path
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces", default=DEFAULT_FACES, help="folder of the face photos (default: %(default)s)")
    ap.add_argument("--out", default=None, help="output folder (default: the cache's bench-videos/)")
    ap.add_argument("--force", action="store_true", help="remake videos that exist")
    ap.add_argument("--frames", type=int, default=FRAMES,
                    help="frames per video (default: %(default)s; the same camera path, slower, with more)")
    ap.add_argument("--json", action="store_true", help="print {name: path} as JSON")
    a = ap.parse_args()
    paths = ensure(a.faces, a.out, a.force, frames=a.frames)
    if a.json:
        print(json.dumps(paths))
    else:
        for p in paths.values():
            print(p)


if __name__ == "__main__":
    main()
