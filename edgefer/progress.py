"""The one progress hook of the library (contract layer: standard library only).

Library code that runs long reports how far it has come through :func:`bar` and says
everything else through :mod:`logging` under ``edgefer.*`` (ARCHITECTURE.md, "Messages and
progress")::

    from .. import progress

    with progress.bar(total=len(batches), desc="epoch 1/10", unit="batch") as b:
        for x in batches:
            ...
            b.update()
            b.set_postfix(loss="%.3f" % loss)

By default a bar is silent: nothing is drawn and nothing is imported. A program that
wants bars installs a factory, a callable ``factory(total=None, desc="", unit="it")``
returning an object with ``update(n=1)``, ``set_postfix(**values)``,
``set_description(desc)`` and ``close()`` (a ``tqdm.tqdm`` is one); the ``edgefer`` command
installs a tqdm one::

    import tqdm
    from edgefer import progress

    with progress.using(lambda total=None, desc="", unit="it": tqdm.tqdm(total=total, desc=desc, unit=unit)):
        ...  # edgefer calls made here draw bars

The factory is one for the whole process (the command line's, or the embedding program's),
not one per thread.
"""

import contextlib
from typing import Any, Callable, Iterator, Optional

__all__ = ["Bar", "bar", "use", "using", "installed"]


class Bar(object):
    """A silent bar: what :func:`bar` returns while no factory is installed, and the
    interface an installed factory's bars have. A context manager: ``close()`` on exit."""

    def update(self, n: int = 1) -> None:
        """``n`` more units done."""

    def set_postfix(self, **values: Any) -> None:
        """Show ``values`` (name -> already formatted value) after the bar."""

    def set_description(self, desc: str) -> None:
        """Replace the bar's description."""

    def close(self) -> None:
        """The work is over (or abandoned): take the bar down."""

    def __enter__(self) -> "Bar":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_factory = None  # type: Optional[Callable[..., Any]]


def bar(total: Optional[int] = None, desc: str = "", unit: str = "it") -> Any:
    """A progress bar for ``total`` units (None: unknown) of ``unit``, described by ``desc``:
    the installed factory's, else a silent :class:`Bar`."""
    factory = _factory
    if factory is None:
        return Bar()
    return factory(total=total, desc=desc, unit=unit)


def use(factory: Optional[Callable[..., Any]]) -> Optional[Callable[..., Any]]:
    """Install ``factory`` (None: silence again) for every later :func:`bar`; returns the
    factory it replaces, so that a caller can put it back."""
    global _factory
    previous, _factory = _factory, factory
    return previous


def installed() -> Optional[Callable[..., Any]]:
    """The factory installed now (None: bars are silent)."""
    return _factory


@contextlib.contextmanager
def using(factory: Optional[Callable[..., Any]]) -> Iterator[None]:
    """``factory`` installed for the ``with`` block, the previous one put back after it."""
    previous = use(factory)
    try:
        yield
    finally:
        use(previous)
