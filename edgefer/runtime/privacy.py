"""Privacy modes: what of the camera's frames may leave the pipeline.

* ``off`` -- the frames as the camera gave them (annotated by the outputs that draw);
* ``blur`` -- every face is pixelated and blurred in the frame itself, before any output
  sees it: the web page's stream, a saved video or image and a window all show the blurred
  frame, and so do the frames an API caller gets in :class:`~edgefer.runtime.types.FrameResult`;
* ``no-video`` -- no frame leaves at all: outputs that carry frames (a window, a video, an
  image or folder of images) are refused before the run starts, and the web page shows
  the emotions and counts only (no ``/stream.mjpg``). In-process code (callbacks, the
  results of :meth:`~edgefer.runtime.pipeline.Pipeline.stream`) still gets the frames: they
  are the program's own memory.

Nothing is stored in any mode unless an output asks for it.

The blur is a mosaic of the face box (grown by a margin so that hair line, ears and chin
go too) averaged into blocks of about a twelfth of the face, then smoothed: a mosaic that
coarse cannot be sharpened back into a recognisable face, which a plain Gaussian blur of a
small kernel can be.
"""

from typing import Sequence, Tuple

import numpy as np

from .. import deps
from ..errors import EdgeferError

MODES = ("off", "blur", "no-video")
FRAME_OUTPUTS = ("display", "video", "image")  # the output schemes that carry frames

Box = Tuple[float, float, float, float]


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise EdgeferError("privacy mode %r: expected one of %s" % (mode, ", ".join(MODES)))
    return mode


def shows_video(mode: str) -> bool:
    return check_mode(mode) != "no-video"


def blur_faces(image: np.ndarray, boxes: Sequence[Box], margin: float = 0.25, blocks: int = 12) -> np.ndarray:
    """A copy of ``image`` (H x W x 3 uint8) with each box (x0, y0, x1, y1 pixels), grown by
    ``margin`` of its size on every side, made a mosaic of about ``blocks`` x ``blocks``
    cells and smoothed."""
    cv2 = deps.cv2("blurring faces")
    out = image.copy()
    h, w = image.shape[:2]
    for x0, y0, x1, y1 in boxes:
        mx, my = margin * (x1 - x0), margin * (y1 - y0)
        a, b = int(max(0, np.floor(x0 - mx))), int(max(0, np.floor(y0 - my)))
        c, d = int(min(w, np.ceil(x1 + mx))), int(min(h, np.ceil(y1 + my)))
        if c - a < 2 or d - b < 2:
            continue
        region = out[b:d, a:c]
        cells = (max(1, min(blocks, c - a)), max(1, min(blocks, d - b)))
        small = cv2.resize(region, cells, interpolation=cv2.INTER_AREA)
        mosaic = cv2.resize(small, (c - a, d - b), interpolation=cv2.INTER_NEAREST)
        k = max(3, (min(c - a, d - b) // blocks) | 1)  # about one cell: the cell edges go too
        out[b:d, a:c] = cv2.GaussianBlur(mosaic, (k, k), 0)
    return out


def check_sinks(sinks, mode: str) -> None:
    """Refuse sink objects that carry frames (their ``carries_frames``) where ``mode`` forbids."""
    if shows_video(mode):
        return
    for s in sinks:
        if getattr(s, "carries_frames", False):
            raise EdgeferError("privacy mode no-video sends no frame anywhere, but the output %s shows frames"
                               % type(s).__name__)


def check_outputs(uris, mode: str) -> None:
    """Refuse, before any work, the outputs ``mode`` forbids (``uris``: parsed
    :class:`~edgefer.runtime.sinks.OutputURI` objects)."""
    if shows_video(mode):
        return
    for uri in uris:
        if uri.scheme in FRAME_OUTPUTS:
            raise EdgeferError("output %s: privacy mode no-video sends no frame anywhere; use JSON lines (-, out.jsonl) "
                               "or the web page (web://HOST:PORT shows emotions and counts only)" % uri.spec)
