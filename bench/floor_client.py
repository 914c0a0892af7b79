"""The least a Python dialer can do and still keep dialerd's rules: the ``floor`` and
``floorpaced`` clients of ``bench.asterisk_throughput``.

One thread, one socket, no framework. Each batch of 50 attempts is written (one
SQLite ``executemany``, committed) before its Originates go out: dialerd's whole
Originate (Account, its two variables, its event classes), written with dialerd's
serialiser, all at once or evenly at a pace. Every message Asterisk sends is parsed
with dialerd's own parser; each dial's channels are tied to it by their ``VarSet``
of ``DIALERD_ATTEMPT``; a dial is done when its OriginateResponse and the Hangup of
every channel tied to it are in, and its result (the first channel's hangup cause)
is written and committed after each read. It decides nothing else: no policy, no
next try, no contact, no second thread. So its CPU a dial is about the least any
dialer that records every result through Python spends, and its rate against the
plain client's about the most such a dialer reaches on the same host.
"""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from dialerd.pbx.ami.protocol import AmiMessage, AmiParser, format_action

BATCH = 50  # attempts written, committed, then sent
IDLE_S = 60.0  # a bench client gives up when Asterisk sends nothing this long


def _schema(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # as dialerd's engine sets it
    conn.execute(
        "CREATE TABLE attempts (id INTEGER PRIMARY KEY, number TEXT NOT NULL, "
        "status TEXT NOT NULL, cause TEXT, reason TEXT, claimed_at REAL, ended_at REAL)"
    )
    return conn


_CLAIM = "INSERT INTO attempts (id, number, status, claimed_at) VALUES (?, ?, 'dialing', ?)"
_RESULT = "UPDATE attempts SET status = 'done', cause = ?, reason = ?, ended_at = ? WHERE id = ?"


def _write(conn: sqlite3.Connection, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
    """One transaction: ``sql`` for every row, committed."""
    conn.execute("BEGIN")
    conn.executemany(sql, rows)
    conn.execute("COMMIT")


class _Ends:
    """Ties channels to dials (their ``VarSet`` of ``DIALERD_ATTEMPT``) and says which
    dials have ended: OriginateResponse in, every channel tied to it hung up."""

    def __init__(self) -> None:
        self.owner: dict[str, int] = {}  # Uniqueid -> attempt
        self.live: dict[int, int] = {}  # attempt -> its channels not yet hung up
        self.cause: dict[int, str] = {}  # attempt -> its first channel's hangup cause
        self.reason: dict[int, str] = {}  # attempt -> OriginateResponse's Reason

    def feed(self, messages: list[AmiMessage]) -> list[tuple[str, str, float, int]]:
        """(cause, reason, ended at, attempt) of every dial these messages end."""
        ended = []
        for msg in messages:
            attempt = self._read(msg)
            if attempt is not None and attempt in self.reason and self.live.get(attempt) == 0:
                del self.live[attempt]
                cause, reason = self.cause.pop(attempt, ""), self.reason.pop(attempt)
                ended.append((cause, reason, time.time(), attempt))
        return ended

    def _read(self, msg: AmiMessage) -> int | None:
        """The attempt a Hangup or an OriginateResponse is of (a VarSet only ties)."""
        if msg.name == "Hangup":
            attempt = self.owner.pop(msg.get("Uniqueid", ""), None)
            if attempt is not None:
                self.live[attempt] -= 1
                self.cause.setdefault(attempt, msg.get("Cause", ""))
            return attempt
        if msg.name == "OriginateResponse":
            responded = int(msg["ActionID"])
            self.reason[responded] = msg.get("Reason", "")
            return responded
        if msg.name == "VarSet" and msg.get("Variable") == "DIALERD_ATTEMPT":
            tied = int(msg["Value"])
            self.owner[msg["Uniqueid"]] = tied
            self.live[tied] = self.live.get(tied, 0) + 1
        return None


def _login(sock: socket.socket, parser: AmiParser, login: list[tuple[str, str]]) -> None:
    sock.sendall(format_action("Login", login))
    accepted = False
    while not accepted:
        replies = parser.feed(sock.recv(65536))
        refused = [m for m in replies if m.kind == "response" and m.name == "Error"]
        if refused:
            raise RuntimeError(f"AMI login refused: {refused[0].get('Message', '')}")
        accepted = any(m.get("Message") == "Authentication accepted" for m in replies)


def floor(
    port: int,
    login: list[tuple[str, str]],
    numbers: list[str],
    originate: Callable[[int, str], list[tuple[str, str]]],
    db: Path,
    pace: float | None = None,
) -> tuple[float, float, dict[str, int]]:
    """(dials per second, this process's CPU seconds a dial, outcome counts) of one run.

    ``login`` is the Login action's headers and ``originate(attempt_id, number)`` an
    Originate's (ActionID the attempt's id), each without ``Action``. ``pace``: dials
    a second, sent evenly in batches (None: every batch at once, reading nothing
    until all are sent). The clock runs from the first attempt written to the last
    result committed.
    """
    conn = _schema(db)
    sock = socket.create_connection(("127.0.0.1", port), timeout=IDLE_S)
    parser, ends = AmiParser(), _Ends()
    _login(sock, parser, login)
    calls = len(numbers)
    gap = BATCH / pace if pace else 0.0  # seconds between batches
    sent = done = 0
    started, cpu = time.perf_counter(), time.process_time()
    while done < calls:
        while sent < calls and time.perf_counter() >= started + gap * (sent // BATCH):
            ids = range(sent + 1, min(sent + BATCH, calls) + 1)
            now = time.time()
            _write(conn, _CLAIM, [(i, numbers[i - 1], now) for i in ids])
            actions = [format_action("Originate", originate(i, numbers[i - 1])) for i in ids]
            sock.sendall(b"".join(actions))
            sent = ids[-1]
        # seconds until the next batch is due; None: every batch sent
        due = started + gap * (sent // BATCH) - time.perf_counter() if sent < calls else None
        sock.settimeout(IDLE_S if due is None else max(due, 0.0001))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            if due is None:
                raise RuntimeError(f"{calls - done} dials unfinished, Asterisk silent") from None
            continue
        if not data:
            raise RuntimeError("Asterisk closed the AMI connection")
        ended = ends.feed(parser.feed(data))
        if ended:
            _write(conn, _RESULT, ended)
            done += len(ended)
    elapsed, spent = time.perf_counter() - started, time.process_time() - cpu
    sock.close()
    outcomes = {
        ("vacant" if c == "1" else f"cause {c}"): n
        for c, n in conn.execute("SELECT cause, count(*) FROM attempts GROUP BY cause")
    }
    conn.close()
    return calls / elapsed, spent / calls, outcomes
