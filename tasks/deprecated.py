"""Old names of the user's model classes, still importable for one release with a DeprecationWarning.

The classes were called `...Run` while "run" also meant a run folder; they are models now
(`TaggerModel`, `ClassifierModel`, ...). A task package sets `__getattr__ = old_names(...)`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any


def old_names(module: str, renamed: dict[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module `__getattr__` that gives `namespace[new]` for each old name in `renamed` (old -> new),
    after a DeprecationWarning naming the new one; any other name is an AttributeError."""

    def __getattr__(name: str) -> Any:
        if name not in renamed:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        new = renamed[name]
        warnings.warn(
            f"{module}.{name} is deprecated and will be removed in the next release: use {module}.{new}", DeprecationWarning, stacklevel=2
        )
        return namespace[new]

    return __getattr__
