"""structlog setup: JSON lines for journald, readable lines on a terminal.

Event names are stable snake_case (``call_originated``); details go in fields.
Phone numbers are masked by ``mask_number`` unless ``log.mask_numbers`` is off;
URL passwords are always masked (``dialerd.redact``), tracebacks included, and
tracebacks never carry local variables (they could hold the AMI secret).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

from dialerd.redact import redact
from dialerd.settings import LogSettings

_NUMBER_KEYS = frozenset({"number", "e164", "phone", "caller_id", "channel", "raw_number"})
_DIGITS = re.compile(r"\d{7,}")
_MASK = {"enabled": True}


def mask_number(value: str) -> str:
    """``+8613800138000`` → ``+86138****8000``: enough to tell numbers apart, not to dial."""
    return _DIGITS.sub(
        lambda m: (
            m.group()[:5] + "*" * (len(m.group()) - 9) + m.group()[-4:]
            if len(m.group()) > 9
            else m.group()[:3] + "****"
        ),
        value,
    )


def _mask_processor(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    if _MASK["enabled"]:
        for key in _NUMBER_KEYS.intersection(event):
            if isinstance(event[key], str):
                event[key] = mask_number(event[key])
    return event


def _redact_processor(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """Last before rendering, so exception text and foreign log messages are covered too."""
    return {key: redact(value) for key, value in event.items()}


def configure_logging(settings: LogSettings, stream: Any = None) -> None:
    """Route structlog and stdlib logging (APScheduler, SQLAlchemy, pyst2) to one handler."""
    stream = stream or sys.stderr
    _MASK["enabled"] = settings.mask_numbers
    as_json = settings.format == "json" or (
        settings.format == "auto" and not getattr(stream, "isatty", lambda: False)()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_processor,
    ]
    structlog.configure(
        # events below the level are dropped before any processor runs (stdlib would drop
        # them after: a call_result line per dial built for nothing at the default level)
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    renderer: Any
    if as_json:
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
        final = [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            _redact_processor,
            renderer,
        ]
    else:
        final = [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact_processor,
            structlog.dev.ConsoleRenderer(colors=False),
        ]
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level.upper())
    for noisy in ("apscheduler", "sqlalchemy.engine", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
