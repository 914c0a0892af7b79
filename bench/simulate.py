"""`dialerd simulate` on a large campaign: 100,000 contacts, 4 rounds, the typical callee mix.

Run from the repository root::

    .venv/bin/python -m bench.simulate                     # 100,000 contacts
    .venv/bin/python -m bench.simulate --contacts 10000

Writes a campaign (4 rounds 6 h apart, mon-sat 09:00-21:00, 500 channels, 100
dials/s) and its list (one mobile per contact) to a temporary folder, then runs
``dialerd simulate --start 2026-11-23`` on it in a child process into a fresh
SQLite file, as an operator would. Reported: dials; the simulation's own wall and
CPU time (the command's "simulated in" line: import, dispatch and results, from
the first dial to the last) and its dials per second; and the whole command's
wall and CPU time (start-up and the printed report included).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PREFIXES = ("135", "136", "138", "139", "150", "158", "186", "189", "180", "181", "131", "133")
CAMPAIGN = """name = "bench-simulate"
contacts = ["list.csv"]
region = "CN"
timezone = "Asia/Shanghai"
holidays = {{ country = "CN" }}

[dialing]
max_rounds = 4
min_spacing = "6h"
ring_timeout = "30s"
max_concurrent = {channels}
calls_per_second = {rate}
channel = "PJSIP/{{number}}@carrier"
caller_id = "4006589888"
answered = {{ context = "dialerd-answered", exten = "s" }}

[[windows]]
days = "mon-sat"
start = "09:00"
end = "21:00"
"""


def write_campaign(folder: Path, contacts: int, channels: int, rate: int) -> Path:
    rng = random.Random(7)
    numbers: set[str] = set()
    while len(numbers) < contacts:
        numbers.add(rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}")
    with (folder / "list.csv").open("w", encoding="utf-8") as out:
        out.write("external_id,name,phone1\n")
        for i, number in enumerate(sorted(numbers)):
            out.write(f"B{i:07d},张三,{number}\n")
    path = folder / "bench.toml"
    path.write_text(CAMPAIGN.format(channels=channels, rate=rate), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--rate", type=int, default=100, help="calls_per_second")
    parser.add_argument(
        "--plan", type=Path, help="write the printed plan here (timings left out) to compare runs"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dialerd-bench-simulate-") as tmp:
        folder = Path(tmp)
        campaign = write_campaign(folder, args.contacts, args.channels, args.rate)
        url = f"sqlite:///{folder / 'sim.db'}"
        command = [sys.executable, "-m", "dialerd", "simulate", str(campaign)]
        command += ["--start", "2026-11-23", "--database", url]
        started = time.perf_counter()
        child = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        out, err = child.communicate()
        wall = time.perf_counter() - started
        if child.returncode != 0:
            sys.exit(f"simulate failed ({child.returncode}):\n{err}")
    if args.plan is not None:
        timings = re.compile(r"simulated in [\d.]+ s \([\d.]+ s CPU|, generated \d{4}-")
        args.plan.write_text(
            "".join(line for line in out.splitlines(True) if not timings.search(line)),
            encoding="utf-8",
        )
    times = os.times()  # the child was waited for: its CPU time is in
    cpu = f"{times.children_user + times.children_system:.1f} s"
    first = out.splitlines()[0]
    dials = int(re.search(r": (\d+) dials", first).group(1))  # type: ignore[union-attr]
    loop = re.search(r"simulated in ([\d.]+) s \(([\d.]+) s CPU", out)
    assert loop is not None, out[-500:]
    sim_wall, sim_cpu = float(loop.group(1)), float(loop.group(2))
    print(first)
    print()
    print("| contacts | dials | simulation (CPU) | dials/s | whole command (CPU) |")
    print("|---|---|---|---|---|")
    print(
        f"| {args.contacts:,} | {dials:,} | {sim_wall:.1f} s ({sim_cpu:.1f} s) "
        f"| {dials / sim_wall:,.0f} | {wall:.1f} s ({cpu}) |"
    )


if __name__ == "__main__":
    main()
