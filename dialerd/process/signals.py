"""Signal handling for the daemon's main thread: handlers only flip state and wake waiters.

SIGTERM and SIGINT: the first asks for a graceful stop (drain), the second forces it.
SIGHUP asks for a reload. The daemon loop calls ``wait(timeout)`` instead of sleeping,
and reads ``stop_requested`` / ``force_requested`` / ``take_reload()`` when it wakes.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_Handler = Any  # what signal.getsignal returns: a callable, SIG_DFL, SIG_IGN or None


class SignalRouter:
    """Install with ``install()`` (main thread only); ``restore()`` puts the old handlers back."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        # No lock: a handler runs between bytecodes of the main thread, which may hold it.
        self._stops = 0
        self._reloads = 0
        self._reloads_taken = 0
        self._last_signal: int | None = None
        self._previous: dict[int, _Handler] = {}

    def install(self) -> SignalRouter:
        for signum in (*_STOP_SIGNALS, signal.SIGHUP):
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)
        return self

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()

    def __enter__(self) -> SignalRouter:
        return self.install()

    def __exit__(self, *_exc: object) -> None:
        self.restore()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self._last_signal = signum
        if signum == signal.SIGHUP:
            self._reloads += 1
        else:
            self._stops += 1
        self._wake.set()

    @property
    def stop_requested(self) -> bool:
        """A first SIGTERM/SIGINT arrived: stop claiming, drain calls in flight."""
        return self._stops >= 1

    @property
    def force_requested(self) -> bool:
        """A second SIGTERM/SIGINT arrived: stop now, without waiting for calls."""
        return self._stops >= 2

    @property
    def last_signal(self) -> int | None:
        return self._last_signal

    def take_reload(self) -> bool:
        """True once per burst of SIGHUPs since the last call (several HUPs = one reload)."""
        seen = self._reloads
        pending = seen != self._reloads_taken
        self._reloads_taken = seen
        return pending

    def request_stop(self) -> None:
        """Ask for a graceful stop from code (e.g. a supervised thread died)."""
        self._handle(signal.SIGTERM, None)

    def wait(self, timeout: float | None) -> bool:
        """Sleep up to ``timeout`` seconds or until a signal; True when woken by one."""
        woken = self._wake.wait(timeout)
        self._wake.clear()
        return woken
