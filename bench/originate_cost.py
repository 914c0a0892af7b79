"""What an Originate's headers cost a real Asterisk: its CPU per dial for variants of the
plain client of ``bench.asterisk_throughput``, with Asterisk pinned to one core.

    .venv/bin/python -m bench.originate_cost --calls 2000 --rounds 5 \
        --variants plain,account,vars,headers,contract --run-asterisk /path/to/run-asterisk

Each variant is the plain pipelined client (one socket, every Originate sent at
once, done when every OriginateResponse and Hangup is read) with something of
dialerd's added: ``classes`` its Login event classes; ``account`` its Account
header; ``vars`` the four other variables it sent before the key moved to Account
(``DIALERD_TOKEN``, ``DIALERD_KEY``, ``DIALERD_RECORD=0``, ``DIALERD_RECORDING``);
``headers`` both (that earlier contract); ``contract`` what it sends now for a
campaign that does not record (Account and ``DIALERD_TOKEN``), ``recording`` for
one that does (and ``DIALERD_RECORD=1``, ``DIALERD_RECORDING``); ``full`` the
earlier headers and the classes, ``fullcontract`` the contract and the classes (the
bytes a dial then count the ``VarSet`` events written to dialerd's session). The
variants run in turn, the order rotating each round, on one Asterisk (CPU 0; this
process on the others, so its own parsing costs Asterisk nothing); Asterisk's CPU
seconds over each run, per dial, are what to compare: rates move with the machine's
other load far more.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.asterisk_throughput import (
    DIALERD_CLASSES,
    Headers,
    _asterisk_pid,
    _attempt,
    _cpu_s,
    _load,
    _pin,
    _script,
    pipelined,
)
from tests.realpbx.pbx import RealPbx, wait_for


def _key(round_no: int, i: int) -> str:
    return f"9-{round_no}-{i}-1-001"


def _account(round_no: int, i: int) -> list[tuple[str, str]]:
    return [("Account", _key(round_no, i))]


def _token(i: int) -> tuple[str, str]:
    return ("Variable", f"DIALERD_TOKEN={i:032x}")


def _variables(round_no: int, i: int) -> list[tuple[str, str]]:
    """The variables besides DIALERD_ATTEMPT of the earlier contract (a campaign not recording)."""
    key = _key(round_no, i)
    return [
        _token(i),
        ("Variable", f"DIALERD_KEY={key}"),
        ("Variable", "DIALERD_RECORD=0"),
        ("Variable", f"DIALERD_RECORDING={key}"),
    ]


def _contract(round_no: int, i: int) -> list[tuple[str, str]]:
    """What dialerd sends besides DIALERD_ATTEMPT now, for a campaign not recording."""
    return [*_account(round_no, i), _token(i)]


def _recording(round_no: int, i: int) -> list[tuple[str, str]]:
    """... and for a campaign that records."""
    key = _key(round_no, i)
    record = [("Variable", "DIALERD_RECORD=1"), ("Variable", f"DIALERD_RECORDING={key}")]
    return _contract(round_no, i) + record


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
    "contract": Variant(extra=_contract),
    "recording": Variant(extra=_recording),
    "fullcontract": Variant(classes=DIALERD_CLASSES, extra=_contract),
}


def run(pbx: RealPbx, calls: int, round_no: int, variant: Variant) -> tuple[float, float]:
    """(dials per second, bytes Asterisk sent a dial) for one pipelined run."""
    extra = variant.extra

    def headers(r: int, i: int) -> list[tuple[str, str]]:
        return [_attempt(i), *(extra(r, i) if extra else [])]

    return pipelined(pbx, calls, round_no, variant.classes, headers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", default="plain,account,headers,contract")
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
