"""How each face detector frames a face compared with FER2013's tight crops.

FER2013 images are faces already cut out (48x48, tight: brows to chin). A model trained on
them must see detector crops framed the same way. This script pastes FER2013 PublicTest
faces, upscaled, into a larger real-photo canvas at a known place, runs each detector, and
compares the detector's box with the pasted square (the FER2013 framing):

    scale   = FER side / detector side (detector side = the longer side of its box)
    shift_y = (FER centre y - detector centre y) / FER side
    shift_x = the same in x (should be ~0)

The medians go into ``edgefer/runtime/face_detector.py`` (``BOX_CALIBRATION``), which maps each
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
from whole_image_accuracy import one_by_one


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


def crop_accuracy(bundle, ds, n, side, background, seed, yunet, threads=1, precision="auto"):
    """PublicTest top-1 of a bundle's model (``precision``: what the runtime picks, or one
    named) on detector crops of the pasted faces, with and without the box calibration,
    next to the same images' data-set crops. ``top1_missed_wrong`` counts a missed face as
    a wrong answer; ``top1`` is over the faces found."""
    from edgefer.data.splits import stratified_sample
    from edgefer.runtime.classifier import Classifier
    from edgefer.runtime.pipeline import resolve_bundle

    clf = Classifier(resolve_bundle(bundle), precision=precision, threads=threads)  # "default": the shipped one
    idx = stratified_sample(ds.targets, total=n, seed=seed)
    y = ds.targets[idx]
    direct = one_by_one(clf, ds.inputs(idx, clf.preprocess)).argmax(1)  # one face per call, as the crops below
    rows = {"dataset_crops_top1": float((direct == y).mean()), "images": int(len(idx))}
    H, W = background.shape[:2]
    for name in ["blazeface", "blazeface-front", "blazeface-back"] + (["yunet"] if yunet else []):
        for cal in (True, False):
            det = create_detector(name, model_path=yunet if name == "yunet" else None, calibrate=cal)
            rng = np.random.default_rng(seed)
            preds = np.full(len(idx), -1)
            for k, i in enumerate(idx):
                face = cv2.cvtColor(cv2.resize(ds.image(int(i)), (side, side), interpolation=cv2.INTER_CUBIC),
                                    cv2.COLOR_GRAY2BGR)
                x, yy = int(rng.integers(0, W - side)), int(rng.integers(0, H - side))
                canvas = background.copy()
                canvas[yy:yy + side, x:x + side] = face
                d = det.detect(canvas)
                if d:
                    preds[k] = int(clf.classify(canvas, [d[0].box]).argmax())
            m = preds >= 0
            rows["%s%s" % (name, "" if cal else " (raw box)")] = {
                "found": int(m.sum()), "top1": float((preds[m] == y[m]).mean()),
                "top1_missed_wrong": float((preds == y).mean()), "miss_rate": float(1 - m.mean()),
                "dataset_crops_top1_same_images": float((direct[m] == y[m]).mean()),
                "agreement_with_dataset_crops": float((preds[m] == direct[m]).mean())}
            print(name, cal, rows["%s%s" % (name, "" if cal else " (raw box)")])
    return rows


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
    ap.add_argument("--bundle", default=None, help="also measure this bundle's PublicTest top-1 on detector crops")
    ap.add_argument("--n-accuracy", type=int, default=700, help="images for the --bundle measurement")
    ap.add_argument("--precision", default="auto", help="the --bundle artifact: auto (as the runtime picks), fp32, int8")
    args = ap.parse_args()

    ds = open_dataset(args.data, split=args.split)
    if args.background:
        bg = cv2.imread(args.background)
    else:
        # A plain mid-grey 640x480 canvas: no other faces to confuse the match.
        bg = np.full((480, 640, 3), 127, np.uint8)
    # the framing of each model alone ("blazeface" is blazeface-front plus the back model's far look)
    names = ["blazeface-front", "blazeface-back"] + (["yunet"] if args.yunet else [])
    results = {}
    for name in names:
        det = create_detector(name, model_path=args.yunet if name == "yunet" else None, calibrate=False,
                              score_threshold=0.5)
        results[name] = measure(det, ds, args.n, args.side, bg, args.seed)
        print(name, results[name])
    doc = {"date": datetime.date.today().isoformat(), "data": "FER2013 %s" % args.split, "side_px": args.side,
           "results": results}
    if args.bundle:
        doc["accuracy_on_detector_crops"] = crop_accuracy(args.bundle, ds, args.n_accuracy, 160,
                                                          np.full((360, 640, 3), 127, np.uint8), args.seed, args.yunet,
                                                          precision=args.precision)
        doc["bundle"] = os.path.abspath(args.bundle)
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
    acc = doc.get("accuracy_on_detector_crops")
    if acc:
        lines += ["", "## Accuracy on detector crops", "",
                  "%s model of `%s`, %d class-stratified FER2013 %s images upscaled to 160 px in a 640x360 grey "
                  "canvas; the model on the data set's own crops: %.1f %% top-1." % (
                      args.precision, os.path.basename(doc["bundle"]), acc["images"], args.split,
                      100 * acc["dataset_crops_top1"]), "",
                  "| detector crops | found | top-1, a miss counted wrong | top-1 of found | data-set crops, same images "
                  "| agreement |", "|---|---|---|---|---|---|"]
        for k, v in acc.items():
            if isinstance(v, dict):
                lines.append("| %s | %d | %.1f %% | %.1f %% | %.1f %% | %.1f %% |" % (
                    k, v["found"], 100 * v["top1_missed_wrong"], 100 * v["top1"], 100 * v["dataset_crops_top1_same_images"],
                    100 * v["agreement_with_dataset_crops"]))
    write_text(os.path.join(args.out, "detector_framing.md"), "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
