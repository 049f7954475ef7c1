"""Reading JSON files that users hand us, with one-line errors naming the file."""

import json

from .errors import EdgeferError


def read(path, what):
    """Parse ``path``; ``what`` names it in errors (e.g. ``"--profile rpi5"``, ``"bundle X: manifest.json"``)."""
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as exc:
        raise EdgeferError("%s: cannot read %s (%s)" % (what, path, exc.strerror or exc)) from None
    except ValueError as exc:
        raise EdgeferError("%s: not valid JSON (%s)" % (what, exc)) from None
