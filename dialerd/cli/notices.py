"""``dialerd status``'s holiday-notice warnings, kept between runs in the user's cache folder.

Working a warning out validates the stored campaign file and builds the holiday
country's tables (the ``holidays`` package imports its ~250 country modules to load
one): most of a ``status`` run. Its answer depends only on the stored file, the
years the day looks at (this year and the year ``HORIZON_DAYS`` ahead: see
``domain.calendar.unannounced_years``), the installed ``holidays`` data and
dialerd's campaign-file code, so it is kept in
``$XDG_CACHE_HOME/dialerd/holiday-notices.json`` (``~/.cache`` without it) under a
key naming all four, from one day to the next; a key that no longer matches is
worked out again. A cache that cannot be read or written is no error: the warning
is worked out.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib.util import find_spec
from pathlib import Path

import dialerd

FILE_NAME = "holiday-notices.json"
#: ``unannounced_years``' default horizon (tests/unit/test_notices.py keeps them equal)
HORIZON_DAYS = 366


def period(now: datetime) -> str:
    """What of the day a warning depends on: this year and the year ``HORIZON_DAYS`` on."""
    return f"{now.year}-{(now.date() + timedelta(days=HORIZON_DAYS)).year}"


def cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dialerd" / FILE_NAME


def code_stamp() -> str:
    """Size and time of each file a warning depends on: ``holidays`` data, our file code."""
    files = [Path(dialerd.__file__).parent / "domain" / "calendar.py"]
    files += sorted((Path(dialerd.__file__).parent / "campaignfile").glob("*.py"))
    spec = find_spec("holidays")  # finds the package without importing it
    if spec is not None and spec.origin is not None:
        files.append(Path(spec.origin).parent / "version.py")
    parts = []
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            continue
        parts.append(f"{file}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class NoticeCache:
    """Warnings by (stored file, day), for one code stamp; ``save`` writes what was added."""

    def __init__(self, path: Path, *, now: datetime, work_out: Callable[..., str]) -> None:
        self.path, self.now, self.work_out = path, now, work_out
        self.stamp = code_stamp()
        self.entries: dict[str, str] = {}
        self.added = False
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and doc.get("stamp") == self.stamp:
                found = doc.get("entries")
                if isinstance(found, dict):
                    self.entries = {k: v for k, v in found.items() if isinstance(v, str)}
        except (OSError, ValueError):
            pass

    def notice(self, config: dict[str, object]) -> str:
        """The warning for one stored campaign file, today (see ``overview.holiday_notice``)."""
        text = json.dumps(config, sort_keys=True, ensure_ascii=False, default=str)
        key = f"{hashlib.sha256(text.encode()).hexdigest()}:{period(self.now)}"
        if key not in self.entries:
            self.entries[key] = self.work_out(config, now=self.now)
            self.added = True
        return self.entries[key]

    def save(self) -> None:
        """Write the entries (this period's only) when some were added; failures are ignored."""
        if not self.added:
            return
        current = ":" + period(self.now)
        kept = {k: v for k, v in self.entries.items() if k.endswith(current)}
        doc = json.dumps({"stamp": self.stamp, "entries": kept}, ensure_ascii=False)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(f".{FILE_NAME}.{os.getpid()}")
            partial.write_text(doc, encoding="utf-8")
            partial.replace(self.path)
        except OSError:
            pass
