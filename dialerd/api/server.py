"""uvicorn in a thread of the daemon: ``start() -> (host, port)``, ``stop()``.

The same small interface as the FastAGI server, so the daemon (or a supervisor)
starts, watches and stops it alike. ``failed`` holds the exception that ended
the server thread, if one did; ``alive()`` says whether it still serves.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from dialerd.api.application import make_app
from dialerd.api.context import ApiContext
from dialerd.errors import DialerdError
from dialerd.logconfig import get_logger

log = get_logger("dialerd.api")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 64  # more at once get 503 at once: a flood cannot starve the daemon


class ApiServerError(DialerdError):
    """The HTTP API could not start."""


class ApiServer:
    """The HTTP API of one daemon (docs/api.md)."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self.failed: BaseException | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def start(self) -> tuple[str, int]:
        """Bind, serve in a daemon thread, and return the bound (host, port)."""
        api = self.ctx.settings.api
        try:
            sock = socket.create_server((api.host, api.port), backlog=1024, reuse_port=False)
        except OSError as exc:
            raise ApiServerError(f"api: cannot listen on {api.host}:{api.port}: {exc}") from exc
        self._socket = sock
        config = uvicorn.Config(
            make_app(self.ctx),
            log_config=None,
            access_log=False,
            limit_concurrency=MAX_CONNECTIONS,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=int(STOP_TIMEOUT_S // 2),
            lifespan="off",
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="dialerd-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started and self.failed is None and self._thread.is_alive():
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        if not self._server.started:
            self.stop()
            raise ApiServerError(f"api: the server did not start ({self.failed or 'timeout'})")
        host, port = sock.getsockname()[:2]
        return str(host), int(port)

    def _serve(self) -> None:
        assert self._server is not None and self._socket is not None
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # reported, as the daemon's other threads report theirs
            self.failed = exc
            log.error("api_server_failed", error=repr(exc))

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop accepting, let requests in progress finish (bounded), close the socket."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("api_server_slow_to_stop")
        if self._socket is not None:
            self._socket.close()
        self._thread = None
