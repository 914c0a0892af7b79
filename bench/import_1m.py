"""Contact import of a 1,000,000-contact CSV, against a raw bulk load of the same rows.

Run from the repository root::

    .venv/bin/python -m bench.import_1m                  # SQLite and PostgreSQL
    .venv/bin/python -m bench.import_1m --contacts 100000 --backends sqlite

The CSV has 1-2 numbers per contact (mobiles in several spellings, one contact in
ten with a Shenzhen or Shanghai landline) and Chinese names, in UTF-8. For each
backend, in a fresh migrated database with one campaign:

* import: ``dialerd import CAMPAIGN FILE --json`` in a child process;
* raw: the same contact and number rows (same columns, ids, batches of 10,000)
  inserted by a child process with the plainest fast method, without reading the
  CSV or normalising anything: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

Wall time and peak RSS (``ru_maxrss`` of the child, from ``wait4``) are printed as
a Markdown table. PostgreSQL runs in a throwaway cluster (tests/pgcluster.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BATCH = 10_000
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
PREFIXES = tuple(
    [f"13{d}" for d in range(10)]
    + ["150", "151", "152", "153", "155", "156", "157", "158", "159", "147", "166", "177"]
    + [f"18{d}" for d in range(10)]
    + ["198", "199"]
)
CITIES = ("北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "西安")


def contact(i: int) -> tuple[str, str, list[str], list[str], str]:
    """(external id, name, raw numbers, their E.164 forms, city) of contact ``i``."""
    mobile = f"{PREFIXES[i % len(PREFIXES)]}{i:08d}"
    if i % 4 == 0:
        raw1 = f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}"
    elif i % 4 == 1:
        raw1 = f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    else:
        raw1 = mobile
    raws, e164s = [raw1], ["+86" + mobile]
    if i % 10 == 3:
        subscriber = 20_000_000 + i * 37
        raws.append(f"0755-{subscriber // 10_000:04d} {subscriber % 10_000:04d}")
        e164s.append(f"+86755{subscriber}")
    elif i % 2 == 1:
        second = f"{PREFIXES[(i + 5) % len(PREFIXES)]}{50_000_000 + i:08d}"
        raws.append(second)
        e164s.append("+86" + second)
    name = SURNAMES[i % len(SURNAMES)] + SURNAMES[(i // 20) % len(SURNAMES)] + str(i % 1000)
    return f"C{i:07d}", name, raws, e164s, CITIES[i % len(CITIES)]


def write_csv(path: Path, contacts: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("external_id,name,phone1,phone2,city\n")
        for i in range(contacts):
            ext, name, raws, _, city = contact(i)
            f.write(f"{ext},{name},{raws[0]},{raws[1] if len(raws) > 1 else ''},{city}\n")


# -- raw bulk load (child process) ---------------------------------------------------------
def raw_batches(contacts: int, campaign_id: int) -> Iterator[tuple[list[Any], list[Any]]]:
    now = NOW
    for start in range(0, contacts, BATCH):
        rows, numbers = [], []
        for i in range(start, min(start + BATCH, contacts)):
            ext, name, raws, e164s, city = contact(i)
            cid = i + 1
            data = json.dumps({"city": city}, ensure_ascii=False)
            rows.append(
                [cid, campaign_id, ext, name, None, None, 0, None, None, data, "active", 0, 0,
                 None, i + 2, now, now]
            )  # fmt: skip
            for pos, (raw, e164) in enumerate(zip(raws, e164s, strict=True), start=1):
                kind, carrier = (
                    ("mobile", "China Mobile") if e164[3] == "1" else ("fixed_line", None)
                )
                numbers.append(
                    [cid, campaign_id, pos, e164, raw, kind, carrier, False, "dialable", 0,
                     now if pos == 1 else None, False, 0, None]
                )  # fmt: skip
        yield rows, numbers


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def raw_load(url: str, contacts: int) -> float:
    """Insert the rows; returns the seconds spent in the database calls."""
    from dialerd.db.engine import make_engine
    from dialerd.importer.bulkload import CONTACT_COLUMNS, NUMBER_COLUMNS, sqlite_time

    engine = make_engine(url)
    raw = engine.raw_connection()
    conn: Any = raw.driver_connection
    spent = 0.0
    sqlite = engine.dialect.name == "sqlite"
    c_sql = _insert_sql("contacts", CONTACT_COLUMNS)
    n_sql = _insert_sql("phone_numbers", NUMBER_COLUMNS)
    for rows, numbers in raw_batches(contacts, campaign_id=1):
        if sqlite:
            for row in rows:
                row[15] = row[16] = sqlite_time(row[15])
            for row in numbers:
                row[10] = sqlite_time(row[10])
        began = time.perf_counter()
        if sqlite:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(c_sql, rows)
            conn.executemany(n_sql, numbers)
            conn.execute("COMMIT")
        else:
            with conn.cursor() as cur:
                with cur.copy(f"COPY contacts ({', '.join(CONTACT_COLUMNS)}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
                with cur.copy(f"COPY phone_numbers ({', '.join(NUMBER_COLUMNS)}) FROM STDIN") as cp:
                    for row in numbers:
                        cp.write_row(row)
            conn.commit()
        spent += time.perf_counter() - began
    if not sqlite:
        with conn.cursor() as cur:
            cur.execute("SELECT setval(pg_get_serial_sequence('contacts', 'id'), %s)", (contacts,))
        conn.commit()
    raw.close()
    engine.dispose()
    return spent


# -- parent ------------------------------------------------------------------------------
def prepare(url: str) -> None:
    """Migrate a fresh database and add the campaign ``bench``."""
    from sqlalchemy.orm import Session

    from dialerd.db.engine import make_engine
    from dialerd.db.migrate import upgrade
    from dialerd.db.models import Campaign

    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        session.add(
            Campaign(
                name="bench", description="", config={"region": "CN", "timezone": "Asia/Shanghai"},
                config_sha256="0" * 64, timezone="Asia/Shanghai", max_rounds=4,
                min_spacing_s=21600, created_at=NOW, updated_at=NOW,
            )
        )  # fmt: skip
    engine.dispose()


def count(url: str) -> tuple[int, int]:
    from sqlalchemy import text

    from dialerd.db.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        found = (
            conn.execute(text("SELECT COUNT(*) FROM contacts")).scalar_one(),
            conn.execute(text("SELECT COUNT(*) FROM phone_numbers")).scalar_one(),
        )
    engine.dispose()
    return found


def run_child(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MiB, stdout) of a child process."""
    began = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, cwd=REPO, env=env)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    if proc.returncode:
        raise SystemExit(f"{args} failed with status {proc.returncode}")
    return wall, usage.ru_maxrss // 1024, out


def measure(backend: str, url_for: Any, csv_path: Path, contacts: int) -> dict[str, Any]:
    python = sys.executable
    import_url, raw_url = url_for("import"), url_for("raw")
    prepare(import_url)
    env = {**os.environ, "DIALERD_DATABASE__URL": import_url}
    dialerd = [python, "-m", "dialerd", "import", "bench", str(csv_path), "--json"]
    wall, rss, out = run_child(dialerd, env)
    summary = json.loads(out)
    loaded = count(import_url)
    prepare(raw_url)
    raw_wall, raw_rss, raw_out = run_child(
        [python, "-m", "bench.import_1m", "--child-raw", raw_url, "--contacts", str(contacts)]
    )
    assert count(raw_url) == loaded, (count(raw_url), loaded)
    return {
        "backend": backend,
        "contacts": loaded[0],
        "numbers": loaded[1],
        "import_s": round(wall, 1),
        "import_rss_mib": rss,
        "raw_s": round(raw_wall, 1),
        "raw_db_s": round(float(raw_out), 1),
        "raw_rss_mib": raw_rss,
        "ratio": round(wall / raw_wall, 2),
        "rejected": summary["rejected"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--child-raw", metavar="URL")
    args = parser.parse_args()
    if args.child_raw:
        print(raw_load(args.child_raw, args.contacts))
        return
    sys.path.insert(0, str(REPO))
    results = []
    with tempfile.TemporaryDirectory(prefix="dialerd-bench-") as tmp:
        work = Path(tmp)
        csv_path = work / "contacts.csv"
        began = time.perf_counter()
        write_csv(csv_path, args.contacts)
        size = csv_path.stat().st_size / 2**20
        print(
            f"{args.contacts} contacts, {size:.0f} MiB CSV in {time.perf_counter() - began:.1f} s"
        )
        for backend in args.backends.split(","):
            if backend == "sqlite":
                results.append(
                    measure(backend, lambda n: f"sqlite:///{work / n}.db", csv_path, args.contacts)
                )
            else:
                from tests.pgcluster import start_cluster

                cluster = start_cluster()
                if cluster is None:
                    print("PostgreSQL is not installed: skipped")
                    continue
                try:
                    results.append(
                        measure(backend, cluster.create_database, csv_path, args.contacts)
                    )
                finally:
                    cluster.stop()
            print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    print()
    print(
        "| backend | contacts | numbers | import | peak RSS"
        " | raw load (DB calls) | raw peak RSS | import / raw |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['backend']} | {r['contacts']:,} | {r['numbers']:,} | {r['import_s']} s "
            f"| {r['import_rss_mib']} MiB | {r['raw_s']} s ({r['raw_db_s']} s) "
            f"| {r['raw_rss_mib']} MiB | {r['ratio']} |"
        )


if __name__ == "__main__":
    main()
