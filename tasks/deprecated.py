"""Old names of the user's model classes, still importable for one release with a DeprecationWarning.

The classes were called `...Run` while "run" also meant a run folder; they are models now
(`TaggerModel`, `ClassifierModel`, ...). A task package's `__getattr__` calls `alias` for an old name.
"""

from __future__ import annotations

import warnings
from typing import Any


def alias(module: str, old: str, new: str, target: Any) -> Any:
    """`target` under its old name `old`, after a DeprecationWarning that names `new`."""
    warnings.warn(
        f"{module}.{old} is deprecated and will be removed in the next release: use {module}.{new}", DeprecationWarning, stacklevel=3
    )
    return target
