"""Small name -> factory tables, as timm's ``register_model`` table is for models.

The runtime keeps one each for face detectors (``runtime.detectors.DETECTORS``), output
sinks by URI scheme (``runtime.sinks.SINKS``) and classifier backends
(``runtime.classifier.BACKENDS``): adding a detector, a sink or a backend is one module and
one registration line, and every list of choices (command-line options, error messages,
benchmarks) is read from the table instead of being written out again::

    from edgefer.runtime.detectors import DETECTORS

    @DETECTORS.register("mydetector")
    def _my_detector(model_path=None, threads=1, **options):
        return MyDetector(model_path, threads=threads, **options)
"""

from typing import Callable, Dict, Iterator, Optional, Tuple

from .errors import EdgeferError


class Registry(object):
    """An ordered table of named factories. ``what`` names the choice in errors (a flag such
    as ``--detector``); names are matched case-insensitively; aliases resolve to a name."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._factories = {}  # type: Dict[str, Callable]
        self._aliases = {}  # type: Dict[str, str]

    def register(self, name: str, factory: Optional[Callable] = None, aliases: Tuple[str, ...] = ()):
        """Register ``factory`` under ``name`` (and ``aliases``); without ``factory``, a decorator."""
        def add(fn: Callable) -> Callable:
            key = name.lower()
            if key in self._factories or key in self._aliases:
                raise ValueError("%s %r is registered already" % (self.what, name))
            self._factories[key] = fn
            for alias in aliases:
                self._aliases[alias.lower()] = key
            return fn

        return add if factory is None else add(factory)

    def resolve(self, name: str) -> str:
        """The registered name for ``name`` or one of its aliases; a clear error otherwise."""
        key = self._key(name)
        key = self._aliases.get(key, key)
        if key not in self._factories:
            raise EdgeferError("%s %r: expected one of %s" % (self.what, name, ", ".join(self._factories)))
        return key

    def get(self, name: str) -> Callable:
        """The factory registered as ``name``."""
        return self._factories[self.resolve(name)]

    def names(self) -> Tuple[str, ...]:
        """The registered names, in registration order (aliases left out)."""
        return tuple(self._factories)

    def __contains__(self, name) -> bool:
        key = self._key(name)
        return key in self._factories or key in self._aliases

    @staticmethod
    def _key(name) -> str:
        """Names match case-insensitively, surrounding blanks ignored."""
        return str(name).strip().lower()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._factories)

    def __repr__(self) -> str:
        return "Registry(%r: %s)" % (self.what, ", ".join(self._factories))
