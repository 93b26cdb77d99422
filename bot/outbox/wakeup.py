"""The in-process wake-up: workers of one process hear at once that rows were committed, instead of
waiting for their next poll. One `Notifier` per application (its `Outbox`), never a module global, so
two applications in one process (tests, replicas) do not wake each other's workers."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Notifier:
    """Listeners called (from any thread) when new rows are ready to be claimed."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Add a listener; returns the function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
