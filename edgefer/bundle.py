"""Bundles: the contract between export and device (device side: numpy + stdlib).

A bundle is a folder ``NAME.edgefer/`` holding ``manifest.json`` and the model files. The
manifest follows ``manifest.schema.json`` (beside this module; ``schema_version`` 1) and says
everything the device needs: labels, the preprocessing block, provenance, and for every
artifact its file, format, precision, target, batch, sha256, size, opset, calibration and
measured accuracy on a named split.

This module is the reader and verifier (the bottom layer, ARCHITECTURE.md): loading
verifies every file's size and sha256 and refuses a bundle whose files do not match, naming
the file. The writer is :func:`edgefer.export.bundle.write` (host side).
"""

import hashlib
import os
from typing import Any, Dict, List, Optional, Union

from . import jsonfile
from .errors import EdgeferError
from .preprocess import Preprocess

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "manifest.schema.json")


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    """The sha256 of a file, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


class Bundle(object):
    """A loaded, verified bundle: ``path``, ``manifest`` (the parsed manifest.json), ``labels``,
    ``preprocess`` (:class:`~edgefer.preprocess.Preprocess`) and ``artifacts`` (the manifest's
    artifact records). Make one with :meth:`load`."""

    def __init__(self, path: str, manifest: Dict[str, Any]) -> None:
        self.path = path
        self.manifest = manifest
        self.labels = list(manifest["model"]["labels"])
        self.preprocess = Preprocess.from_dict(manifest["model"]["preprocess"])
        self.artifacts = list(manifest["artifacts"])

    def __repr__(self) -> str:
        return "<Bundle %s: %s, %d artifacts>" % (self.path, self.manifest["model"]["architecture"], len(self.artifacts))

    def file(self, artifact: Dict[str, Any]) -> str:
        """The path of an artifact's file."""
        return os.path.join(self.path, artifact["file"])

    def find(self, precision: Optional[str] = None, target: Optional[str] = None,
             batch: Optional[int] = None) -> List[Dict[str, Any]]:
        """Artifacts matching the given fields (None matches anything)."""
        return [a for a in self.artifacts if (precision is None or a["precision"] == precision)
                and (target is None or a["target"] == target) and (batch is None or a["batch"] == batch)]

    @classmethod
    def load(cls, path: Union[str, "os.PathLike"], verify: bool = True) -> "Bundle":
        """Read ``path/manifest.json`` and, with ``verify``, check every file (:meth:`verify`)."""
        path = os.fspath(path)
        mpath = os.path.join(path, MANIFEST)
        if not os.path.isdir(path):
            raise EdgeferError("bundle %s does not exist (expected a NAME.edgefer folder made by edgefer export)" % path)
        if not os.path.isfile(mpath):
            raise EdgeferError("bundle %s has no manifest.json (incomplete or not a bundle)" % path)
        manifest = jsonfile.read(mpath, "bundle %s: manifest.json" % path)
        version = manifest.get("schema_version") if isinstance(manifest, dict) else None
        if not isinstance(version, int):
            raise EdgeferError("bundle %s: manifest.json has no integer schema_version" % path)
        if version > SCHEMA_VERSION:
            raise EdgeferError("bundle %s has schema_version %d; this edgefer reads up to %d: upgrade edgefer"
                               % (path, version, SCHEMA_VERSION))
        for key in ("model", "artifacts", "provenance"):
            if key not in manifest:
                raise EdgeferError("bundle %s: manifest.json lacks '%s'" % (path, key))
        bundle = cls(path, manifest)
        if verify:
            bundle.verify()
        return bundle

    def verify(self) -> None:
        """Check every artifact's size and sha256 against the manifest."""
        for a in self.artifacts:
            f = self.file(a)
            if not os.path.isfile(f):
                raise EdgeferError("bundle %s: artifact %s is missing" % (self.path, a["file"]))
            if os.path.getsize(f) != a["size_bytes"]:
                raise EdgeferError("bundle %s: %s has %d bytes, the manifest says %d (damaged or replaced file)"
                                   % (self.path, a["file"], os.path.getsize(f), a["size_bytes"]))
            if sha256_file(f) != a["sha256"]:
                raise EdgeferError("bundle %s: %s does not match its sha256 in the manifest (damaged or replaced file)"
                                   % (self.path, a["file"]))
