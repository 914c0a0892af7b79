"""Fresh databases for the benches: an SQLite file each, or a database in a throwaway PostgreSQL."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager


@contextmanager
def fresh_databases(backends: Sequence[str]) -> Iterator[Callable[[str, str], str]]:
    """``url(backend, name)`` makes a new empty database; the PostgreSQL cluster (started
    only when ``backends`` names it) is stopped on exit."""
    cluster = None
    if "postgresql" in backends:
        from tests.pgcluster import start_cluster

        cluster = start_cluster()

    def url(backend: str, name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tempfile.mkdtemp(prefix='dialerd-bench-')}/d.db"
        assert cluster is not None, "PostgreSQL is not installed"
        return cluster.create_database(name)

    try:
        yield url
    finally:
        if cluster is not None:
            cluster.stop()
