"""The AMI simulator: an asyncio TCP server that talks like the recorded Asterisk 22.

Usable inside a running loop (``await sim.start()`` / ``await sim.aclose()``) or
from synchronous code (``sim.start_in_thread()`` / ``sim.stop()``). It records
every byte each client sent (``sessions[i].received``, ``received``) and every
Originate it accepted (``originates``); a long-running simulator keeps only the
latest ``max_records`` entries of each list and ``max_received_bytes`` per
session. Calls outlive the client connection, as in Asterisk; events are written
only to sessions connected at the time. ``time_scale`` scales the recordings'
timing and the Originate ``Timeout`` alike (0: everything at once). Every
channel technology is played as the recorded Local channel pair (``;1``/``;2``).
With ``cdr_csv`` every ended call appends its Master.csv rows there, as
Asterisk's ``cdr_csv`` does (:mod:`dialerd.pbx.simulator.cdr`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from dialerd.pbx.ami.protocol import AmiMessage, AmiParser
from dialerd.pbx.simulator.actions import ActionHandler
from dialerd.pbx.simulator.calls import Call
from dialerd.pbx.simulator.cdr import MasterCsv
from dialerd.pbx.simulator.faults import Faults
from dialerd.pbx.simulator.queue import QueueFigures, QueueScript, SimQueue
from dialerd.pbx.simulator.queuecalls import QueueDesk
from dialerd.pbx.simulator.records import OriginateRecord, SessionRecord
from dialerd.pbx.simulator.scenario import Scenario

__all__ = ["AmiSimulator", "OriginateRecord", "SessionRecord"]

T = TypeVar("T")
R = TypeVar("R")
DEFAULT_SECRET = "dialerd-secret"


class Session(asyncio.Protocol):
    """One AMI client connection."""

    def __init__(self, sim: AmiSimulator) -> None:
        self.sim = sim
        self.parser = AmiParser(expect_banner=False)
        self.transport: asyncio.Transport | None = None
        self.record = SessionRecord(next(sim.session_ids), "")
        self.closing = False
        self.held = False
        self._held_out: list[bytes] = []
        self._held_actions: list[AmiMessage] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.record.peer = str(transport.get_extra_info("peername"))
        self.sim.remember(self.sim.sessions, self.record)
        self.sim.live_sessions.add(self)
        transport.write(f"Asterisk Call Manager/{self.sim.ami_version}\r\n".encode())

    def data_received(self, data: bytes) -> None:
        received = self.record.received
        received += data
        if len(received) > self.sim.max_received_bytes:
            del received[: len(received) - self.sim.max_received_bytes]
        if self.sim.faults.hung or self.closing:
            return
        for msg in self.parser.feed(data):
            if self.held:
                self._held_actions.append(msg)
            elif not self.closing:
                self.sim.actions.handle(self, msg)

    def connection_lost(self, exc: Exception | None) -> None:
        self.record.closed = True
        self.sim.live_sessions.discard(self)

    def send(self, data: bytes) -> None:
        """Write now, or later if a synchronous Originate holds the session."""
        if self.held:
            self._held_out.append(data)
        elif self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def hold(self) -> None:
        self.held = True

    def release(self, reply: bytes) -> None:
        """The synchronous Originate's reply, then everything held back behind it."""
        self.held = False
        out, self._held_out = self._held_out, []
        self.send(reply + b"".join(out))
        actions, self._held_actions = self._held_actions, []
        for i, msg in enumerate(actions):
            if self.held:
                self._held_actions = actions[i:]
                return
            self.sim.actions.handle(self, msg)

    def close(self, abort: bool = False) -> None:
        self.closing = True
        if self.transport is not None:
            (self.transport.abort if abort else self.transport.close)()


class AmiSimulator:
    """Protocol-level AMI server replaying recorded Asterisk behaviour per call."""

    loop: asyncio.AbstractEventLoop  # set by start()
    max_records = 100_000
    max_received_bytes = 64 * 1024 * 1024

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "dialerd",
        secret: str = DEFAULT_SECRET,
        scenario: Scenario | None = None,
        time_scale: float = 1.0,
        faults: Faults | None = None,
        login_fail_delay_s: float = 1.0,
        cdr_csv: Path | None = None,
        queues: Sequence[QueueScript] = (),
    ) -> None:
        self.host, self.port = host, port
        self.username, self.secret = username, secret
        self.scenario = scenario or Scenario()
        self.time_scale = time_scale
        self.faults = faults or Faults()
        self.login_fail_delay_s = login_fail_delay_s
        self.cdr = MasterCsv(cdr_csv) if cdr_csv is not None else None
        self.ami_version = "11.0.0"
        self.started_at = time.time()
        self.queues = [SimQueue(q, time.time) for q in queues]
        self.desk = QueueDesk(self.queues, lambda: self.loop, self.broadcast)
        self.sessions: list[SessionRecord] = []
        self.originates: list[OriginateRecord] = []
        self.live_sessions: set[Session] = set()
        self.session_ids = itertools.count(1)
        self.calls: dict[str, Call] = {}  # by ChannelId if given, else ActionID
        self.actions = ActionHandler(self)
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------
    async def start(self) -> tuple[str, int]:
        """Listen; returns the bound (host, port)."""
        self.loop = asyncio.get_running_loop()
        self._server = await self.loop.create_server(lambda: Session(self), self.host, self.port)
        self.host, self.port = self._server.sockets[0].getsockname()[:2]
        for queue in self.queues:
            for brk in queue.script.breaks:
                self.loop.call_later(brk.at_s, self._set_pause, queue, brk.agent, brk.reason, True)
                self.loop.call_later(
                    brk.at_s + brk.length_s, self._set_pause, queue, brk.agent, "", False
                )
        return self.host, self.port

    async def aclose(self) -> None:
        """Stop listening, end every call silently, close every connection."""
        for call in list(self.calls.values()):
            call.cancel()
        self.calls.clear()
        for session in list(self.live_sessions):
            session.close(abort=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def start_in_thread(self) -> tuple[str, int]:
        """Run the server on its own loop in a daemon thread; returns (host, port)."""
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="ami-simulator", daemon=True)
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=10)

    def stop(self) -> None:
        """Stop a server started with ``start_in_thread``."""
        if self._thread is None:
            return
        loop = self.loop
        asyncio.run_coroutine_threadsafe(self.aclose(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
        loop.close()
        self._thread = None

    def _in_loop(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the simulator's loop, from any thread, and return its result."""
        if self._thread is None or threading.current_thread() is self._thread:
            return fn()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed over to the calling thread
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(timeout=10)

    # -- what tests and users can do ----------------------------------------------
    def drop_connections(self) -> None:
        """Abort every client connection now (calls go on)."""
        self._in_loop(self.drop_now)

    def drop_now(self) -> None:
        for session in list(self.live_sessions):
            session.close(abort=True)

    def play(self, channel_id: str, groups: int | None = None) -> None:
        """Play the next ``groups`` event groups of a call now (None: the rest of it).

        The call is the one originated with this ChannelId (or, without one, this
        ActionID: dialerd's key). With a large
        ``time_scale`` nothing happens on its own, and a test moves each call on.
        """
        self._in_loop(lambda: self.calls[channel_id].play(groups))

    def live_call_count(self) -> int:
        """Calls still playing."""
        return self._in_loop(lambda: len(self.calls))

    def pause_agents(
        self, queue: str, agents: Sequence[int], paused: bool, reason: str = ""
    ) -> None:
        """Pause (示忙) or unpause (示闲) agents of ``queue`` by number (from 1), as
        QueuePause would: ``QueueMemberPause`` for each, and waiting callers served."""

        def run() -> None:
            for q in self.queues:
                if q.name == queue:
                    for n in agents:
                        self._set_pause(q, n, reason, paused)

        self._in_loop(run)

    def _set_pause(self, queue: SimQueue, agent: int, reason: str, paused: bool) -> None:
        event = queue.pause(queue.member(agent).interface, paused, reason)
        if event is not None:
            self.broadcast(event)
        self.desk.dispatch(queue)

    def queue_figures(self, queue: str) -> QueueFigures:
        """The queue's callers and agents' figures so far."""
        return self._in_loop(lambda: next(q for q in self.queues if q.name == queue).figures())

    def end_talks(self, queue: str) -> None:
        """Every agent of ``queue`` on a call hangs up now (AgentComplete, Hangup)."""

        def run() -> None:
            for q in self.queues:
                if q.name == queue:
                    self.desk.end_talks(q)

        self._in_loop(run)

    def agent_states(self, queue: str) -> list[tuple[str, bool, bool]]:
        """(member name, paused, on a call) of each agent of ``queue``."""
        return self._in_loop(
            lambda: [
                (m.name, m.paused, m.busy)
                for q in self.queues
                if q.name == queue
                for m in q.members
            ]
        )

    @property
    def received(self) -> bytes:
        """Every byte every client sent, in connection order."""
        return b"".join(bytes(s.received) for s in self.sessions)

    # -- used by calls and actions ----------------------------------------------------
    def broadcast(self, data: bytes) -> None:
        """Write events to every logged-in session that wants events."""
        if not data or self.faults.hung:
            return
        for session in self.live_sessions:
            if session.record.logged_in and session.record.events_on and not session.closing:
                session.send(data)

    def remember(self, records: list[R], record: R) -> None:
        """Append to a record list, forgetting the oldest half when it is full."""
        records.append(record)
        if len(records) > self.max_records:
            del records[: len(records) // 2]

    def call_ended(self, call: Call) -> None:
        self.calls.pop(call.values["call_id"], None)
        self.desk.call_ended(call)
        if self.cdr is not None:
            self.cdr.write(call.record())
