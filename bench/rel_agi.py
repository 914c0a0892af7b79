"""The FastAGI scenario: forged dispositions, then a flood, against a dialling daemon.

One daemon on SQLite dials through the AMI simulator with FastAGI on. Forged
``disposition`` requests (each asking for ``dnc_requested``, the most harmful
outcome) are sent for live attempts as a local process could: without a token,
with another attempt's token, for an attempt that does not exist, for a ringing
call not answered, and a second disposition after the real one. Then 1,000 idle
connections and one 300 MB line while the daemon dials: its dial rate (from the
simulator's Originate log) and its RSS are compared with the 20 s before.
"""

from __future__ import annotations

import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from bench.rel_report import Check, Truth, info, zero
from bench.rel_site import Site, free_port, wait_port
from dialerd.db.models import Attempt, DncEntry
from dialerd.pbx.agitoken import AgiTokens

AGI_SECRET = "reliability-agi-secret"
SCENARIO = "FastAGI: forged dispositions, then 1,000 idle connections and a 300 MB line"
IDLE_CONNECTIONS = 1000
LINE_BYTES = 300 * 1024 * 1024
WINDOW_S = 20.0
TIMEOUT_S = 30.0


def play(port: int, args: list[str], variables: dict[str, str]) -> str | None:
    """One ``disposition`` request as Asterisk makes it; the DIALERD_AGI_RESULT it got."""
    env = "agi_network: yes\nagi_network_script: disposition\n"
    env += "".join(f"agi_arg_{n}: {value}\n" for n, value in enumerate(args, 1))
    result = None
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        rfile = sock.makefile("rb")
        sock.sendall(env.encode() + b"\n")
        while line := rfile.readline():
            command = line.decode().rstrip("\n")
            if command.startswith("GET VARIABLE "):
                value = variables.get(command.split()[-1])
                reply = f"200 result=1 ({value})" if value is not None else "200 result=0"
            elif command.startswith("SET VARIABLE DIALERD_AGI_RESULT "):
                result = command.split(" ", 3)[3].strip('"')
                reply = "200 result=1"
            else:
                reply = "510 Invalid or unknown command"
            sock.sendall(reply.encode() + b"\n")
    return result


DNC = {"DIALERD_DISPOSITION": "dnc_requested"}


class Forger:
    """Forged requests against the daemon's live attempts."""

    def __init__(self, site: Site, port: int) -> None:
        self.site, self.port, self.tokens = site, port, AgiTokens(AGI_SECRET)
        self.tried: set[int] = set()

    def live(self, digit: str) -> int:
        """A dial in flight whose number ends in ``digit`` (not used before)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self.site.engine.connect() as conn:
                rows = conn.execute(
                    select(Attempt.id, Attempt.number).where(Attempt.status == "dialing")
                ).all()
            for row in rows:
                if row.number.endswith(digit) and row.id not in self.tried:
                    self.tried.add(row.id)
                    return int(row.id)
            time.sleep(0.05)
        raise RuntimeError(f"no dial in flight to a number ending in {digit}")

    def signed(self, attempt: int, variables: dict[str, str]) -> str | None:
        return play(self.port, [str(attempt), self.tokens.token(attempt)], variables)

    def forge(self) -> dict[str, str | None]:
        """Each forgery's answer from the daemon, by what it tried."""
        live = self.live("2")  # a no-answer call, ringing
        got = {
            "no token": play(self.port, [str(live)], DNC),
            "wrong token": play(self.port, [str(live), self.tokens.token(live + 1)], DNC),
            "unknown attempt": self.signed(10**9, DNC),
            "attempt not answered": self.until(lambda: self.signed(self.live("2"), DNC)),
        }
        answered = self.answered_with({"DIALERD_DISPOSITION": "completed"})
        got["a second disposition"] = self.signed(answered, DNC)
        return got

    def until(self, attempt: Callable[[], str | None]) -> str | None:
        """Retry with another live call when the one chosen ended meanwhile."""
        for _ in range(20):
            result = attempt()
            if result != "not_in_flight":
                return result
        return "not_in_flight"

    def answered_with(self, variables: dict[str, str]) -> int:
        """The real disposition of an answered call, accepted; returns its attempt id."""
        for _ in range(20):
            attempt = self.live("0")
            while (result := self.signed(attempt, variables)) == "not_answered":
                time.sleep(0.05)
            if result == "accepted":
                return attempt
        raise RuntimeError("no answered call took its disposition")


EXPECTED_REFUSALS = {
    "no token": "no_token",
    "wrong token": "bad_token",
    "unknown attempt": "not_in_flight",
    "attempt not answered": "not_answered",
    "a second disposition": "already_recorded",
}


def fastagi(site: Site) -> list[Check]:
    s = SCENARIO
    _raise_fd_limit()
    port = free_port()
    site.write_campaign(3000, max_concurrent=60, cps=10)
    agi = f'enabled = true\nport = {port}\nsecret = "{AGI_SECRET}"\nidle_timeout_s = 10'
    site.start("agi", channels=60, cps=10, agi=agi)
    wait_port(port)
    forger = Forger(site, port)
    got = forger.forge()
    accepted = [k for k, v in got.items() if v == "accepted"]
    wrong = [k for k, v in got.items() if v != EXPECTED_REFUSALS[k]]
    pid = site.procs["agi"].pid
    time.sleep(max(0.0, WINDOW_S + 5 - (time.time() - _first_dial(site))))  # a full window
    start = time.time()
    rss_before = _rss_kib(pid)
    with _flood(port, pid) as (line_sent, peak, idle):
        time.sleep(WINDOW_S)
        still_answers = play(port, ["1000000001", "00"], DNC) == "bad_token"
        opened = len(idle)
    rss_growth = (max(peak) - rss_before) / 1024 if peak else 0.0
    before, during = _rate(site, start - WINDOW_S, start), _rate(site, start, start + WINDOW_S)
    alive = site.procs["agi"].poll() is None
    site.stop_all()
    with site.engine.connect() as conn:
        dnc = conn.execute(select(func.count()).select_from(DncEntry)).scalar_one()
        recorded = conn.execute(
            select(Attempt.disposition, func.count()).group_by(Attempt.disposition)
        ).all()
    site.sim.stop()
    site.engine.dispose()
    dispositions = {d: n for d, n in recorded if d is not None}
    return [
        zero(s, "forged dispositions accepted (of 5)", len(accepted)),
        zero(s, "forgeries refused for another reason than expected", len(wrong)),
        info(s, "refusals", ", ".join(f"{k}: {v}" for k, v in got.items())),
        zero(s, "numbers put on the do-not-call list", int(dnc)),
        Check(
            s,
            "dispositions recorded",
            "completed: 1",
            _fmt(dispositions),
            dispositions == {"completed": 1},
        ),
        info(s, "dial rate before the flood", f"{before:.1f}/s"),
        Check(
            s,
            "dial rate during the flood",
            f">= {0.9 * before:.1f}/s",
            f"{during:.1f}/s",
            during >= 0.9 * before,
        ),
        Check(s, "RSS growth during the flood", "< 20 MB", f"{rss_growth:.1f} MB", rss_growth < 20),
        info(s, "idle connections opened", opened),
        info(
            s,
            "bytes of the 300 MB line sent before the daemon closed it",
            f"{line_sent[0] / 1024:.0f} KiB",
        ),
        Check(
            s,
            "daemon running, FastAGI answering after the flood",
            "yes",
            "yes" if alive and still_answers else "no",
            alive and still_answers,
        ),
    ]


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"


@contextmanager
def _flood(port: int, pid: int) -> Iterator[tuple[list[int], list[int], list[socket.socket]]]:
    """1,000 idle connections and a 300 MB line, held while the caller waits; yields the
    line's bytes sent, the daemon's RSS samples (KiB) and the idle connections opened."""
    stop = threading.Event()
    sent = [0]
    peak: list[int] = []
    idle: list[socket.socket] = []

    def long_line() -> None:
        chunk = b"x" * (1024 * 1024)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
                while sent[0] < LINE_BYTES and not stop.is_set():
                    sock.sendall(chunk)
                    sent[0] += len(chunk)
        except OSError:
            pass  # closed by the daemon: what a bounded line does

    sampler = threading.Thread(target=_sample_rss, args=(pid, peak, stop), daemon=True)
    sampler.start()
    liner = threading.Thread(target=long_line, daemon=True)
    liner.start()
    for _ in range(IDLE_CONNECTIONS):
        try:
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S))
        except OSError:
            break
    try:
        yield sent, peak, idle
    finally:
        stop.set()
        liner.join(TIMEOUT_S)
        sampler.join(TIMEOUT_S)
        for sock in idle:
            sock.close()


def _sample_rss(pid: int, into: list[int], stop: threading.Event) -> None:
    while not stop.wait(0.25):
        into.append(_rss_kib(pid))


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _rate(site: Site, start: float, end: float) -> float:
    ats = [o["at"] for o in Truth.read(site.root).originates]
    return sum(1 for at in ats if start <= at < end) / (end - start)


def _first_dial(site: Site) -> float:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        originates = Truth.read(site.root).originates
        if originates:
            return float(originates[0]["at"])
        time.sleep(0.1)
    raise RuntimeError("the daemon did not dial")


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * IDLE_CONNECTIONS))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
