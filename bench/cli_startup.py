"""Start-up of the light CLI verbs: ``--help``, ``status``, ``dnc add``, ``campaign pause|resume``.

Run from the repository root::

    .venv/bin/python -m bench.cli_startup              # 15 runs of each
    .venv/bin/python -m bench.cli_startup --runs 31
    .venv/bin/python -m bench.cli_startup --tree /tmp/old   # another checkout's dialerd
    .venv/bin/python -m bench.cli_startup --before /tmp/old # both, interleaved run by run
    .venv/bin/python -m bench.cli_startup --before /tmp/old --instructions  # callgrind counts

Each command runs in a child process (``python -m dialerd ...``), as an operator
runs it. Two figures per verb:

- *start-up*: ``dialerd VERB --help``, which imports the CLI and resolves the
  verb (its module included) and runs nothing;
- *run*: the verb itself against a fresh SQLite file holding the demo campaign
  (``dnc add`` adds a new number each time, ``pause`` and ``resume`` alternate).

Reported: the median and the fastest wall time of ``--runs`` runs, and the
``-X importtime`` total (the sum of every module's own import time, the smallest
of five) of one start-up and one run. A busy machine inflates wall times more than
import times. ``--tree`` puts another checkout's ``dialerd`` first on the path;
``--before`` runs another checkout's too, alternating with this one run by run (each
on its own database), so both see the same load: a row for each.

``status`` keeps its holiday-notice warnings in the user's cache folder
(``dialerd.cli.notices``): each tree gets a fresh ``XDG_CACHE_HOME``, filled by the
one ``status`` run that prepares its database, so the runs timed read it as an
operator's do after the first of the day. The load average is printed before and after.

``--instructions`` counts each verb's run instead (``valgrind --tool=callgrind``, one
run each, the trees alternating): a busy machine does not change the count, and
``status`` is counted a second time with the cache emptied (the day's first run).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "campaigns" / "demo" / "demo.toml"

CALLGRIND = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
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
    env["XDG_CACHE_HOME"] = str(database.with_suffix(".cache"))
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


def _prepare(env: dict[str, str]) -> None:
    for args in (["db", "upgrade"], ["campaign", "load", str(DEMO)], ["status"]):
        done = _dialerd(args, env)
        if done.returncode not in (0, 3):
            raise SystemExit(f"dialerd {' '.join(args)} failed:\n{done.stderr}")


def instructions(args: Sequence[str], env: dict[str, str]) -> float:
    """Instructions of one run of ``dialerd ARGS``, in G (callgrind's "Collected")."""
    done = subprocess.run(
        [*CALLGRIND, sys.executable, "-m", "dialerd", *args],
        env=env,
        cwd=env.get("PYTHONPATH", REPO),
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode not in (0, 3) or found is None:
        raise SystemExit(f"dialerd {' '.join(args)} under callgrind failed:\n{done.stderr}")
    return int(found.group(1)) / 1e9


def _count(envs: dict[str, dict[str, str]]) -> None:
    print("| verb | " + " | ".join(label or "instructions" for label in envs) + " |")
    print("|---|" + "---|" * len(envs))
    for serial, (name, (_, run_args)) in enumerate(VERBS.items(), start=100_000):
        counts = [instructions(run_args(serial), env) for env in envs.values()]
        print(f"| `{name}` | " + " | ".join(f"{g:.2f} G" for g in counts) + " |", flush=True)
    counts = []
    for env in envs.values():
        shutil.rmtree(env["XDG_CACHE_HOME"], ignore_errors=True)
        counts.append(instructions(["status"], env))
    print("| `status`, the day's first | " + " | ".join(f"{g:.2f} G" for g in counts) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tree", type=Path, help="Put this checkout's dialerd first on the path.")
    parser.add_argument(
        "--before", type=Path, help="Also run this checkout's dialerd, interleaved, as 'before'."
    )
    parser.add_argument(
        "--instructions", action="store_true", help="Count instructions (callgrind) instead."
    )
    opts = parser.parse_args()
    trees = {"before": opts.before, "after": opts.tree} if opts.before else {"": opts.tree}
    with tempfile.TemporaryDirectory() as tmp:
        envs = {label: _env(Path(tmp) / f"bench{label}.db", tree) for label, tree in trees.items()}
        for env in envs.values():
            _prepare(env)
        if opts.instructions:
            _count(envs)
            return
        print(f"load average {_load()}")
        print(
            f"{opts.runs} runs each; wall times in ms (median / fastest); import ms (smallest of 5)"
        )
        label_head = "tree | " if opts.before else ""
        print(f"| verb | {label_head}start-up | start-up imports | run | run imports |")
        print("|---|" + ("---|" if opts.before else "") + "---|---|---|---|")
        serial = 0
        for name, (path, run_args) in VERBS.items():
            help_args = [*path, "--help"]
            startup: dict[str, list[float]] = {label: [] for label in envs}
            runs: dict[str, list[float]] = {label: [] for label in envs}
            for _ in range(opts.runs):
                for label, env in envs.items():
                    startup[label].append(_timed(help_args, env))
            for _ in range(opts.runs):
                serial += 1
                for label, env in envs.items():
                    runs[label].append(_timed(run_args(serial), env))
            serial += 1
            for label, env in envs.items():
                cell = f"{label} | " if opts.before else ""
                imports = _import_ms(help_args, env), _import_ms(run_args(serial), env)
                print(
                    f"| `{name}` | {cell}{_ms(startup[label])} | {imports[0]:.0f} | "
                    f"{_ms(runs[label])} | {imports[1]:.0f} |",
                    flush=True,
                )
        print(f"load average {_load()}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _ms(times: Sequence[float]) -> str:
    return f"{statistics.median(times) * 1000:.0f} / {min(times) * 1000:.0f}"


if __name__ == "__main__":
    main()
