"""Writing bundles (host side); the reader and verifier are :mod:`edgefer.bundle`.

Writing is atomic: files go to a hidden ``.NAME.edgefer.partial-*`` folder, ``manifest.json``
is written last, and the folder is renamed into place; a crash never leaves a folder that
looks complete.
"""

import os
import shutil
import tempfile
from typing import Any, Dict, Union

from ..atomic import sweep_stale, temp_prefix, umask_mode, write_json
from ..bundle import MANIFEST, SCHEMA_VERSION, sha256_file


def write(path: Union[str, "os.PathLike"], manifest: Dict[str, Any], files: Dict[str, str]) -> str:
    """Write a bundle at ``path`` atomically; returns its absolute path. ``files`` maps
    artifact file names to source paths (copied in); each artifact in
    ``manifest["artifacts"]`` gets its ``sha256`` and ``size_bytes``. An existing bundle at
    ``path`` is replaced only once the new one is complete."""
    path = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    name = os.path.basename(path)
    sweep_stale(parent, name + ".partial")  # what killed exports of this bundle left
    sweep_stale(parent, name + ".old")
    tmp = tempfile.mkdtemp(prefix=temp_prefix(name + ".partial"), dir=parent)
    os.chmod(tmp, umask_mode(folder=True))  # mkdtemp's 0700 would hide the bundle from a service user
    try:
        for file_name, src in files.items():
            shutil.copyfile(src, os.path.join(tmp, file_name))
        for a in manifest["artifacts"]:
            f = os.path.join(tmp, a["file"])
            a["sha256"] = sha256_file(f)
            a["size_bytes"] = os.path.getsize(f)
        manifest = dict(manifest, schema_version=SCHEMA_VERSION)
        write_json(os.path.join(tmp, MANIFEST), manifest)
        old = None
        if os.path.exists(path):
            old = tempfile.mkdtemp(prefix=temp_prefix(name + ".old"), dir=parent)
            os.rmdir(old)
            os.rename(path, old)
        os.rename(tmp, path)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path
