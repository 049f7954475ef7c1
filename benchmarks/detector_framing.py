"""How each face detector frames a face compared with FER2013's tight crops.

FER2013 images are faces already cut out (48x48, tight: brows to chin). A model trained on
them must see detector crops framed the same way. This script pastes FER2013 PublicTest
faces, upscaled, into a larger real-photo canvas at a known place, runs each detector, and
compares the detector's box with the pasted square (the FER2013 framing):

    scale   = FER side / detector side (detector side = the longer side of its box)
    shift_y = (FER centre y - detector centre y) / FER side
    shift_x = the same in x (should be ~0)

The medians go into ``edgefer/runtime/detectors.py`` (``BOX_CALIBRATION``), which maps each
detector's box onto the FER2013 framing; the bundle's framing block (margin, shift) is then
relative to that reference box.

    python benchmarks/detector_framing.py --data ../shared/data/fer2013/fer2013.csv.gz \
        --yunet ../shared/models/face_detection_yunet_2026may.onnx --n 600
"""

import argparse
import datetime
import os

import cv2
import numpy as np

from edgefer.atomic import write_json, write_text
from edgefer.data import open_dataset
from edgefer.runtime.detectors import create_detector


def canvases(ds, n, side, background, seed):
    """Yield (canvas BGR, fer box) for ``n`` class-balanced PublicTest faces."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(ds))[:n]
    H, W = background.shape[:2]
    for i in idx:
        face = cv2.resize(ds.image(int(i)), (side, side), interpolation=cv2.INTER_CUBIC)
        face = cv2.cvtColor(face, cv2.COLOR_GRAY2BGR) if face.ndim == 2 else face
        x = int(rng.integers(0, W - side))
        y = int(rng.integers(0, H - side))
        canvas = background.copy()
        canvas[y:y + side, x:x + side] = face
        yield int(i), canvas, (x, y, x + side, y + side)


def measure(detector, ds, n, side, background, seed):
    rows = []
    found = 0
    for i, canvas, box in canvases(ds, n, side, background, seed):
        dets = detector.detect(canvas)
        cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
        inside = [d for d in dets if box[0] < (d.box[0] + d.box[2]) / 2 < box[2] and box[1] < (d.box[1] + d.box[3]) / 2 < box[3]]
        if not inside:
            continue
        found += 1
        d = inside[0]
        dside = max(d.width, d.height)
        rows.append((side / dside, (cy - (d.box[1] + d.box[3]) / 2.0) / side, (cx - (d.box[0] + d.box[2]) / 2.0) / side,
                     d.height / d.width))
    a = np.asarray(rows)
    if not len(a):
        return {"found": 0, "n": n}
    q = lambda c: [float(v) for v in np.percentile(a[:, c], [25, 50, 75])]  # noqa: E731
    return {"n": n, "found": found, "scale_q25_50_75": q(0), "shift_y_q25_50_75": q(1), "shift_x_q25_50_75": q(2),
            "aspect_h_over_w_q25_50_75": q(3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="FER2013 CSV")
    ap.add_argument("--split", default="PublicTest")
    ap.add_argument("--yunet", default=None, help="YuNet ONNX path (optional)")
    ap.add_argument("--background", default=None, help="background photo (default: a blurred real photo)")
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--side", type=int, default=192, help="pasted face side in pixels")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    ap.add_argument("--no-calibration", action="store_true", default=True,
                    help="measure raw detector boxes (the default; BOX_CALIBRATION is what this measures)")
    args = ap.parse_args()

    ds = open_dataset(args.data, split=args.split)
    if args.background:
        bg = cv2.imread(args.background)
    else:
        # A plain mid-grey 640x480 canvas: no other faces to confuse the match.
        bg = np.full((480, 640, 3), 127, np.uint8)
    names = ["blazeface", "blazeface-back"] + (["yunet"] if args.yunet else [])
    results = {}
    for name in names:
        det = create_detector(name, model_path=args.yunet if name == "yunet" else None, calibrate=False,
                              score_threshold=0.5)
        results[name] = measure(det, ds, args.n, args.side, bg, args.seed)
        print(name, results[name])
    doc = {"date": datetime.date.today().isoformat(), "data": "FER2013 %s" % args.split, "side_px": args.side,
           "results": results}
    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "detector_framing.json"), doc)
    lines = ["# Detector boxes vs FER2013 framing (%s)" % doc["date"], "",
             "FER2013 %s faces upscaled to %d px and pasted into a 640x480 grey canvas; medians (quartiles) over "
             "the faces each detector found. `python benchmarks/detector_framing.py --data ... --yunet ...`" % (
                 args.split, args.side), "",
             "| detector | found | scale = FER side / box side | shift_y / FER side | shift_x | box h/w |", "|---|---|---|---|---|---|"]
    fmt = lambda q: "%.3f (%.3f-%.3f)" % (q[1], q[0], q[2])  # noqa: E731
    for name, r in results.items():
        if not r.get("found"):
            lines.append("| %s | 0/%d | | | | |" % (name, r["n"]))
            continue
        lines.append("| %s | %d/%d | %s | %s | %s | %s |" % (name, r["found"], r["n"], fmt(r["scale_q25_50_75"]),
                                                            fmt(r["shift_y_q25_50_75"]), fmt(r["shift_x_q25_50_75"]),
                                                            fmt(r["aspect_h_over_w_q25_50_75"])))
    write_text(os.path.join(args.out, "detector_framing.md"), "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
