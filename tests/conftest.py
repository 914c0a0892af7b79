"""Shared fixtures: clean environment, database URLs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine

from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from tests.pgcluster import Cluster, start_cluster

REPO = Path(__file__).resolve().parent.parent
# Property tests judge results, never speed: no per-example deadline, no "too slow" health
# check, so a busy CPU cannot fail them.
settings.register_profile("dialerd", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("dialerd")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ambient DIALERD_* settings or systemd variables leak into a test; nor the
    user's cache folder (`dialerd status` keeps its holiday notices there)."""
    for name in list(os.environ):
        if name.startswith("DIALERD_") or name in {"STATE_DIRECTORY", "NOTIFY_SOCKET"}:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()
    if cluster is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run installs it")
        pytest.skip("PostgreSQL is not installed")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend (no schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dialerd.db'}"
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield cluster.create_database(name)
    cluster.drop_database(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database on each backend."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()
