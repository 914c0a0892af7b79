"""Campaign file validation: every problem is ``path:line: field: message``, never a traceback."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialerd.campaignfile.errors import Problem
from dialerd.campaignfile.loader import parse_bytes, parse_text
from dialerd.campaignfile.models import CampaignFile

PATH = "campaigns/x.toml"
BASE = """\
name = "policy-callback-1"
description = "New-policy first callback"
contacts = ["policy-callback-1.csv"]
region = "CN"
timezone = "Asia/Shanghai"
holidays = { country = "CN", closed = [2026-12-31], open = [] }
start = 2026-11-23
end = 2026-12-31

[dialing]
max_rounds = 4
min_spacing = "6h"
ring_timeout = "30s"
max_concurrent = 20
calls_per_second = 5
channel = "PJSIP/{number}@carrier"
answered = { context = "dialerd-answered", exten = "s" }
caller_id = "4006589888"
record = true

[[windows]]
days = "mon-fri"
start = "09:00"
end = "17:00"

[[caller_id_rules]]
carrier = "China Mobile"
caller_id = "13900000001"
channel = "PJSIP/{number}@cmcc"

[outcomes.busy]
treatment = "retry"
after = "6h"

[outcomes.answering_machine]
treatment = "drop_number"
"""


def check(text: str) -> tuple[CampaignFile | None, list[str]]:
    model, problems = parse_text(text, PATH)
    return model, [str(p) for p in problems]


def errors_of(text: str) -> list[str]:
    model, problems = check(text)
    assert model is None, "expected the file to be refused"
    return problems


def edit(old: str, new: str, text: str = BASE) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_the_reference_file_is_valid() -> None:
    model, problems = check(BASE)
    assert problems == []
    assert model is not None
    assert model.dialing.min_spacing.total_seconds() == 6 * 3600
    assert model.caller_id_rules[0].carrier == "China Mobile"
    dumped = model.model_dump(mode="json")
    assert dumped["dialing"]["ring_timeout"] == "30s"
    assert dumped["holidays"]["closed"] == ["2026-12-31"]
    assert CampaignFile.model_validate(dumped) == model


def test_defaults_fill_what_is_left_out() -> None:
    model, _ = check(edit('max_rounds = 4\nmin_spacing = "6h"\n', ""))
    assert model is not None
    assert model.dialing.max_rounds == 4
    assert model.dialing.spacing == "wall"
    assert model.dialing.max_refusals == 3
    assert model.dialing.early_hangup.total_seconds() == 5


def test_toml_syntax_error_keeps_its_line() -> None:
    assert errors_of(edit("max_rounds = 4", "max_rounds = ")) == [
        f"{PATH}:11: toml: Invalid value (column 14)"
    ]


def test_syntax_error_at_end_of_document() -> None:
    (problem,) = errors_of('name = "x')
    assert problem.startswith(f"{PATH}:1: toml: ")


def test_wrong_type_names_the_value() -> None:
    assert errors_of(edit("max_rounds = 4", 'max_rounds = "four"')) == [
        f"{PATH}:11: dialing.max_rounds: Input should be a valid integer, "
        'unable to parse string as an integer (got "four")'
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "region =",
            "regoin =",
            f'{PATH}:4: regoin: unknown key "regoin" (did you mean "region"?)',
        ),
        ("max_concurrent", "max_concurent", f"{PATH}:14: dialing.max_concurent: unknown key"),
        ('end = "17:00"', 'end = "17:00"\nfinish = 1', f"{PATH}:25: windows[0].finish: unknown"),
        ('exten = "s"', 'exten = "s", priorty = 2', f"{PATH}:17: dialing.answered.priorty: "),
    ],
)
def test_unknown_keys_are_errors_with_a_hint(old: str, new: str, expected: str) -> None:
    (problem,) = errors_of(edit(old, new))
    assert problem.startswith(expected)
    if "priorty" in new:
        assert 'did you mean "priority"?' in problem


def test_key_in_the_wrong_table_names_its_table() -> None:
    (problem,) = errors_of(edit('region = "CN"', 'region = "CN"\nmax_rounds = 4'))
    assert problem == f'{PATH}:5: max_rounds: unknown key "max_rounds" (it belongs in [dialing])'


def test_bad_and_bare_durations() -> None:
    assert errors_of(edit('"30s"', '"30"')) == [
        f'{PATH}:13: dialing.ring_timeout: "30" is not a duration like "30s", "6h" or "1h30m"'
    ]
    (bare,) = errors_of(edit('min_spacing = "6h"', "min_spacing = 21600"))
    assert bare.startswith(f"{PATH}:12: dialing.min_spacing: 21600 is not a duration")


def test_every_problem_is_reported_at_once() -> None:
    text = edit('"30s"', '"30"', edit("Asia/Shanghai", "Asia/Shang_hai"))
    problems = errors_of(text)
    assert [p.split(":")[1] for p in problems] == ["5", "13"]
    assert "IANA time zone" in problems[0]


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"),
    [
        ("start = 2026-11-23", 'start = "2026-02-30"', 7, "start", "valid date"),
        ("start = 2026-11-23", "start = 2027-01-01", 8, "end", "is after end"),
        ('region = "CN"', 'region = "CHN"', 4, "region", "not a phone region"),
        ('country = "CN"', 'country = "XX"', 6, "holidays.country", "holidays package"),
        ("open = []", "open = [2026-12-31]", 6, "holidays.open", "both closed and open"),
        ('"mon-fri"', '"mon-fry"', 22, "windows[0].days", 'like "mon-fri"'),
        ('end = "17:00"', 'end = "08:00"', 24, "windows[0].end", "must be before end"),
        ('end = "17:00"', 'end = "25:00"', 24, "windows[0].end", 'like "09:00"'),
        ("max_rounds = 4", "max_rounds = 0", 11, "dialing.max_rounds", "greater than or equal"),
        ('"4006589888"', '"400-658"', 18, "dialing.caller_id", "digits only"),
        ('"4006589888"', '"4006589888\\r\\nAction: Hangup"', 18, "dialing.caller_id", "digits"),
        ("@carrier", "@car rier", 16, "dialing.channel", "Tech/resource"),
        ("{number}@carrier", "@carrier", 16, "dialing.channel", "needs a number placeholder"),
        ("{number}@carrier", "{nmber}@carrier", 16, "dialing.channel", "placeholder {nmber} ("),
        ('exten = "s"', 'exten = "s", application = "AGI"', 17, "dialing.answered", "either"),
        ('context = "dialerd-answered", ', "", 17, "dialing.answered", "go together"),
        (
            'carrier = "China Mobile"',
            'carrier = "China Mobile"\nprefix = "755"',
            28,
            "caller_id_rules[0].prefix",
            "E.164 prefix",
        ),
        ('carrier = "China Mobile"\n', "", 26, "caller_id_rules[0]", "needs carrier or prefix"),
        ("[outcomes.busy]", "[outcomes.bussy]", 31, "outcomes.bussy", 'mean "busy"'),
        ('"drop_number"', '"drop"', 36, "outcomes.answering_machine.treatment", "drop_number"),
        (
            '"drop_number"',
            '"drop_number"\nafter = "1h"',
            37,
            "outcomes.answering_machine.after",
            'only with treatment = "retry"',
        ),
        ('name = "policy-callback-1"', 'name = "bad name"', 1, "name", "letters, digits"),
        ("[[windows]]", "[[windowz]]", 21, "windowz", 'did you mean "windows"'),
    ],
)
def test_field_errors(old: str, new: str, line: int, field: str, words: str) -> None:
    problems = errors_of(edit(old, new))
    assert any(p.startswith(f"{PATH}:{line}: {field}: ") and words in p for p in problems), problems


def test_missing_required_keys_point_at_their_table() -> None:
    problems = errors_of(edit('channel = "PJSIP/{number}@carrier"\n', ""))
    assert problems == [f'{PATH}:10: dialing.channel: required key "channel" is missing']
    assert errors_of(edit('timezone = "Asia/Shanghai"\n', "")) == [
        f'{PATH}:1: timezone: required key "timezone" is missing'
    ]


def test_after_shorter_than_min_spacing_is_a_warning() -> None:
    model, problems = parse_text(edit('after = "6h"', 'after = "30m"'), PATH)
    assert model is not None
    assert problems == [
        Problem(
            PATH,
            33,
            "outcomes.busy.after",
            "30m is shorter than dialing.min_spacing 6h: min_spacing wins",
            "warning",
        )
    ]
    assert str(problems[0]).startswith(f"{PATH}:33: outcomes.busy.after: warning: 30m")


def test_no_holiday_country_is_a_warning() -> None:
    model, problems = parse_text(edit('country = "CN", ', ""), PATH)
    assert model is not None
    assert [(p.field, p.severity) for p in problems] == [("holidays.country", "warning")]


@pytest.mark.parametrize(
    ("written", "suggested"), [("China", "CN"), ("china", "CN"), ("Chna", "CN"), ("Germany", "DE")]
)
def test_a_country_name_suggests_its_alpha2_code(written: str, suggested: str) -> None:
    model, problems = parse_text(edit('country = "CN"', f'country = "{written}"'), PATH)
    assert model is None
    assert [p.field for p in problems] == ["holidays.country"]
    assert problems[0].message.endswith(f'(did you mean "{suggested}"?)')


def test_window_may_end_at_midnight_and_days_may_wrap() -> None:
    text = edit('end = "17:00"', 'end = "24:00"', edit('"mon-fri"', '"fri-mon"'))
    model, problems = check(text)
    assert model is not None and problems == []


def test_non_utf8_file_names_the_line() -> None:
    data = BASE.replace('"New-policy first callback"', '"新契约"').encode("gbk")
    model, problems = parse_bytes(data, PATH)
    assert model is None
    assert [(p.line, p.field) for p in problems] == [(2, "file")]
    assert "not valid UTF-8" in problems[0].message


def test_utf8_bom_is_accepted() -> None:
    model, problems = parse_bytes(b"\xef\xbb\xbf" + BASE.encode(), PATH)
    assert model is not None and problems == []


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_no_edit_of_a_valid_file_raises(data: st.DataObject) -> None:
    lines = BASE.splitlines()
    index = data.draw(st.integers(0, len(lines) - 1))
    lines[index] = data.draw(st.sampled_from(["", "x", "[", "x = ", '"a" = 1', lines[index][:5]]))
    _, problems = parse_text("\n".join(lines), PATH)
    assert all(1 <= p.line <= len(lines) + 1 for p in problems)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_raises(text: str) -> None:
    model, problems = parse_text(text, PATH)
    assert model is None and problems


def test_a_carrier_no_number_has_is_an_error_with_a_hint() -> None:
    (problem,) = errors_of(edit('"China Mobile"', '"China Mobil"'))
    assert problem == (
        f'{PATH}:27: caller_id_rules[0].carrier: no CN number has carrier "China Mobil" '
        '(did you mean "China Mobile"?): the rule never matches'
    )
    model, _ = check(edit('"China Mobile"', '"china mobile"'))
    assert model is not None


@pytest.mark.parametrize("spacing", ["0s", "1m", "29m59s"])
def test_min_spacing_below_the_floor_is_refused(spacing: str) -> None:
    (problem,) = errors_of(edit('min_spacing = "6h"', f'min_spacing = "{spacing}"'))
    assert problem == (
        f"{PATH}:12: dialing.min_spacing: "
        "min_spacing must be at least 30m: the rulebooks never redial at once"
    )


def test_min_spacing_at_the_floor_is_accepted() -> None:
    model, _ = check(edit('min_spacing = "6h"', 'min_spacing = "30m"'))
    assert model is not None and model.dialing.min_spacing.total_seconds() == 1800


def test_a_year_without_an_official_notice_is_a_warning_naming_the_override() -> None:
    model, problems = parse_text(edit("end = 2026-12-31", "end = 2027-02-28"), PATH)
    assert model is not None
    assert [(p.line, p.field, p.severity) for p in problems] == [(6, "holidays.country", "warning")]
    assert "2027" in problems[0].message
    assert "holidays.open / holidays.closed" in problems[0].message


def test_listing_the_years_dates_by_hand_silences_the_notice_warning() -> None:
    text = edit("end = 2026-12-31", "end = 2027-02-28", edit("open = []", "open = [2027-02-20]"))
    model, problems = parse_text(text, PATH)
    assert model is not None
    assert problems == []


def test_working_day_keys_are_checked_where_they_are_written() -> None:
    text = edit(
        "record = true",
        'record = true\nreminder = "3 days before due"\ncallback_within = "soon"',
    )
    problems = errors_of(text)
    assert problems[0].startswith(f"{PATH}:20: dialing.reminder: ")
    assert "N working days before due" in problems[0]
    assert problems[1].startswith(f"{PATH}:21: dialing.callback_within: ")
    good = edit(
        "record = true",
        'record = true\nreminder = "3 working days before due"\ncallback_within = "2 working days"',
    )
    model, problems = check(good)
    assert model is not None and problems == []
