"""AMI originate throughput: a plain socket client, stock pyst2, and dialerd's AmiTelephony.

Run from the repository root::

    .venv/bin/python -m bench.ami_throughput --calls 3000

The AMI server runs in its own process (so it does not share the clients' GIL):
dialerd's AmiSimulator at time_scale=0 when it is available, else (or with
``--server replay``) a replay server that answers each Originate with the
recorded Asterisk 22 events of a fast-failing outcome. Each client originates
``--calls`` dials with fast-failing numbers and stops the clock when the last
result is in:

* plain: one TCP socket, pipelined writes (50 per ``sendall``), 64 KiB reads, only
  OriginateResponse and Hangup looked at; a dial is done when its
  OriginateResponse and the Hangup of its ChannelId arrived;
* plain+: the same socket doing dialerd's own work as well (wire checks,
  ``format_action``, the Correlator fed the wanted events): what the adapter does,
  minus pyst2 and the adapter's threads;
* pyst2: stock ``Manager.originate(..., run_async=True)`` one after another
  (each waits for its ack); done when every OriginateResponse arrived;
* adapter: ``AmiTelephony.originate`` per dial; done when every DialResult
  reached the sink.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import socket
import threading
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dialerd.domain.ports import AnsweredTarget, DialRequest, DialResult
from dialerd.domain.wire import check_dial_request
from dialerd.logconfig import configure_logging
from dialerd.pbx.ami.adapter import AmiTelephony
from dialerd.pbx.ami.client import WANTED_EVENTS, WANTED_VARIABLES
from dialerd.pbx.ami.correlate import Correlator
from dialerd.pbx.ami.originate import originate_headers
from dialerd.pbx.ami.protocol import format_action
from dialerd.settings import AmiSettings, LogSettings

SECRET = "bench-secret"
FAST_DIGITS = "134569"  # busy, vacant, rejected, congestion, absent, no user responding


def _number(i: int) -> str:
    return f"1380{i:06d}{FAST_DIGITS[i % len(FAST_DIGITS)]}"


def _key(i: int) -> str:
    return f"9-{i}-0-1-1"


# -- servers (child process) -------------------------------------------------------------
def _serve_replay(ready: Any, stop: Any) -> None:
    from tests.integration.transcript_ami import BY_DIGIT, recorded_events, rewrite

    templates = {
        d: b"".join(e + b"\r\n\r\n" for e in rewrite(recorded_events(n), n, "@KEY@", "@ATT@"))
        for d, n in BY_DIGIT.items()
    }
    listener = socket.create_server(("127.0.0.1", 0))
    ready.put(listener.getsockname()[1])

    def handle(conn: socket.socket) -> None:
        conn.sendall(b"Asterisk Call Manager/11.0.0\r\n")
        buf = b""
        while data := conn.recv(1 << 16):
            *blocks, buf = (buf + data).split(b"\r\n\r\n")
            out = [_replay_reply(block, templates) for block in blocks]
            conn.sendall(b"".join(out))

    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def _replay_reply(block: bytes, templates: dict[str, bytes]) -> bytes:
    headers = dict(line.split(": ", 1) for line in block.decode().split("\r\n") if ": " in line)
    action, action_id = headers.get("Action"), headers.get("ActionID", "")
    ack = f"ActionID: {action_id}\r\n"
    if action == "Originate":
        number = headers["Channel"].split("/", 1)[1].split("@", 1)[0]
        key = headers.get("ChannelId") or action_id
        att = next((v for v in block.decode().split("\r\n") if "DIALERD_ATTEMPT=" in v), "=0")
        events = templates[number[-1]].replace(b"@KEY@", key.encode())
        events = events.replace(b"@ATT@", att.split("=", 1)[1].encode())
        if key != action_id:  # stock pyst2 sends no ChannelId: ActionID carries the key
            events = events.replace(f"ActionID: {key}".encode(), f"ActionID: {action_id}".encode())
        queued = f"Response: Success\r\n{ack}Message: Originate successfully queued\r\n\r\n"
        return queued.encode() + events
    if action == "Login":
        return f"Response: Success\r\n{ack}Message: Authentication accepted\r\n\r\n".encode()
    if action == "Ping":
        return f"Response: Success\r\n{ack}Ping: Pong\r\n\r\n".encode()
    if action == "CoreShowChannels":
        return (
            f"Response: Success\r\n{ack}EventList: start\r\n\r\n"
            f"Event: CoreShowChannelsComplete\r\n{ack}EventList: Complete\r\n\r\n"
        ).encode()
    return f"Response: Success\r\n{ack}\r\n".encode()


def _serve_simulator(ready: Any, stop: Any) -> None:
    from dialerd.pbx.simulator import AmiSimulator

    sim = AmiSimulator("127.0.0.1", port=0, username="dialerd", secret=SECRET, time_scale=0)
    ready.put(sim.start_in_thread()[1])
    stop.wait()
    sim.stop()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_server(kind: str) -> tuple[int, Callable[[], None], int]:
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    target = _serve_simulator if kind == "simulator" else _serve_replay
    proc = ctx.Process(target=target, args=(ready, stop), daemon=True)
    proc.start()
    port = int(ready.get(timeout=30))

    def shutdown() -> None:
        stop.set()
        proc.join(5)
        if proc.is_alive():
            proc.terminate()

    return port, shutdown, proc.pid or 0


# -- clients ---------------------------------------------------------------------------------
def _originate_bytes(i: int, with_ids: bool) -> bytes:
    key = _key(i)
    ids = f"ChannelId: {key}\r\nOtherChannelId: {key}-2\r\n" if with_ids else ""
    return (
        f"Action: Originate\r\nActionID: {key}\r\nChannel: Local/{_number(i)}@callee-sim\r\n"
        f"{ids}Context: dialerd-answered\r\nExten: s\r\nPriority: 1\r\nTimeout: 30000\r\n"
        f'CallerID: "dialerd" <4000>\r\nVariable: DIALERD_ATTEMPT={i}\r\nAsync: true\r\n\r\n'
    ).encode()


_BATCH = 50  # originates per sendall in the plain client
_ACTION_ID = re.compile(rb"\r\nActionID: ([^\r]*)")
_UNIQUEID = re.compile(rb"\r\nUniqueid: ([^\r]*)")


def _requests(calls: int) -> list[DialRequest]:
    target = AnsweredTarget(context="dialerd-answered", exten="s")
    return [
        DialRequest(
            attempt_id=i,
            key=_key(i),
            campaign="bench",
            number=f"+86{_number(i)}",
            channel=f"Local/{_number(i)}@callee-sim",
            caller_id='"dialerd" <4000>',
            ring_timeout_s=30.0,
            answered=target,
        )
        for i in range(calls)
    ]


def run_plain(port: int, calls: int) -> float:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        f"Action: Login\r\nUsername: dialerd\r\nSecret: {SECRET}\r\n"
        "Events: call,user,dialplan\r\n\r\n".encode()
    )
    seen: dict[str, int] = {}
    done = threading.Event()

    def reader() -> None:
        buf, finished = b"", 0
        while not done.is_set() and (data := sock.recv(1 << 16)):
            *blocks, buf = (buf + data).split(b"\r\n\r\n")
            for block in blocks:
                if block.startswith(b"Event: OriginateResponse"):
                    match = _ACTION_ID.search(block)
                elif block.startswith(b"Event: Hangup\r\n"):
                    match = _UNIQUEID.search(block)
                else:
                    continue
                key = match[1].decode() if match else None
                if key in seen:
                    seen[key] += 1
                    if seen[key] == 2:
                        finished += 1
                        if finished == calls:
                            done.set()

    seen.update({_key(i): 0 for i in range(calls)})
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    started = time.perf_counter()
    for first in range(0, calls, _BATCH):
        burst = range(first, min(calls, first + _BATCH))
        sock.sendall(b"".join(_originate_bytes(i, True) for i in burst))
    done.wait(120)
    elapsed = time.perf_counter() - started
    sock.close()
    return calls / elapsed


def run_plain_correlated(port: int, calls: int) -> float:
    """The plain socket doing dialerd's own work too: wire checks, framing, the Correlator."""
    requests = _requests(calls)
    results: list[DialResult] = []
    done = threading.Event()
    lock = threading.Lock()

    def on_result(result: DialResult) -> None:
        results.append(result)
        if len(results) == calls:
            done.set()

    correlator = Correlator(on_result)
    keep = tuple(f"Event: {e}\r\n".encode() for e in WANTED_EVENTS)
    varsets = tuple(f"Variable: {v}\r\n".encode() for v in WANTED_VARIABLES)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        f"Action: Login\r\nUsername: dialerd\r\nSecret: {SECRET}\r\n"
        "Events: call,user,dialplan\r\n\r\n".encode()
    )

    def reader() -> None:
        buf = b""
        while not done.is_set() and (data := sock.recv(1 << 16)):
            *blocks, buf = (buf + data).split(b"\r\n\r\n")
            now = datetime.now(UTC)
            with lock:
                for block in blocks:
                    if not block.startswith(keep):
                        continue
                    if block.startswith(b"Event: VarSet") and not any(v in block for v in varsets):
                        continue
                    lines = block.decode().split("\r\n")
                    correlator.feed(dict(ln.split(": ", 1) for ln in lines if ": " in ln), now)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    started = time.perf_counter()
    for first in range(0, calls, _BATCH):
        burst = []
        with lock:
            now = datetime.now(UTC)
            for req in requests[first : first + _BATCH]:
                check_dial_request(req)
                correlator.expect(req.key, req.attempt_id, req.ring_timeout_s, now)
                fields = [("ActionID", req.key), *originate_headers(req)]
                burst.append(format_action("Originate", fields))
        sock.sendall(b"".join(burst))
    done.wait(120)
    elapsed = time.perf_counter() - started
    sock.close()
    return len(results) / elapsed


def run_pyst2(port: int, calls: int) -> float:
    warnings.simplefilter("ignore", DeprecationWarning)
    from asterisk.manager import Manager

    manager = Manager()
    manager.connect("127.0.0.1", port)
    manager.login("dialerd", SECRET)
    count = [0]
    done = threading.Event()

    def on_event(event: Any, _m: Any) -> None:
        if event.name == "OriginateResponse":
            count[0] += 1
            if count[0] == calls:
                done.set()

    manager.register_event("*", on_event)
    started = time.perf_counter()
    for i in range(calls):
        manager.originate(
            f"Local/{_number(i)}@callee-sim",
            "s",
            context="dialerd-answered",
            priority="1",
            timeout="30000",
            caller_id='"dialerd" <4000>',
            run_async=True,
            variables={"DIALERD_ATTEMPT": str(i)},
        )
    done.wait(300)
    elapsed = time.perf_counter() - started
    manager._sock._sock.shutdown(socket.SHUT_RDWR)  # pyst2's close() races; cut instead
    return count[0] / elapsed


def run_adapter(port: int, calls: int) -> float:
    settings = AmiSettings(host="127.0.0.1", port=port, secret=SECRET)
    results: list[DialResult] = []
    done = threading.Event()

    def sink(result: DialResult) -> None:
        results.append(result)
        if len(results) == calls:
            done.set()

    adapter = AmiTelephony(settings)
    adapter.start(sink)
    while not adapter.is_up():
        time.sleep(0.01)
    requests = _requests(calls)
    started = time.perf_counter()
    for request in requests:
        adapter.originate(request)
    done.wait(120)
    elapsed = time.perf_counter() - started
    adapter.close()
    return len(results) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--pyst2-calls", type=int, default=500)
    parser.add_argument("--server", choices=["auto", "simulator", "replay"], default="auto")
    parser.add_argument("--rounds", type=int, default=3, help="best of N for each client")
    args = parser.parse_args()
    configure_logging(LogSettings(level="warning"))
    kind = args.server
    if kind == "auto":
        try:
            from dialerd.pbx.simulator import AmiSimulator  # noqa: F401

            kind = "simulator"
        except ImportError:
            kind = "replay"
    print(f"server: {kind}, calls: {args.calls} (pyst2: {args.pyst2_calls}), best of {args.rounds}")
    clients = (
        ("plain", run_plain, args.calls),
        ("plain+", run_plain_correlated, args.calls),
        ("pyst2", run_pyst2, args.pyst2_calls),
        ("adapter", run_adapter, args.calls),
    )
    rates: dict[str, list[float]] = {name: [] for name, _, _ in clients}
    cpu: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in clients}
    for round_no in range(args.rounds):  # interleaved, so that machine load hits all alike
        for name, run, calls in clients:
            if name == "pyst2" and round_no > 0:
                continue  # two orders of magnitude slower; once is enough
            port, shutdown, pid = _start_server(kind)
            try:
                client0, server0 = time.process_time(), _cpu_s(pid)
                rates[name].append(run(port, calls))
                per_k = 1000 / calls  # CPU seconds per 1,000 calls: this process, the server
                cpu[name].append(
                    ((time.process_time() - client0) * per_k, (_cpu_s(pid) - server0) * per_k)
                )
            finally:
                shutdown()
        print(f"round {round_no + 1}: " + ", ".join(f"{n} {r[-1]:.0f}" for n, r in rates.items()))
    for name, samples in cpu.items():
        client_s = sorted(c for c, _ in samples)[len(samples) // 2]
        server_s = sorted(s for _, s in samples)[len(samples) // 2]
        print(f"{name:8s} CPU per 1,000 calls: client {client_s:.3f} s, server {server_s:.3f} s")
    best = {name: max(values) for name, values in rates.items()}
    for name, rate in best.items():
        print(f"{name:8s} {rate:9.0f} originates/s (best)")
    for base in ("plain", "plain+"):
        ratios = sorted(a / p for a, p in zip(rates["adapter"], rates[base], strict=True))
        print(
            f"adapter / {base} = {best['adapter'] / best[base]:.2f} (best / best); "
            f"per round median {ratios[len(ratios) // 2]:.2f}"
        )


if __name__ == "__main__":
    main()
