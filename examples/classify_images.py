"""Classify face images with a trained checkpoint (host side: needs the train extra).

    python examples/classify_images.py runs/vit/best.pt face1.jpg face2.png

The images are treated as face crops (like FER2013's); the checkpoint's preprocessing
block (size, colour, normalisation) is applied by the same code the runtime uses.
"""

import sys

import numpy as np
import torch

from edgefer.data import read_image
from edgefer.metrics import softmax
from edgefer.preprocess import Preprocess
from edgefer.train import checkpoint


def main(ckpt_path, *images):
    ckpt = checkpoint.load(ckpt_path)
    model = checkpoint.build_model(ckpt)
    pre = Preprocess.from_dict(ckpt["preprocess"])
    names = ckpt["labels"]["names"]
    batch = pre.batch([read_image(p) for p in images])
    with torch.inference_mode():
        probs = softmax(model(torch.from_numpy(batch)).numpy())
    for path, p in zip(images, probs):
        top = np.argsort(p)[::-1][:3]
        print("%s: %s" % (path, ", ".join("%s %.2f" % (names[i], p[i]) for i in top)))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
