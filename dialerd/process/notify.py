"""systemd ``sd_notify`` without libsystemd: one datagram per message to ``$NOTIFY_SOCKET``.

Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op. A failing socket is
logged once and never raised into the caller: the daemon must not die because
systemd went away, and the watchdog will tell systemd when the daemon is wedged.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Mapping

from dialerd.logconfig import get_logger

log = get_logger(__name__)


class Notifier:
    """Sends ``READY=1``, ``WATCHDOG=1``, ``STATUS=`` … to the service manager."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self._watchdog_usec = env.get("WATCHDOG_USEC", "")
        self._watchdog_pid = env.get("WATCHDOG_PID", "")
        self._lock = threading.Lock()
        self._failed = False

    @property
    def enabled(self) -> bool:
        """True when running under a service manager that listens."""
        return self._address is not None

    def ready(self) -> bool:
        return self.notify("READY=1")

    def reloading(self) -> bool:
        """``RELOADING=1`` with ``MONOTONIC_USEC`` (required together by systemd ≥ 253)."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify(f"RELOADING=1\nMONOTONIC_USEC={usec}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """One line of free text shown by ``systemctl status``."""
        return self.notify("STATUS=" + " ".join(text.split()))

    def extend_timeout(self, seconds: float) -> bool:
        """Ask for ``seconds`` more before the start/stop timeout fires (long drains)."""
        return self.notify(f"EXTEND_TIMEOUT_USEC={max(0, int(seconds * 1_000_000))}")

    def watchdog_interval(self) -> float | None:
        """Seconds between ``WATCHDOG=1`` pings (half the timeout), or None when not asked."""
        if self._watchdog_pid and self._watchdog_pid != str(os.getpid()):
            return None
        try:
            usec = int(self._watchdog_usec)
        except ValueError:
            return None
        return usec / 2_000_000 if usec > 0 else None

    def notify(self, message: str) -> bool:
        """Send one message; True when it went out, False when disabled or failed."""
        if self._address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self._address)
                sock.sendall(message.encode())
        except OSError as exc:
            with self._lock:
                first, self._failed = not self._failed, True
            if first:
                log.warning("sd_notify_failed", socket=self._address, error=str(exc))
            return False
        return True


def _socket_address(raw: str) -> str | None:
    """``@name`` is Linux's abstract namespace (a leading NUL byte)."""
    if not raw:
        return None
    if raw.startswith("@"):
        return "\0" + raw[1:]
    return raw
