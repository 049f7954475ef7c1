"""Lazy imports of the optional packages, with one-line install hints per device."""

from .errors import require

CV2_HINT = (
    "pip install 'edgefer[cpu]' on x86/Raspberry Pi; on a Jetson use JetPack's OpenCV "
    "(sudo apt install python3-opencv) instead of a pip wheel"
)
TORCH_HINT = "pip install 'edgefer[train]' on the training host (torch is not needed on the device)"


def cv2(why="this"):
    return require("cv2", why, CV2_HINT)


def torch(why="this"):
    return require("torch", why, TORCH_HINT)
