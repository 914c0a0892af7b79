"""The AMI link's supervisor: connect, log in, watch, reconnect with backoff and jitter.

One thread. Each connection is a new :class:`AmiClient` (pyst2 cannot reconnect
an object). After login it calls ``on_connected(client)`` (the adapter reconciles
its dials), then marks the link up and watches it: EOF or a socket error is seen
within ``TICK_S``, an unanswered Ping within ``ping_interval_s + action_timeout_s``.
A rejected login logs ``ami_login_rejected`` and sets the status to
``AMI login rejected by HOST:PORT`` (state DOWN; a link lost or unreachable is
CONNECTING, a live one UP); every failure is retried after an
exponential backoff with jitter between ``reconnect_min_s`` and
``reconnect_max_s`` (reset by a successful login): never a crash loop.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from dialerd.domain.ports import LinkState, LinkStatus, StatusHook
from dialerd.errors import DialerdError
from dialerd.logconfig import get_logger
from dialerd.pbx.ami.client import AmiClient, AmiLinkDown, AmiLoginRejected
from dialerd.settings import AmiSettings

log = get_logger(__name__)

TICK_S = 0.1  # how often the link is checked and on_tick runs

ClientHook = Callable[[AmiClient], None]


def backoff_s(settings: AmiSettings, failures: int) -> float:
    """Delay before the next attempt: doubling from reconnect_min_s, capped, jittered."""
    ceiling = min(settings.reconnect_max_s, settings.reconnect_min_s * 2 ** min(failures, 30))
    return random.uniform(max(settings.reconnect_min_s, ceiling / 2), ceiling)


class LinkSupervisor:
    """Keeps one healthy AMI connection; ``client`` is it while ``is_up()``."""

    def __init__(
        self,
        settings: AmiSettings,
        make_client: Callable[[], AmiClient],
        *,
        on_connected: ClientHook,
        on_tick: ClientHook,
        on_ping: ClientHook,
        on_status: StatusHook,
    ) -> None:
        self._settings = settings
        self._make_client = make_client
        self._on_connected, self._on_tick, self._on_ping = on_connected, on_tick, on_ping
        self._on_status = on_status
        self._up = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.client: AmiClient | None = None
        self.generation = 0  # grows with every connection
        self.peer = f"{settings.host}:{settings.port}"
        self.status = LinkStatus(LinkState.DOWN, "AMI not started")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ami-supervisor", daemon=True)
        self._thread.start()

    def is_up(self) -> bool:
        client = self.client
        return self._up.is_set() and client is not None and client.connected()

    def stop(self) -> None:
        self._stop.set()
        client = self.client
        if client is not None:
            client.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self._settings.action_timeout_s + 2.0)

    def _set_status(self, state: LinkState, detail: str) -> None:
        status = self.status = LinkStatus(state, detail)
        try:
            self._on_status(status)
        except Exception:
            log.exception("ami_status_callback_failed")

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            client = self._make_client()
            try:
                client.connect()
            except AmiLoginRejected as exc:
                log.error("ami_login_rejected", peer=self.peer)
                self._set_status(LinkState.DOWN, str(exc))
            except AmiLinkDown as exc:
                log.warning("ami_connect_failed", peer=self.peer, error=str(exc))
                self._set_status(LinkState.CONNECTING, f"AMI unreachable at {self.peer}")
            except DialerdError as exc:  # e.g. a secret holding a line break
                log.error("ami_connect_refused", peer=self.peer, error=str(exc))
                self._set_status(LinkState.DOWN, f"AMI settings refused: {exc}")
            else:
                failures = 0
                self._connected(client)
            if not self._stop.is_set():
                delay = backoff_s(self._settings, failures)
                failures += 1
                log.info("ami_reconnect_scheduled", peer=self.peer, delay_s=round(delay, 2))
                self._stop.wait(delay)
        self._set_status(LinkState.DOWN, "AMI closed")

    def _connected(self, client: AmiClient) -> None:
        self.client = client
        self.generation += 1
        log.info("ami_connected", peer=self.peer)
        try:
            self._on_connected(client)
            self._up.set()
            self._set_status(LinkState.UP, f"AMI connected to {self.peer}")
            self._watch(client)
        except AmiLinkDown as exc:
            if not self._stop.is_set():
                log.warning("ami_link_lost", peer=self.peer, error=str(exc))
                lost = f"AMI link to {self.peer} lost; reconnecting"
                self._set_status(LinkState.CONNECTING, lost)
        finally:
            self._up.clear()
            self.client = None
            client.close()

    def _watch(self, client: AmiClient) -> None:
        next_ping = time.monotonic()
        while not self._stop.wait(TICK_S):
            if not client.connected():
                raise AmiLinkDown(f"AMI connection to {self.peer} closed")
            self._on_tick(client)
            if time.monotonic() >= next_ping:
                client.ping()
                self._on_ping(client)
                next_ping = time.monotonic() + self._settings.ping_interval_s
