"""Atomic file writes: write to a temporary name in the same folder, fsync, then rename.

A crash or Ctrl-C mid-write leaves the previous file (or none), never a half-written one.
"""

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile

from .errors import EdgeferError


# A full disk, a read-only medium, a quota or a folder we may not write: the user's to fix.
MEDIUM_ERRORS = (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT)


def _write_error(path, exc):
    return EdgeferError("cannot write %s: %s (any previous version of it is kept)"
                        % (path, exc.strerror or exc))


def check_writable(folder, what):
    """Make ``folder`` if needed and prove a file can be written in it, before any work
    starts: a clear error naming ``what`` (the flag) otherwise."""
    folder = os.fspath(folder) or "."
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise EdgeferError("%s %s: cannot write there (a file, not a folder)" % (what, folder))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".edgefer-write-check-", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise EdgeferError("%s %s: cannot write there (%s)" % (what, folder, exc.strerror or exc)) from None


def umask_mode(folder=False):
    """The permissions a new file (or folder) gets from the user's umask: ``mkstemp`` and
    ``mkdtemp`` make them 0600 / 0700, which a service user could not read."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if folder else 0o666) & ~mask


def temp_prefix(name):
    """The prefix of edgefer's temporary names for ``name``: hidden, and carrying this
    process's id, so that a later run can tell a leftover of a killed process (its id no
    longer running) from the work of one still running."""
    return ".%s.%d-" % (name, os.getpid())


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def sweep_stale(folder, name, suffix=""):
    """Remove what killed edgefer processes left in ``folder`` for ``name``: entries named
    ``temp_prefix(name)`` of a process id that no longer runs, ending in ``suffix``. Only
    names of that exact form are touched. Returns the paths removed."""
    pattern = re.compile(r"^\.%s\.(\d+)-.*%s$" % (re.escape(name), re.escape(suffix)))
    removed = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    for entry in entries:
        m = pattern.match(entry)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            path = os.path.join(folder, entry)
            with contextlib.suppress(OSError):
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
                removed.append(path)
    return removed


def temp_beside(path):
    """A new hidden temporary file in ``path``'s folder that keeps its extension (writers such
    as OpenCV pick the format by extension), with the umask's permissions. Leftovers of
    killed writers of the same file are swept first."""
    folder = os.path.dirname(os.path.abspath(path))
    base, ext = os.path.splitext(os.path.basename(path))
    sweep_stale(folder, base, ".tmp" + ext)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(base), suffix=".tmp" + ext, dir=folder)
    os.close(fd)
    os.chmod(tmp, umask_mode())
    return tmp


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    Use it for writers that want a file name (``torch.save``, ``cv2.imwrite``,
    ``matplotlib.savefig``). On any exception the temporary file is removed."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    try:
        tmp = temp_beside(path)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(exc, OSError) and exc.errno in MEDIUM_ERRORS:
            raise _write_error(path, exc) from None
        raise


def write_bytes(path, data):
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def write_text(path, text):
    write_bytes(path, text.encode("utf-8"))


def write_json(path, obj, indent=2):
    write_text(path, json.dumps(obj, indent=indent, sort_keys=False) + "\n")


def save_figure(plt, fig, path):
    """Lay out a matplotlib figure, write it as PNG atomically and close it (``plt`` is the
    caller's ``matplotlib.pyplot``: matplotlib is optional and imported by the caller)."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
