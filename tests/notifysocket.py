"""systemd's side of NOTIFY_SOCKET, for tests that run the daemon as systemd would."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from pathlib import Path


class NotifyListener:
    """systemd's side of NOTIFY_SOCKET: every datagram, in order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[str] = []
        self._cond = threading.Condition()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            with self._cond:
                self.messages.append(data.decode())
                self._cond.notify_all()

    def wait_for(self, message: str, *, after: int = 0, timeout: float = 60.0) -> int:
        """Index of the first ``message`` (a whole datagram or its first line) past ``after``;
        the default deadline is generous, for a busy machine."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(after, len(self.messages)):
                    if message in (self.messages[i], self.messages[i].split("\n")[0]):
                        return i
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {message!r} within {timeout}s: {self.messages}")
                self._cond.wait(left)

    def sync(self, timeout: float = 60.0) -> None:
        """Wait until every datagram sent before this call has been read: they queue in
        order, so a marker sent now is read after them (e.g. all a daemon sent before it
        exited, which ``proc.wait()`` does not wait for)."""
        marker = f"X-DIALERD-TEST-SYNC={uuid.uuid4().hex}"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.sendto(marker.encode(), str(self.path))
        self.wait_for(marker, timeout=timeout)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()
