"""What AmiTelephony puts on the wire for a dial, and how it reads live channels back."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dialerd.domain.ports import DialRequest
from dialerd.pbx.ami.protocol import AmiMessage

#: Reads one channel variable: (channel name, variable) -> value, "" when unset or gone.
Getvar = Callable[[Sequence[tuple[str, str]]], list[str]]
#: Names only dialerd sets: a campaign variable of one of these names is never sent.
#: ``DIALERD_KEY`` is no longer sent (the key is the channel's AccountCode) and stays
#: reserved, so an older dialplan that reads it never sees a campaign's value.
RESERVED_VARIABLES = frozenset(
    {"DIALERD_ATTEMPT", "DIALERD_KEY", "DIALERD_RECORD", "DIALERD_RECORDING"}
)


def originate_headers(req: DialRequest, recording_prefix: str = "") -> list[tuple[str, str]]:
    """The Originate headers for a checked request (ActionID is added by the client).

    No ``ChannelId``/``OtherChannelId``: with the default channel storage Asterisk
    checks an assigned id against every live channel, which makes a burst of
    Originates cost O(n²) on its side (docs/asterisk.md, "Correlation"). Every
    variable costs Asterisk a VarSet per channel half, so only what the dialplan
    needs is sent: the key travels once, as ``Account`` (the AccountCode of every
    channel of the call and the CDR's accountcode), and ``DIALERD_RECORD=1`` with
    ``DIALERD_RECORDING`` only when the campaign records.
    """
    headers = [("Channel", req.channel)]
    target = req.answered
    if target.application is not None:
        headers.append(("Application", target.application))
        if target.data is not None:
            headers.append(("Data", target.data))
    else:
        assert target.context is not None and target.exten is not None
        headers += [("Context", target.context), ("Exten", target.exten)]
        headers.append(("Priority", target.priority))
    headers.append(("Timeout", str(round(req.ring_timeout_s * 1000))))
    if req.caller_id:
        headers.append(("CallerID", req.caller_id))
    headers.append(("Account", req.key))  # AccountCode: live calls and CDRs name their dial
    variables = {  # dialerd's own come last: a campaign variable cannot replace them
        **{name: value for name, value in req.variables.items() if name not in RESERVED_VARIABLES},
        "DIALERD_ATTEMPT": str(req.attempt_id),
    }
    if req.record:
        # the file name the dialplan records to: unique across databases sharing the PBX
        variables["DIALERD_RECORD"] = "1"
        variables["DIALERD_RECORDING"] = f"{recording_prefix}{req.key}"
    headers += [("Variable", f"{name}={value}") for name, value in variables.items()]
    headers.append(("Async", "true"))
    return headers


def calls_of_channels(rows: list[AmiMessage]) -> dict[str, list[AmiMessage]]:
    """The live channels ``CoreShowChannels`` listed, by the key of the dial they belong to.

    A call's channels share a Linkedid (the originated channel's Uniqueid). Its key
    is the ``AccountCode`` the Originate's ``Account`` gave it: the originated
    channel's, else the first one listed among its other channels (a ``;2`` half
    gets it a moment after the ``;1`` half). Calls without one are not dialerd's.
    """
    calls: dict[str, list[AmiMessage]] = {}
    for row in rows:
        calls.setdefault(row.get("Linkedid") or row.get("Uniqueid") or "", []).append(row)
    found: dict[str, list[AmiMessage]] = {}
    for link, call in calls.items():
        first = next((r for r in call if r.get("Uniqueid") == link), None)
        key = first.get("AccountCode") if first is not None else None
        if not key:
            key = next((code for r in call if (code := r.get("AccountCode"))), None)
        if key:
            found.setdefault(key, []).extend(call)
    return found
