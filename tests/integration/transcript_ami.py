"""Two tiny AMI servers on loopback that play the recorded Asterisk 22 transcripts.

:class:`TranscriptAmi` answers Originates: the number's last digit picks the
transcript (the recorded [callee-sim] table); ``transcripts`` maps exact numbers
to other recordings. Replayed events are rewritten for the request: the
ActionID and ``DIALERD_ATTEMPT`` become the ones sent; the channels keep their
recorded Uniqueids (dialerd assigns no channel ids). With ``autoplay = False``
events wait in ``backlog[key]`` until ``play()``. ``live`` holds the keys of the
calls ``CoreShowChannels`` lists: the channels their played events opened and
did not hang up (or one made-up channel, for a call with none), each with the
call's key as its ``AccountCode`` (the Originate's ``Account``), as Asterisk lists them.

:class:`ReplayAmi` plays one whole recorded session back, byte for byte, to a
client that sends the recorded actions.
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
import socket
import threading
import time
from collections.abc import Callable

from dialerd.pbx import transcripts

BY_DIGIT = {
    "0": "answered-human",
    "1": "busy",
    "2": "no-answer",
    "3": "unallocated",
    "4": "rejected",
    "5": "congestion",
    "6": "subscriber-absent",
    "7": "answered-early-hangup",
    "8": "answering-machine",
    "9": "no-user-responding",
}
GREETING = b"Asterisk Call Manager/11.0.0\r\n"


def parse(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode().split("\r\n"):
        key, _, value = line.partition(": ")
        headers.setdefault(key, value)
    return headers


def recorded_events(name: str) -> list[bytes]:
    """The call's events of one transcript (after login, FullyBooted and the ack)."""
    blocks = transcripts.load(name).received.split(b"\r\n\r\n")
    return [b for b in blocks if b.startswith(b"Event: ") and b"FullyBooted" not in b[:30]]


_calls = itertools.count(1)


def rewrite(events: list[bytes], name: str, key: str, attempt: str) -> list[bytes]:
    """One dial's events: fresh Uniqueids (one Asterisk never repeats one), its ActionID
    and DIALERD_ATTEMPT."""
    text = b"\r\n\r\n".join(events).decode()
    call = next(_calls)
    recorded = dict.fromkeys(re.findall(r"(?:Uniqueid|Linkedid): ([\d.]+)\r", text + "\r"))
    for n, uid in enumerate(recorded):
        text = re.sub(rf"(?<![\d.]){re.escape(uid)}(?![\d])", f"1800{call:06d}.{n}", text)
    base = name.rsplit("/", 1)[-1]  # "queue/queue-status": the recording's own name
    text = re.sub(rf"ActionID: {re.escape(base)}-orig-\d+", f"ActionID: {key}", text)
    text = re.sub(r"att-[A-Za-z0-9-]+", attempt, text)  # the recorded DIALERD_ATTEMPT
    return [block.encode() for block in text.split("\r\n\r\n")]


class TranscriptAmi:
    """Fake AMI on 127.0.0.1; every knob is a plain attribute a test may flip."""

    def __init__(self, secret: str = "s3cret") -> None:
        self.secret = secret
        self.answer_pings = True
        self.autoplay = True
        self.reject_delay_s = 0.1
        self.transcripts: dict[str, str] = {}
        self.live: set[str] = set()  # keys of the calls CoreShowChannels lists
        self.received = bytearray()
        self.originates: list[dict[str, str]] = []
        self.logins = 0
        self.backlog: dict[str, list[bytes]] = {}
        self.played: dict[str, list[bytes]] = {}
        self.queue_status: list[bytes] | None = None  # QueueStatus rows; None: unknown command
        self.queue_statuses = 0
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    # -- test controls ----------------------------------------------------------
    def drop_connections(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def play(self, key: str, count: int | None = None) -> None:
        """Send the next ``count`` held events of a dial on the newest connection."""
        events = self.backlog.get(key, [])
        chunk, self.backlog[key] = events[:count], events[len(events[:count]) :]
        self.played.setdefault(key, []).extend(chunk)
        with self._lock:
            conn = self._conns[-1]
        conn.sendall(b"".join(e + b"\r\n\r\n" for e in chunk))

    def send_events(self, events: list[bytes]) -> None:
        """Send whole events (without their blank line) on the newest connection."""
        with self._lock:
            conn = self._conns[-1]
        conn.sendall(b"".join(e + b"\r\n\r\n" for e in events))

    def stop(self) -> None:
        self._listener.close()
        self.drop_connections()

    # -- server -----------------------------------------------------------------------
    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        try:
            conn.sendall(GREETING)
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                self.received += data
                buf += data
                *blocks, buf = buf.split(b"\r\n\r\n")
                for block in blocks:
                    if block.strip() and not self._action(conn, parse(block.strip())):
                        return
        except OSError:
            return
        finally:
            conn.close()

    def _action(self, conn: socket.socket, action: dict[str, str]) -> bool:
        name, action_id = action.get("Action", ""), action.get("ActionID", "")
        reply = f"ActionID: {action_id}\r\n"
        if name == "Login":
            self.logins += 1
            if action.get("Secret") != self.secret:
                time.sleep(self.reject_delay_s)
                conn.sendall(
                    f"Response: Error\r\n{reply}Message: Authentication failed\r\n\r\n".encode()
                )
                return False
            conn.sendall(
                f"Response: Success\r\n{reply}Message: Authentication accepted\r\n\r\n"
                "Event: FullyBooted\r\nPrivilege: system,all\r\n"
                "Status: Fully Booted\r\n\r\n".encode()
            )
        elif name == "Ping":
            if self.answer_pings:
                conn.sendall(
                    f"Response: Success\r\n{reply}Ping: Pong\r\n"
                    f"Timestamp: {time.time():.6f}\r\n\r\n".encode()
                )
        elif name == "Originate":
            self._originate(conn, action, reply)
        elif name == "CoreShowChannels":
            listed = [(key, chan) for key in sorted(self.live) for chan in self._channels(key)]
            rows = "".join(
                f"Event: CoreShowChannel\r\n{reply}Channel: {name}\r\nAccountCode: {key}\r\n"
                f"Uniqueid: {uid}\r\nLinkedid: {link}\r\n\r\n"
                for key, (name, uid, link) in listed
            )
            conn.sendall(
                f"Response: Success\r\n{reply}EventList: start\r\n"
                f"Message: Channels will follow\r\n\r\n{rows}"
                f"Event: CoreShowChannelsComplete\r\n{reply}EventList: Complete\r\n"
                f"ListItems: {len(listed)}\r\n\r\n".encode()
            )
        elif name == "Getvar":  # a live channel's variable: none is set here ("")
            if any(c[0] == action.get("Channel") for k in self.live for c in self._channels(k)):
                conn.sendall(
                    f"Response: Success\r\n{reply}Variable: {action.get('Variable')}\r\n"
                    "Value: \r\n\r\n".encode()
                )
            else:
                conn.sendall(f"Response: Error\r\n{reply}Message: No such channel\r\n\r\n".encode())
        elif name == "QueueStatus" and self.queue_status is not None:
            self.queue_statuses += 1
            status_rows = b"".join(
                re.sub(rb"ActionID: [^\r]*", f"ActionID: {action_id}".encode(), row) + b"\r\n\r\n"
                for row in self.queue_status
            )
            conn.sendall(
                f"Response: Success\r\n{reply}EventList: start\r\n"
                "Message: Queue status will follow\r\n\r\n".encode()
                + status_rows
            )
        elif name == "Logoff":
            conn.sendall(
                f"Response: Goodbye\r\n{reply}Message: Thanks for all the fish.\r\n\r\n".encode()
            )
            return False
        else:
            conn.sendall(
                f"Response: Error\r\n{reply}Message: Invalid/unknown command\r\n\r\n".encode()
            )
        return True

    def _channels(self, key: str) -> list[tuple[str, str, str]]:
        """(Channel, Uniqueid, Linkedid) of the live channels of one listed call."""
        opened: dict[str, tuple[str, str, str]] = {}
        for event in map(parse, self.played.get(key, [])):
            if event.get("Event") == "Newchannel":
                opened[event["Uniqueid"]] = (event["Channel"], event["Uniqueid"], event["Linkedid"])
            elif event.get("Event") == "Hangup":
                opened.pop(event.get("Uniqueid", ""), None)
        if not self.played.get(key):
            n = sorted(self.live).index(key)
            return [(f"Local/{key}@callee-sim-{n};1", f"1700.{n}", f"1700.{n}")]
        return list(opened.values())

    def _originate(self, conn: socket.socket, action: dict[str, str], reply: str) -> None:
        self.originates.append(action)
        key = action["ActionID"]
        number = action["Channel"].split("/", 1)[1].split("@", 1)[0]
        name = self.transcripts.get(number, BY_DIGIT[number[-1]])
        attempt = next(v.split("=", 1)[1] for k, v in _variables(self.received, key))
        events = rewrite(recorded_events(name), name, key, attempt)
        conn.sendall(
            f"Response: Success\r\n{reply}Message: Originate successfully queued\r\n\r\n".encode()
        )
        if self.autoplay:
            self.played[key] = events
            conn.sendall(b"".join(e + b"\r\n\r\n" for e in events))
        else:
            self.backlog[key] = events


def _variables(received: bytearray, key: str) -> list[tuple[str, str]]:
    """DIALERD_ATTEMPT of the Originate whose ActionID is ``key`` (parse keeps the first)."""
    for block in bytes(received).split(b"\r\n\r\n"):
        if f"ActionID: {key}\r\n".encode() in block + b"\r\n":
            lines = block.decode().split("\r\n")
            return [
                ("Variable", line[10:])
                for line in lines
                if line.startswith("Variable: DIALERD_ATTEMPT=")
            ]
    return []


DEADLINE_S = 60.0  # for each step of a replay: generous, the machine may be busy


class ReplayAmi:
    """Loopback AMI server that plays one recorded session back to one client.

    The recorded reads are written in order, byte for byte; the reads that
    followed the N-th recorded action wait until the client has sent N actions
    (``actions`` keeps them). Each read is written in random pieces, with one of
    ``junk`` at message ends at ``junk_rate``, and the next read only once the
    client has taken it all in (``consumed()``, its byte count): a client read
    never spans two recorded reads, so :meth:`time_at` gives every message its
    recorded time. After the last read the server closes the connection, as
    Asterisk does after ``Goodbye`` or a failed login. ``error`` says what went
    wrong on the server's side, if anything.
    """

    def __init__(
        self, name: str, seed: int = 0, junk_rate: float = 0.0, junk: tuple[bytes, ...] = ()
    ) -> None:
        self.recording = transcripts.load(name)
        self.consumed: Callable[[], int] = lambda: 0
        self.actions: list[bytes] = []
        self.error: str | None = None
        self.done = threading.Event()
        self._rng = random.Random(seed)
        self._junk_rate, self._junk = junk_rate, junk
        self._ends: list[int] = []  # bytes written up to the end of each recorded read ...
        self._times: list[float] = []  # ... and that read's recorded time
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, name="replay-ami", daemon=True).start()

    def time_at(self, received: int) -> float:
        """The recorded time of the read that holds the ``received``-th byte written."""
        at = bisect.bisect_left(self._ends, received)
        return self._times[min(at, len(self._times) - 1)]

    def stop(self) -> None:
        self._listener.close()

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=self._read, args=(conn,), daemon=True).start()
        try:
            self._play(conn)
        except OSError as exc:
            self.error = f"write failed: {exc}"
        finally:
            try:
                conn.shutdown(socket.SHUT_RDWR)  # wakes the action reader; the client reads EOF
            except OSError:
                pass
            conn.close()
            self.done.set()

    def _actions_reach(self, n: int) -> Callable[[], bool]:
        return lambda: len(self.actions) >= n

    def _consumed_reach(self, n: int) -> Callable[[], bool]:
        return lambda: self.consumed() >= n

    def _play(self, conn: socket.socket) -> None:
        recording, written = self.recording, 0
        for chunk in recording.chunks:
            if chunk.direction == "sent":
                sent = recording.sent[: chunk.offset + chunk.length].count(b"\r\n\r\n")
                if not self._wait(self._actions_reach(sent)):
                    self.error = f"the client sent {len(self.actions)} of {sent} actions"
                    return
                continue
            data = self._with_junk(recording.data(chunk))
            written += len(data)
            self._ends.append(written)
            self._times.append(chunk.at_s)
            while data:
                size = self._rng.randint(1, 700)
                conn.sendall(data[:size])
                data = data[size:]
            if not self._wait(self._consumed_reach(written)):
                self.error = f"the client read {self.consumed()} of {written} bytes"
                return

    def _with_junk(self, data: bytes) -> bytes:
        parts = data.split(b"\r\n\r\n")
        for i in range(len(parts) - 1):
            if self._junk and self._rng.random() < self._junk_rate:
                parts[i] += b"\r\n\r\n" + self._rng.choice(self._junk)
            else:
                parts[i] += b"\r\n\r\n"
        return b"".join(parts)

    def _read(self, conn: socket.socket) -> None:
        buf = b""
        try:
            while data := conn.recv(65536):
                *blocks, buf = (buf + data).split(b"\r\n\r\n")
                self.actions += [block + b"\r\n\r\n" for block in blocks]
        except OSError:
            return

    @staticmethod
    def _wait(check: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + DEADLINE_S
        while not check():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True
