"""The hostile-input scenario: files and databases a daemon's operators may hand the CLI.

Each input goes through the real ``dialerd`` command in a child process, on SQLite
and on PostgreSQL: contact lists (a field over 131,072 bytes, a NUL byte, an
unclosed quote, a GBK row in a UTF-8 file, a UTF-8 BOM in front of GBK), one
do-not-call file (NUL bytes, an oversized field, a GBK row, a prefix without its
``*``), campaign files (over 1 MiB, contact lists outside the folder, a
``min_spacing`` of 0 s) and a database that is unreachable or not migrated.
Each must be named as ``path:line: field: message`` (a contact list's refusals
go to its rejects file, with those columns), lose no valid row, and print no
traceback.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.rel_report import Check, info, zero
from tests.pgcluster import Cluster

GOOD_ROWS = 100
BOM_GBK = "external_id,name,phone1\nB1,张三,13700137001\nB2,李四,１３８号\nB3,王五,13700137003\n"
CAMPAIGN = """\
name = "hostile"
contacts = ["seed.csv"]
timezone = "Asia/Shanghai"
holidays = {{ closed = [] }}
{extra}
[dialing]
max_rounds = 3
min_spacing = "{spacing}"
ring_timeout = "30s"
channel = "PJSIP/{{number}}@carrier"
caller_id = "4006589888"
answered = {{ application = "Wait", data = "1" }}

[[windows]]
days = "daily"
start = "00:00"
end = "24:00"
"""


Done = subprocess.CompletedProcess[str]


@dataclass
class Result:
    """One hostile input: its messages, rows it should have kept and did not, traceback."""

    case: str
    named: bool  # the refusal named as path:line: field: message (or one clear line)
    lost: int
    traceback: bool
    detail: str


class Cli:
    """The ``dialerd`` command with one settings file."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.folder = root / "campaigns"
        self.folder.mkdir(exist_ok=True)
        self.config = root / "dialerd.toml"
        self.config.write_text(
            f'instance_id = "h"\ncampaigns_dir = "{self.folder}"\n[database]\nurl = "{url}"\n'
        )

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIALERD_")}
        return subprocess.run(
            [sys.executable, "-m", "dialerd", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            errors="replace",
            env=env,
            cwd=self.root,
            timeout=600,
        )


def _good(case: int, first: int, count: int) -> str:
    return "".join(f"G{case}-{i},n{i},1{case + 30}{i:08d}\n" for i in range(first, first + count))


def _contact_files(case: int, bad: bytes) -> bytes:
    head = "external_id,name,phone1\n" + _good(case, 0, GOOD_ROWS)
    return head.encode() + bad + _good(case, GOOD_ROWS, GOOD_ROWS).encode()


# name -> (file bytes, line of the bad row, its field in the rejects file, valid rows)
def contact_cases() -> dict[str, tuple[bytes, int, str, int]]:
    bad_line = GOOD_ROWS + 2
    # past the 64 KiB the encoding is guessed from: the file is UTF-8, one row is not
    mixed = "external_id,name,phone1\nU1,张三,13600136000\n" + _good(5, 0, 3000)
    return {
        "contact field over 131,072 bytes": (
            _contact_files(1, b"H1," + b"x" * 140_000 + b",13900139000\n"),
            bad_line,
            "name",
            2 * GOOD_ROWS,
        ),
        "NUL byte in a contact field": (
            _contact_files(2, b"H2,Zh\x00ang,13900139001\n"),
            bad_line,
            "name",
            2 * GOOD_ROWS,
        ),
        "unclosed quote in a contact row": (
            _contact_files(3, b'H3,"Zhang,13900139002\n'),
            bad_line,
            "row",
            2 * GOOD_ROWS,
        ),
        "GBK row in a UTF-8 contact list": (
            mixed.encode() + "H5,李四,13900139003\n".encode("gbk") + _good(6, 0, 10).encode(),
            3003,
            "encoding",
            3011,
        ),
        "UTF-8 BOM in front of a GBK contact list": (
            b"\xef\xbb\xbf" + BOM_GBK.encode("gbk"),
            3,
            "phone1",
            2,
        ),
    }


def import_contacts(cli: Cli) -> list[Result]:
    results = []
    for n, (case, (data, line, field, valid)) in enumerate(contact_cases().items()):
        path = cli.root / f"list{n}.csv"
        path.write_bytes(data)
        done = cli("import", "hostile", str(path), "--json")
        output = done.stdout + done.stderr
        loaded = json.loads(done.stdout)["loaded"] if done.returncode == 0 else 0
        rejects = _rejects(path.with_suffix(".rejects.csv"))
        named = [f"{path}:{r['line']}: {r['field']}: {r['reason']}" for r in rejects]
        ok = any(r["line"] == str(line) and r["field"] == field for r in rejects)
        results.append(
            Result(case, ok, valid - loaded, "Traceback" in output, "; ".join(named)[:160])
        )
    return results


def _rejects(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def import_dnc(cli: Cli) -> list[Result]:
    path = cli.root / "dnc.csv"
    rows = [
        b"number,contact,reason\n",
        b"13900139000,,a\n",
        b",c\x00x,nul in a contact\n",
        b"13700137000,,nul in a reason\x00\n",
        b"13600136000,," + b"r" * 140_000 + b"\n",
        "13500135000,,投诉\n".encode("gbk"),
        b"13400134000,,ok\n",
    ]
    path.write_bytes(b"".join(rows))
    prefix = cli.root / "prefix.csv"
    prefix.write_text("prefix,reason\n86755,no star\n+86756*,ok\n", encoding="utf-8")
    results = []
    for file, bad, valid in ((path, [3, 4, 5, 6], 2), (prefix, [2], 1)):
        done = cli("dnc", "import", str(file))
        errors = done.stderr.splitlines()
        pattern = re.compile(rf"^{re.escape(str(file))}:(\d+): [\w.]+: .+")
        lines = [int(m[1]) for e in errors if (m := pattern.match(e))]
        added = re.search(r"(\d+) added", done.stdout)
        lost = valid - (int(added[1]) if added else 0)
        case = (
            "do-not-call rows: NUL bytes, oversized, GBK"
            if file == path
            else ("do-not-call prefix without its *")
        )
        results.append(
            Result(
                case,
                lines == bad,
                lost,
                "Traceback" in done.stdout + done.stderr,
                " | ".join(errors)[:160],
            )
        )
    return results


def campaign_files(cli: Cli) -> list[Result]:
    cases: dict[str, tuple[str, str]] = {
        "campaign file over 1 MiB": (
            CAMPAIGN.format(extra="", spacing="30m") + "# " + "x" * 1_100_000 + "\n",
            "file",
        ),
        "contact list ../../etc/passwd": (
            CAMPAIGN.format(extra="", spacing="30m").replace("seed.csv", "../../etc/passwd"),
            "contacts",
        ),
        "contact list /etc/shadow": (
            CAMPAIGN.format(extra="", spacing="30m").replace("seed.csv", "/etc/shadow"),
            "contacts",
        ),
        'min_spacing = "0s"': (CAMPAIGN.format(extra="", spacing="0s"), "dialing.min_spacing"),
    }
    results = []
    for n, (case, (text, field)) in enumerate(cases.items()):
        path = cli.root / f"bad{n}.toml"
        path.write_text(text, encoding="utf-8")
        done = cli("campaign", "validate", str(path))
        output = done.stdout + done.stderr
        pattern = re.compile(rf"^{re.escape(str(path))}:\d+: {re.escape(field)}[\w.\[\]]*: .+")
        found = [line for line in output.splitlines() if pattern.match(line)]
        results.append(
            Result(
                case,
                bool(found) and done.returncode == 1,
                0,
                "Traceback" in output,
                (found or output.splitlines() or [""])[0][:160],
            )
        )
    return results


def databases(root: Path, pg_url: str | None) -> list[Result]:
    """An unreachable database (status --json must print one JSON object) and an empty one."""
    results = []
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=3"
    checks: list[tuple[str, str, tuple[str, ...], Callable[[Done], bool]]] = [
        ("status --json, database unreachable", unreachable, ("status", "--json"), _json_error),
        ("status, database not migrated", f"sqlite:///{root / 'empty.db'}", ("status",), _one),
        ("import, database unreachable", unreachable, ("import", "x", str(root / "x.csv")), _one),
    ]
    if pg_url is not None:
        checks.append(("status, PostgreSQL not migrated", pg_url, ("status",), _one))
    (root / "x.csv").write_text("external_id,phone1\n")
    for case, url, args, good in checks:
        done = Cli(root / "db", url)(*args)
        output = (done.stdout + done.stderr).strip()
        results.append(
            Result(
                case, good(done) and done.returncode != 0, 0, "Traceback" in output, output[:160]
            )
        )
    return results


def _json_error(done: Done) -> bool:
    """stdout: one JSON object naming the error (what monitoring parses)."""
    try:
        return "error" in json.loads(done.stdout) and _one(done)
    except ValueError:
        return False


def _one(done: Done) -> bool:
    """stderr: one line."""
    err = done.stderr.strip()
    return len(err.splitlines()) == 1 and err.startswith("dialerd: ")


def hostile_inputs(root: Path, cluster: Cluster | None) -> list[Check]:
    backends = [("SQLite", f"sqlite:///{root / 'sqlite' / 'dialerd.db'}", root / "sqlite")]
    if cluster is not None:
        backends.append(("PostgreSQL", cluster.create_database("rel_inputs"), root / "pg"))
    checks: list[Check] = []
    for backend, url, folder in backends:
        cli = Cli(folder, url)
        (cli.folder / "seed.csv").write_text("external_id,phone1\nS1,13800138000\n")
        (cli.folder / "hostile.toml").write_text(CAMPAIGN.format(extra="", spacing="30m"))
        for step in (("db", "upgrade"), ("campaign", "load", str(cli.folder / "hostile.toml"))):
            done = cli(*step)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(step)}: {done.stdout}{done.stderr}")
        results = import_contacts(cli) + import_dnc(cli)
        checks += _summarise(f"hostile contact and do-not-call files, {backend}", results)
    pg_empty = cluster.create_database("rel_inputs_empty") if cluster is not None else None
    more = campaign_files(Cli(root / "files", f"sqlite:///{root / 'files.db'}"))
    more += databases(root, pg_empty)
    checks += _summarise("hostile campaign files and databases", more)
    return checks


def _summarise(scenario: str, results: list[Result]) -> list[Check]:
    for r in results:
        mark = "ok " if r.named and not r.lost and not r.traceback else "BAD"
        print(f"  {mark} {scenario}: {r.case}: {r.detail}", flush=True)
    return [
        info(scenario, "hostile inputs", len(results)),
        zero(
            scenario,
            "not named as path:line: field: message (database: one line)",
            sum(not r.named for r in results),
        ),
        zero(scenario, "valid rows lost", sum(r.lost for r in results)),
        zero(scenario, "tracebacks printed", sum(r.traceback for r in results)),
    ]
