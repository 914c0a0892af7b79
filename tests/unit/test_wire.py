"""What may reach the AMI wire: every field is checked and named in the error."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialerd.domain import wire
from dialerd.domain.ports import AnsweredTarget, DialRequest
from dialerd.errors import UnsafeDialInput

INJECTION = "13800138000\r\nAction: Command\r\nCommand: core stop now"


def _request(**changes: object) -> DialRequest:
    base = DialRequest(
        attempt_id=7,
        key="3-41-0-1-1",
        campaign="spring",
        number="+8613800138000",
        channel="PJSIP/8613800138000@carrier",
        caller_id='"Acme" <4000>',
        ring_timeout_s=30.0,
        answered=AnsweredTarget(context="dialerd-answered", exten="s"),
        record=True,
        variables={"CAMPAIGN": "spring", "LANG": "zh_CN"},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_clean_request_passes() -> None:
    wire.check_dial_request(_request())
    wire.check_dial_request(
        _request(answered=AnsweredTarget(application="Wait", data="20,x"), caller_id="")
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"number": INJECTION}, "number"),
        ({"number": "13800138000\n"}, "number"),
        ({"number": "138 0013 8000"}, "number"),
        ({"number": "+86-138"}, "number"),
        ({"number": "1" * 16}, "number"),
        ({"channel": f"PJSIP/{INJECTION}@carrier"}, "channel"),
        ({"channel": "PJSIP/100&PJSIP/200"}, "channel"),
        ({"channel": "Local/100@ctx;2"}, "channel"),
        ({"channel": "PJSIP/${SHELL(id)}"}, "channel"),
        ({"channel": "PJSIP/1,2"}, "channel"),
        ({"channel": "PJSIP/1|2"}, "channel"),
        ({"channel": "no-slash"}, "channel"),
        ({"caller_id": "4000\r\nAction: Logoff"}, "caller_id"),
        ({"caller_id": '"A"B" <4000>'}, "caller_id"),
        ({"caller_id": "abc"}, "caller_id"),
        ({"key": "k\r\nAction: Command"}, "key"),
        ({"key": "k" * 141}, "key"),
        ({"ring_timeout_s": 0.0}, "ring_timeout_s"),
        ({"ring_timeout_s": float("nan")}, "ring_timeout_s"),
        ({"ring_timeout_s": 601.0}, "ring_timeout_s"),
        ({"variables": {"X": "a\r\nAction: Command"}}, "variables.X"),
        ({"variables": {"X": "1,DIALERD_ATTEMPT=9"}}, "variables.X"),
        ({"variables": {"X": 'a"b'}}, "variables.X"),
        ({"variables": {"BAD-NAME": "1"}}, "variables.name"),
        ({"variables": {"A=B": "1"}}, "variables.name"),
        ({"answered": AnsweredTarget(context="ctx\r\n", exten="s")}, "answered.context"),
        ({"answered": AnsweredTarget(context="ctx", exten="s s")}, "answered.exten"),
        (
            {"answered": AnsweredTarget(context="ctx", exten="s", priority="1\n")},
            "answered.priority",
        ),
        ({"answered": AnsweredTarget(application="Wait;x")}, "answered.application"),
        ({"answered": AnsweredTarget(application="Wait", data="1\r\n")}, "answered.data"),
        ({"answered": AnsweredTarget()}, "answered"),
        ({"attempt_id": "7"}, "attempt_id"),
    ],
)
def test_unsafe_fields_are_refused_by_name(changes: dict[str, object], field: str) -> None:
    with pytest.raises(UnsafeDialInput) as caught:
        wire.check_dial_request(_request(**changes))
    message = str(caught.value)
    assert message.startswith(f"{field}:")
    assert "Action" not in message  # the value is never echoed


@pytest.mark.parametrize(
    "channel",
    [
        "PJSIP/8613800138000@carrier",
        "Local/13800138000@callee-sim",
        "DAHDI/g1/13800138000",
        "IAX2/peer:5/100#",
        "PJSIP/*86+1.2_3-4@t",
    ],
)
def test_dial_strings_of_every_usual_shape_pass(channel: str) -> None:
    assert wire.check_channel(channel) == channel


@pytest.mark.parametrize("caller_id", ["4000", "+8610123", '"dialerd" <4000>', '"李" <+86101>'])
def test_caller_ids(caller_id: str) -> None:
    assert wire.check_caller_id(caller_id) == caller_id


def test_variables_render_in_order() -> None:
    assert wire.check_variables({"A": "1", "B_2": ""}) == ["A=1", "B_2="]
