"""`dialerd run` when its SQLite file is deleted: a clear error, exit 70, the watchdog stops."""

from __future__ import annotations

import pytest

from tests.acceptance.test_service import site  # noqa: F401  (the fixture)
from tests.servicekit import Site

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]  # a daemon to start and see fail


def test_deleting_the_sqlite_file_stops_the_daemon(site: Site) -> None:  # noqa: F811
    site.write_campaign("alpha", 2)
    daemon = site.start()
    proc = daemon.proc
    ready = site.notify.wait_for("READY=1")
    site.notify.wait_for("WATCHDOG=1", after=ready)
    (site.root / "dialerd.db").unlink()
    assert proc.wait(timeout=60) == 70
    site.notify.sync()  # what it sent before it exited is read, not just sent
    messages = site.notify.messages
    failed = next(i for i, m in enumerate(messages) if m.startswith("STATUS=failed: "))
    # gone, or (when a connection reopened the path first) replaced by a new empty file
    assert any(
        f"the database file was {how}" in messages[failed] for how in ("deleted", "replaced")
    ), messages[failed]
    assert "WATCHDOG=1" not in messages[failed:]
    events = [e for e in site.events() if e["event"] == "daemon_failing"]
    assert len(events) == 1 and events[0]["worker"] == "database file"
    assert "Traceback" not in daemon.log.read_text()
