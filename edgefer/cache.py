"""Where edgefer keeps derived files: ``$EDGEFER_CACHE_DIR`` or ``~/.cache/edgefer``."""

import os


def cache_dir(*parts):
    root = os.environ.get("EDGEFER_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "edgefer"
    )
    path = os.path.join(root, *parts)
    os.makedirs(path, exist_ok=True)
    return path
