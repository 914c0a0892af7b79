"""The masking helper: URL passwords in any text, secret settings, nested values."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from dialerd.logconfig import configure_logging, get_logger
from dialerd.redact import redact, redact_text
from dialerd.settings import LogSettings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://user:pw@host/db", "postgresql://user:***@host/db"),
        ("postgresql+psycopg://u:p%40ss@h:5432/d", "postgresql+psycopg://u:***@h:5432/d"),
        ("postgresql://u:p@ss@host/db", "postgresql://u:***@host/db"),  # an unencoded @
        ("failed: amqp://guest:guest@mq:5672/ now", "failed: amqp://guest:***@mq:5672/ now"),
        ("pg://u@h/db?password=pw&sslmode=require", "pg://u@h/db?password=***&sslmode=require"),
        ("{'url': 'pg://u:pw@h/db', 'mail': 'a@b'}", "{'url': 'pg://u:***@h/db', 'mail': 'a@b'}"),
        # nothing secret: unchanged
        ("sqlite:///var/lib/dialerd/dialerd.db", "sqlite:///var/lib/dialerd/dialerd.db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("see http://host:8080/x for it", "see http://host:8080/x for it"),
        ("ops@example.com", "ops@example.com"),
    ],
)  # fmt: skip
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_redact_values() -> None:
    value = {"a": ["x://u:p@h", ("y://u:q@h", 3)], "s": SecretStr("v"), "e": SecretStr("")}
    assert redact(value) == {"a": ["x://u:***@h", ("y://u:***@h", 3)], "s": "***", "e": ""}


@pytest.fixture
def _restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("_restore_root")
@pytest.mark.parametrize("fmt", ["json", "console"])
def test_logs_mask_urls_in_fields_messages_and_tracebacks(fmt: str) -> None:
    out = io.StringIO()
    configure_logging(LogSettings(format=fmt), stream=out)
    try:
        raise RuntimeError("cannot reach postgresql://u:pw-in-exception@h/db")
    except RuntimeError:
        get_logger("t").exception("db_failed", url="postgresql://u:pw-in-field@h/db")
    logging.getLogger("sqlalchemy.pool").warning("lost postgresql://u:pw-in-stdlib@h/db")
    text = out.getvalue()
    assert "pw-in" not in text
    assert text.count("postgresql://u:***@h/db") >= 3  # console tracebacks quote the source
    if fmt == "json":
        first = json.loads(text.splitlines()[0])
        assert first["url"] == "postgresql://u:***@h/db"
