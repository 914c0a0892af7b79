"""The unit tier's contract, enforced: no sockets, no sleeps, no processes, no signals.

A unit test that opens a socket, sleeps, starts a process or signals one fails with
:class:`NotInAUnitTest`; such a test belongs in ``tests/integration``. Threads
that were already running when the test started (left by an earlier tier in the
same run) keep the real functions.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn

import pytest


class NotInAUnitTest(AssertionError):
    """Sockets, sleeps, processes and signals belong in tests/integration."""


def _refuse(what: str, real: Callable[..., Any], spared: frozenset[int]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() in spared:
            return real(*args, **kwargs)
        return _fail(what)

    return guarded


def _fail(what: str) -> NoReturn:
    raise NotInAUnitTest(f"{what} in a unit test: move the test to tests/integration")


@pytest.fixture(autouse=True)
def _pure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make socket creation, time.sleep, subprocesses and os.kill fail inside unit tests."""
    current = threading.get_ident()
    spared = frozenset(t.ident for t in threading.enumerate() if t.ident not in (None, current))
    for owner, name, what in (
        (socket, "socket", "a socket"),
        (time, "sleep", "time.sleep"),
        (subprocess, "Popen", "a subprocess"),
        (os, "kill", "a signal sent to a process"),
    ):
        monkeypatch.setattr(owner, name, _refuse(what, getattr(owner, name), spared))
