"""Start-up of the light CLI verbs: ``--help``, ``status``, ``dnc add``, ``campaign pause|resume``.

Run from the repository root::

    .venv/bin/python -m bench.cli_startup              # 15 runs of each
    .venv/bin/python -m bench.cli_startup --runs 31
    .venv/bin/python -m bench.cli_startup --tree /tmp/old   # another checkout's dialerd

Each command runs in a child process (``python -m dialerd ...``), as an operator
runs it. Two figures per verb:

- *start-up*: ``dialerd VERB --help``, which imports the CLI and resolves the
  verb (its module included) and runs nothing;
- *run*: the verb itself against a fresh SQLite file holding the demo campaign
  (``dnc add`` adds a new number each time, ``pause`` and ``resume`` alternate).

Reported: the median and the fastest wall time of ``--runs`` runs, and the
``-X importtime`` total (the sum of every module's own import time, the smallest
of five) of one start-up and one run. A busy machine inflates wall times more than
import times. ``--tree`` puts another checkout's ``dialerd`` first on the path to
compare a commit before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "campaigns" / "demo" / "demo.toml"

Args = Callable[[int], list[str]]
VERBS: dict[str, tuple[list[str], Args]] = {
    "--help": ([], lambda i: ["--help"]),
    "status": (["status"], lambda i: ["status"]),
    "dnc add": (["dnc", "add"], lambda i: ["dnc", "add", f"+86139{i:08d}", "--reason", "bench"]),
    "campaign pause": (["campaign", "pause"], lambda i: ["campaign", "pause", "demo"]),
    "campaign resume": (["campaign", "resume"], lambda i: ["campaign", "resume", "demo"]),
}


def _env(database: Path, tree: Path | None) -> dict[str, str]:
    env = dict(os.environ, DIALERD_DATABASE__URL=f"sqlite:///{database}")
    env.pop("DIALERD_CONFIG", None)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def _dialerd(
    args: Sequence[str], env: dict[str, str], *, importtime: bool = False
) -> subprocess.CompletedProcess[str]:
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *flags, "-m", "dialerd", *args],
        env=env,
        cwd=env.get("PYTHONPATH", REPO),  # `-m` puts the working folder first on the path
        capture_output=True,
        text=True,
        check=False,
    )


def _timed(args: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = _dialerd(args, env)
    took = time.perf_counter() - start
    if done.returncode not in (0, 3):  # 3: `status` found no daemon alive, as expected here
        raise SystemExit(f"dialerd {' '.join(args)} failed:\n{done.stderr}")
    return took


def import_total_ms(stderr: str) -> float:
    """The sum of the modules' own import times in ``-X importtime`` output, in ms."""
    total = 0
    for line in stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            total += int(line.removeprefix("import time:").split("|")[0])
    return total / 1000


def _import_ms(args: Sequence[str], env: dict[str, str]) -> float:
    """The smallest of five totals: other processes inflate them, never shrink them."""
    return min(import_total_ms(_dialerd(args, env, importtime=True).stderr) for _ in range(5))


def _prepare(database: Path, env: dict[str, str]) -> None:
    for args in (["db", "upgrade"], ["campaign", "load", str(DEMO)]):
        done = _dialerd(args, env)
        if done.returncode:
            raise SystemExit(f"dialerd {' '.join(args)} failed:\n{done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tree", type=Path, help="Put this checkout's dialerd first on the path.")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "bench.db"
        env = _env(database, opts.tree)
        _prepare(database, env)
        print(
            f"{opts.runs} runs each; wall times in ms (median / fastest); import ms (smallest of 5)"
        )
        print("| verb | start-up | start-up imports | run | run imports |")
        print("|---|---|---|---|---|")
        serial = 0
        for name, (path, run_args) in VERBS.items():
            help_args = [*path, "--help"]
            startup = [_timed(help_args, env) for _ in range(opts.runs)]
            runs = []
            for _ in range(opts.runs):
                serial += 1
                runs.append(_timed(run_args(serial), env))
            serial += 1
            print(
                f"| `{name}` | {_ms(startup)} | {_import_ms(help_args, env):.0f} | "
                f"{_ms(runs)} | {_import_ms(run_args(serial), env):.0f} |",
                flush=True,
            )


def _ms(times: Sequence[float]) -> str:
    return f"{statistics.median(times) * 1000:.0f} / {min(times) * 1000:.0f}"


if __name__ == "__main__":
    main()
