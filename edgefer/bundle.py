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
import re
from typing import Any, Dict, List, Optional, Union

from . import jsonfile, schema
from .errors import EdgeferError
from .preprocess import Preprocess

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "manifest.schema.json")


# The manifest's own rule for artifact file names (manifest.schema.json): no folders.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def manifest_schema() -> Dict[str, Any]:
    """``manifest.schema.json``, read once."""
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = jsonfile.read(SCHEMA_FILE, "the manifest schema")
    return _SCHEMA


_SCHEMA = None


def _check_manifest(path: str, manifest: Dict[str, Any]) -> None:
    """Refuse a manifest that breaks its schema, or whose label count and class count
    disagree, with one line naming the bundle and the field."""
    problem = schema.first_error(manifest, manifest_schema())
    if problem is None:
        model = manifest["model"]
        if model["num_classes"] != len(model["labels"]):
            problem = "model.num_classes: %d, but model.labels has %d names" % (model["num_classes"], len(model["labels"]))
        elif len(set(model["labels"])) != len(model["labels"]):
            problem = "model.labels: a name appears twice"
    if problem is not None:
        raise EdgeferError("bundle %s: manifest.json %s (a damaged bundle, or one from another edgefer version: "
                           "re-export it with `edgefer export CHECKPOINT`)" % (path, problem))


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
        """The path of an artifact's file, which must lie inside the bundle folder: a bundle is
        untrusted input, so a name with a folder part, ``..`` or a symbolic link that leads
        out is refused, and the error says nothing about what lies outside."""
        name = artifact.get("file")
        if not isinstance(name, str) or not _SAFE_NAME.match(name) or name in (".", ".."):
            raise EdgeferError("bundle %s: artifact file %r is not a plain file name inside the bundle"
                               % (self.path, name))
        path = os.path.join(self.path, name)
        root = os.path.realpath(self.path)
        if os.path.dirname(os.path.realpath(path)) != root:
            raise EdgeferError("bundle %s: artifact file %r leads outside the bundle (a symbolic link); refused"
                               % (self.path, name))
        return path

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
        _check_manifest(path, manifest)
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
