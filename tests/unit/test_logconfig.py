"""Logging: JSON lines off a terminal, numbers masked, no local variables in tracebacks."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from dialerd.logconfig import configure_logging, get_logger, mask_number
from dialerd.settings import LogSettings


@pytest.fixture(autouse=True)
def _restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_call_fields_and_mask_numbers() -> None:
    out = io.StringIO()
    configure_logging(LogSettings(format="auto"), stream=out)  # not a TTY: JSON
    get_logger("t").info(
        "call_originated", campaign="c1", contact_id=7, attempt_id=9, number="+8613800138000"
    )
    (line,) = _lines(out)
    assert line["event"] == "call_originated"
    assert (line["campaign"], line["contact_id"], line["attempt_id"]) == ("c1", 7, 9)
    assert line["number"] == "+86138****8000"


def test_masking_can_be_turned_off() -> None:
    out = io.StringIO()
    configure_logging(LogSettings(format="json", mask_numbers=False), stream=out)
    get_logger("t").info("call_originated", number="+8613800138000")
    assert _lines(out)[0]["number"] == "+8613800138000"
    configure_logging(LogSettings(format="json"), stream=io.StringIO())  # back to the default


def test_tracebacks_never_show_local_variables() -> None:
    out = io.StringIO()
    configure_logging(LogSettings(format="json"), stream=out)
    secret = "ami-secret-value"  # noqa: F841 - a local the traceback must not show
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        get_logger("t").exception("failed")
    assert "ami-secret-value" not in out.getvalue()
    assert "boom" in out.getvalue()


def test_console_format_and_level() -> None:
    out = io.StringIO()
    configure_logging(LogSettings(format="console", level="warning"), stream=out)
    get_logger("t").info("hidden")
    get_logger("t").warning("shown", campaign="c1")
    text = out.getvalue()
    assert "hidden" not in text and "shown" in text and "campaign=c1" in text
    assert not text.lstrip().startswith("{")


def test_mask_number_keeps_numbers_apart() -> None:
    assert mask_number("PJSIP/8613800138000@carrier") == "PJSIP/86138****8000@carrier"
    assert mask_number("+8613800138000") != mask_number("+8613900139000")
