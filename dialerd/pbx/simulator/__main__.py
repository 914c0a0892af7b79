"""``python -m dialerd.pbx.simulator --port 5038``: run the AMI simulator until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from dialerd.pbx.scenario import load_rules
from dialerd.pbx.simulator.queue import QueueScript
from dialerd.pbx.simulator.scenario import Scenario
from dialerd.pbx.simulator.server import DEFAULT_SECRET, AmiSimulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dialerd.pbx.simulator",
        description="AMI server that answers like the recorded Asterisk 22 "
        "(outcome by the number's last digit, see dialerd/pbx/transcripts/README.md).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--username", default="dialerd")
    parser.add_argument("--secret", default=DEFAULT_SECRET)
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="1 = recorded timing, 0 = as fast as possible"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--scenario",
        type=Path,
        default=None,
        help="callee behaviour by number pattern and probability (TOML, see dialerd.pbx.scenario)",
    )
    parser.add_argument(
        "--cdr-csv",
        type=Path,
        default=None,
        help="append each ended call's records here, as Asterisk's cdr_csv (Master.csv)",
    )
    team = parser.add_argument_group("a simulated team of agents (app_queue)")
    team.add_argument("--agents", type=int, default=0, help="team size (0: no queue)")
    team.add_argument("--queue", default="callback-team")
    team.add_argument("--queue-context", default="dialerd-queue", help="answered calls join")
    team.add_argument("--talk-s", type=float, default=30.0, help="mean talk time (log-normal)")
    team.add_argument("--wrapup-s", type=float, default=5.0, help="wrap-up after each call")
    team.add_argument("--queue-timeout-s", type=float, default=2.0, help="= abandon_after")
    return parser


def _team(args: argparse.Namespace) -> list[QueueScript]:
    if args.agents <= 0:
        return []
    return [
        QueueScript(
            name=args.queue,
            agents=args.agents,
            context=args.queue_context,
            timeout_s=args.queue_timeout_s,
            talk_s=args.talk_s,
            talk_sigma=0.5,
            wrapup_s=args.wrapup_s,
            seed=args.seed,
        )
    ]


def _scenario(args: argparse.Namespace) -> Scenario:
    if args.scenario is None:
        return Scenario(seed=args.seed)
    rules, seed = load_rules(args.scenario)
    return Scenario(rules=rules, seed=args.seed if args.seed is not None else seed)


async def _serve(args: argparse.Namespace) -> None:
    sim = AmiSimulator(
        host=args.host,
        port=args.port,
        username=args.username,
        secret=args.secret,
        scenario=_scenario(args),
        time_scale=args.time_scale,
        cdr_csv=args.cdr_csv,
        queues=_team(args),
    )
    host, port = await sim.start()
    sys.stderr.write(f"AMI simulator listening on {host}:{port}\n")
    try:
        await asyncio.Event().wait()
    finally:
        await sim.aclose()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
