"""User-facing errors.

Every failure caused by the user's input (a bad file, flag or value) raises
:class:`EdgeferError` with a one-line message that names the file/flag and what was
expected. The CLI prints ``error: <message>`` and exits with the error's ``exit_code``.

Exit codes (documented in the README and in ``edgefer --help``):

* 0 — success
* 1 — an unexpected internal error (a bug: a traceback is printed)
* 2 — bad usage or bad input (wrong flag, missing or malformed file)
* 3 — a missing optional dependency (e.g. torch on a device, OpenCV)
* 130 — interrupted with Ctrl-C (work written so far is kept and usable)
* 143 — terminated by SIGTERM (how systemd and ``docker stop`` end a service): handled as
  Ctrl-C is, so outputs are finalized the same way
"""

import contextlib
import signal
import threading

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_MISSING_DEPENDENCY = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class EdgeferError(Exception):
    """An error in the user's input, reported as one line without a traceback."""

    exit_code = EXIT_USAGE


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's KeyboardInterrupt would be, so the same clean-up runs."""


def _raise_terminated(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def terminate_as_interrupt():
    """While the block runs (in the main thread), SIGTERM raises :class:`Terminated`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class DataFormatError(EdgeferError):
    """A data file does not have the expected format (names the file and the row)."""


class MissingDependencyError(EdgeferError):
    """An optional package is needed but not installed; the message says what to install."""

    exit_code = EXIT_MISSING_DEPENDENCY


def require(module, why, install):
    """Import ``module`` or raise :class:`MissingDependencyError`.

    ``why`` says what needs it, ``install`` what to install (and where), e.g.
    ``require("cv2", "reading images", "pip install 'edgefer[cpu]' (on a Jetson: JetPack's python3-opencv)")``.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            "%s needs the Python package '%s' (%s); install it with: %s" % (why, module, exc, install)
        ) from None
    except Exception as exc:  # noqa: BLE001 - installed but broken, e.g. apt's picamera2 under numpy 2
        raise MissingDependencyError(
            "%s: the Python package '%s' is installed but fails to import (%s); reinstall it: %s"
            % (why, module, reason(exc), install)
        ) from None


def reason(exc):
    """An exception as one line: an EdgeferError's message, else ``Type: first line``."""
    if isinstance(exc, EdgeferError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return "%s: %s" % (type(exc).__name__, text[0][:300]) if text else type(exc).__name__
