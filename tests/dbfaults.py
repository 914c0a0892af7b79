"""Database faults for tests: an outage injected into one thread's statements, and waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

WAIT_S = 60.0  # generous: the suite must pass with the CPU busy


class Outage:
    """While ``on``, every statement from the thread named ``thread`` fails.

    ``error(statement, params)`` makes the exception; default: a dropped link.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        thread: str = "dialerd-results",
        error: Callable[[str, Any], Exception] | None = None,
    ) -> None:
        self.engine = engine
        self.thread = thread
        self.error = error or _dropped_link
        self.on = False
        self.failures = 0
        event.listen(engine, "before_cursor_execute", self._fail)

    def _fail(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        if self.on and threading.current_thread().name == self.thread:
            self.failures += 1
            raise self.error(statement, params)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._fail)


def _dropped_link(statement: str, params: Any) -> Exception:
    return OperationalError(
        statement, params, Exception("server closed the connection unexpectedly")
    )


def wait_for(what: str, check: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Poll ``check`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
