"""A small thread-safe cache of loaded models, the least recently used evicted beyond `limit`."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class LRU:
    """Values by key, at most `limit`; `get` makes an entry the most recent. Keys that include a
    file's modification time and size make a changed file a new entry (the old one ages out)."""

    def __init__(self, limit: int = 8) -> None:
        self.limit = limit
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()  # GUI jobs and the summarize thread share the caches

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: tuple) -> bool:
        return key in self._items

    def get(self, key: tuple) -> Any | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
