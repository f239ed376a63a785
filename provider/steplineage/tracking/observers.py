"""Observers of what a live execution writes, loaded by name or dotted path.

The catalog is the sink every write must reach (or the spool, when it cannot);
observers are told afterwards and must never fail the step. OpenLineage export
is one: tracking names it here by its dotted path instead of importing the
adapter above it, as the OpenLineage client's transport factory does.

Example:
    >>> observers_for(["openlineage"])[0].__name__
    'enqueue'
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from typing import Any

from steplineage.errors import ConfigurationError

__all__ = ["OBSERVERS", "Observer", "observers_for"]

#: ``observe(execution, ops)``, called after each write of an execution's operations.
Observer = Callable[[Any, list[Any]], None]

#: Observers by kind; any other name is taken as a dotted path ``module:function``.
OBSERVERS: dict[str, str] = {"openlineage": "steplineage.openlineage.emitter:enqueue"}


def observers_for(kinds: Sequence[str]) -> list[Observer]:
    """The observer functions for these kinds or dotted paths (imported once).

    Raises:
        ConfigurationError: a name that is neither a known kind nor an importable path.
    """
    return [_load(OBSERVERS.get(kind, kind)) for kind in kinds]


@functools.cache
def _load(path: str) -> Observer:
    module, _, name = path.partition(":")
    try:
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(
            f"write observer {path!r} cannot be loaded ({exc}); use one of "
            f"{', '.join(OBSERVERS)} or a 'module:function' path") from exc
