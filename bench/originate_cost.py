"""What an Originate's headers cost a real Asterisk: its CPU per dial for variants of the
plain client of ``bench.asterisk_throughput``, with Asterisk pinned to one core.

    .venv/bin/python -m bench.originate_cost --calls 2000 --rounds 5 \
        --variants plain,account,vars,headers --run-asterisk /path/to/run-asterisk

Each variant is the plain pipelined client (one socket, every Originate sent at
once, done when every OriginateResponse and Hangup is read) with something of
dialerd's added: ``classes`` its Login event classes; ``account`` its Account
header; ``vars`` its four other variables (``DIALERD_TOKEN``, ``DIALERD_KEY``,
``DIALERD_RECORD``, ``DIALERD_RECORDING``); ``headers`` both; ``full`` headers and
classes (the throughput bench's ``plainfull``). The variants run in turn, the order
rotating each round, on one Asterisk (CPU 0; this process on the others, so its
own parsing costs Asterisk nothing); Asterisk's CPU seconds over each run, per
dial, are what to compare: rates move with the machine's other load far more.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.asterisk_throughput import (
    CHANNELS_PER_DIAL,
    _action,
    _asterisk_pid,
    _attempt,
    _cpu_s,
    _full_headers,
    _load,
    _number,
    _pin,
    _script,
)
from tests.realpbx.pbx import AMI_SECRET, AMI_USER, RealPbx, wait_for

Headers = Callable[[int, int], list[tuple[str, str]]]
DIALERD_CLASSES = "system,call,user,dialplan,agent"


def _account(round_no: int, i: int) -> list[tuple[str, str]]:
    return [_full_headers(round_no, i)[0]]


def _variables(round_no: int, i: int) -> list[tuple[str, str]]:
    return [h for h in _full_headers(round_no, i)[1:] if h != _attempt(i)]


@dataclass(frozen=True)
class Variant:
    classes: str = "call,system"
    extra: Headers | None = None


VARIANTS = {
    "plain": Variant(),
    "classes": Variant(classes=DIALERD_CLASSES),
    "account": Variant(extra=_account),
    "vars": Variant(extra=_variables),
    "headers": Variant(extra=lambda r, i: _account(r, i) + _variables(r, i)),
    "full": Variant(classes=DIALERD_CLASSES, extra=lambda r, i: _account(r, i) + _variables(r, i)),
}


def run(pbx: RealPbx, calls: int, round_no: int, variant: Variant) -> tuple[float, float]:
    """(dials per second, bytes Asterisk sent per dial) for one pipelined run."""
    sock = socket.create_connection(("127.0.0.1", pbx.ami_port))
    buf = b""

    def read_until(marker: bytes) -> None:
        nonlocal buf
        while marker not in buf:
            buf += sock.recv(65536)

    read_until(b"\r\n")
    login = [("Action", "Login"), ("Username", AMI_USER), ("Secret", AMI_SECRET)]
    sock.sendall(_action([*login, ("Events", variant.classes), ("ActionID", "login")]))
    read_until(b"Message: Authentication accepted")
    buf, received = b"", 0
    started = time.perf_counter()
    sock.sendall(
        b"".join(
            _action(
                [
                    ("Action", "Originate"),
                    ("ActionID", f"c{round_no}-{i}"),
                    ("Channel", f"Local/{_number(round_no, i)}@callee-sim"),
                    ("Context", "dialerd-answered"),
                    ("Exten", "s"),
                    ("Priority", "1"),
                    ("Timeout", "30000"),
                    ("CallerID", "4006589888"),
                    _attempt(i),
                    *(variant.extra(round_no, i) if variant.extra else []),
                    ("Async", "true"),
                ]
            )
            for i in range(calls)
        )
    )
    responses = hangups = 0
    while responses < calls or hangups < CHANNELS_PER_DIAL * calls:
        if not select.select([sock], [], [], 60)[0]:
            raise RuntimeError("Asterisk went quiet for 60 s")
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("Asterisk closed the AMI connection")
        received += len(data)
        buf += data
        head, _, buf = buf.rpartition(b"\r\n\r\n")
        buf = buf if head else head + buf
        responses += head.count(b"Event: OriginateResponse")
        hangups += head.count(b"Event: Hangup\r\n")
    elapsed = time.perf_counter() - started
    sock.close()
    return calls / elapsed, received / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", default="plain,account,vars,headers")
    parser.add_argument("--run-asterisk", default=None)
    args = parser.parse_args()
    names = args.variants.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    work = Path(tempfile.mkdtemp(prefix="dialerd-origcost-"))
    pbx = RealPbx(script=_script(args.run_asterisk), root=work / "pbx")
    pbx.start()

    def idle() -> None:
        wait_for(lambda: "0 active channels" in pbx.cli("core show channels"), "idle", 120)

    cpu: dict[str, list[float]] = {n: [] for n in names}
    rates: dict[str, list[float]] = {n: [] for n in names}
    try:
        _pin(pbx)
        print(f"load average {_load()}  ({os.cpu_count()} CPUs)", flush=True)
        run(pbx, min(args.calls, 1000), 0, VARIANTS["plain"])  # a fresh Asterisk warms up
        idle()
        round_no = 1
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                pid = _asterisk_pid(pbx)
                before = _cpu_s(pid)
                rate, per_dial = run(pbx, args.calls, round_no, VARIANTS[name])
                round_no += 1
                idle()
                cpu[name].append((_cpu_s(pid) - before) / args.calls * 1e3)
                rates[name].append(rate)
                print(
                    f"round {r + 1} {name:8s} {rate:6.0f}/s  Asterisk {cpu[name][-1]:.2f} ms "
                    f"a dial  {per_dial:6.0f} B a dial  load {_load()}",
                    flush=True,
                )
    finally:
        pbx.stop()
    for name in names:
        print(
            f"{name:8s} median Asterisk CPU {statistics.median(cpu[name]):.2f} ms a dial, "
            f"median rate {statistics.median(rates[name]):.0f}/s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
