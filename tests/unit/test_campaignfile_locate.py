"""The TOML key locator: every key path maps to the line it is written on."""

from __future__ import annotations

from dialerd.campaignfile.locate import KeyLines

TEXT = """\
name = "x"  # a comment with [brackets] and = signs
description = \"\"\"two
lines with a # and a ]\"\"\"
contacts = [
  "a.csv",   # first
  'b.csv',
]
holidays = { country = "CN", closed = [2026-12-31], open = [] }
a.b."c d" = 1
[dialing]
answered = { context = "x", exten = "s" }
[ dialing . number_cap ]
count = 3
[[windows]]
days = "mon-fri"
[[windows]]
days = "sat"
[outcomes.busy]
treatment = "retry"
[outcomes."answering_machine"]
treatment = 'drop_number'
x = [{ a = 1 }, { a = 2, b = '[x' }]
"""


def test_top_level_keys_and_multiline_values() -> None:
    lines = KeyLines(TEXT)
    assert lines.line_of(("name",)) == 1
    assert lines.line_of(("description",)) == 2
    assert lines.line_of(("contacts",)) == 4
    assert lines.line_of(("contacts", 0)) == 5
    assert lines.line_of(("contacts", 1)) == 6


def test_inline_tables_and_dotted_keys() -> None:
    lines = KeyLines(TEXT)
    assert lines.line_of(("holidays", "closed", 0)) == 8
    assert lines.line_of(("a", "b", "c d")) == 9
    assert lines.line_of(("dialing", "answered", "exten")) == 11


def test_tables_and_arrays_of_tables_by_index() -> None:
    lines = KeyLines(TEXT)
    assert lines.line_of(("dialing", "number_cap")) == 12
    assert lines.line_of(("dialing", "number_cap", "count")) == 13
    assert lines.line_of(("windows", 0)) == 14
    assert lines.line_of(("windows", 1, "days")) == 17
    assert lines.line_of(("outcomes", "answering_machine", "treatment")) == 21
    assert lines.line_of(("outcomes", "answering_machine", "x", 1, "b")) == 22


def test_missing_keys_fall_back_to_their_table_then_line_one() -> None:
    lines = KeyLines(TEXT)
    assert lines.line_of(("dialing", "channel")) == 10
    assert lines.line_of(("windows", 1, "start")) == 16
    assert lines.line_of(("timezone",)) == 1
    assert lines.line_of(()) == 1
