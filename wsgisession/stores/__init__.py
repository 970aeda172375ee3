"""Session stores: the :class:`Store` interface and the stores shipped.

:class:`RedisStore` and :class:`PostgresStore` need optional drivers
(``pip install 'wsgisession[redis]'``, ``'wsgisession[postgres]'``); they are
imported on first use, so importing this package never needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import DEFAULT_TTL, Store
from .memory import MemoryStore
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from .postgres import PostgresStore
    from .redis import RedisStore

__all__ = ["DEFAULT_TTL", "MemoryStore", "PostgresStore", "RedisStore", "SQLiteStore", "Store"]

# Stores whose driver is an optional extra: name -> module.
_LAZY = {"RedisStore": "redis", "PostgresStore": "postgres"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
