"""Device export profiles: small JSON files shipped as package data in ``devices/`` beside
this module (see ``devices/README.md``; found after a non-editable install too), or any path."""

import os
from typing import Any, Dict, List

from .. import jsonfile
from ..errors import EdgeferError

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "devices")
ALLOWED = ("int8", "fp16", "targets", "batches", "opset", "calib_size", "calib_method", "budget", "dla_core",
           "trt_workspace_mb", "int8_ops", "int8_min_sqnr_db")


def available() -> List[str]:
    """The names of the profiles shipped in ``devices/``."""
    if not os.path.isdir(FOLDER):
        return []
    return sorted(f[:-5] for f in os.listdir(FOLDER) if f.endswith(".json"))


def load(name_or_path: str) -> Dict[str, Any]:
    """A profile by name (``rpi5``, ``jetson-orin-nano``) or path, checked: its ``options``
    are among :data:`ALLOWED`."""
    path = name_or_path if os.path.isfile(name_or_path) else os.path.join(FOLDER, name_or_path + ".json")
    if not os.path.isfile(path):
        raise EdgeferError("--profile %s: no such file or profile (available: %s)"
                           % (name_or_path, ", ".join(available()) or "none found in " + FOLDER))
    doc = jsonfile.read(path, "--profile %s" % path)
    opts = doc.get("options") if isinstance(doc, dict) else None
    if not isinstance(opts, dict):
        raise EdgeferError("--profile %s: expected a JSON object with an 'options' object" % path)
    bad = sorted(set(opts) - set(ALLOWED))
    if bad:
        raise EdgeferError("--profile %s: unknown options %s (allowed: %s)" % (path, bad, ", ".join(ALLOWED)))
    return doc


def apply(options: Any, doc: Dict[str, Any]) -> None:
    """Set the profile ``doc``'s options on ``options`` (an :class:`~edgefer.export.exporter.Options`;
    lists become tuples) and record its device."""
    for k, v in doc["options"].items():
        setattr(options, k, tuple(v) if isinstance(v, list) else v)
    options.profile = doc.get("device")
