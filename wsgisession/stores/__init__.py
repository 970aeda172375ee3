"""Session stores: the :class:`Store` interface and the stores shipped."""

from __future__ import annotations

from .base import DEFAULT_TTL, Store
from .memory import MemoryStore

__all__ = ["DEFAULT_TTL", "MemoryStore", "Store"]
