"""What AmiTelephony puts on the wire for a dial, and how it reads live channels back."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dialerd.domain.ports import DialRequest
from dialerd.pbx.ami.protocol import AmiMessage

KEY_VARIABLE = "DIALERD_KEY"
#: Reads one channel variable: (channel name, variable) -> value, "" when unset or gone.
Getvar = Callable[[Sequence[tuple[str, str]]], list[str]]


def originate_headers(req: DialRequest) -> list[tuple[str, str]]:
    """The Originate headers for a checked request (ActionID is added by the client).

    No ``ChannelId``/``OtherChannelId``: with the default channel storage Asterisk
    checks an assigned id against every live channel, which makes a burst of
    Originates cost O(n²) on its side (docs/asterisk.md, "Correlation").
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
    headers.append(("Account", req.key))  # the CDR's accountcode: results outlive the daemon
    variables = {  # dialerd's own come last: a campaign variable cannot replace them
        **req.variables,
        "DIALERD_ATTEMPT": str(req.attempt_id),
        KEY_VARIABLE: req.key,
        "DIALERD_RECORD": "1" if req.record else "0",
    }
    headers += [("Variable", f"{name}={value}") for name, value in variables.items()]
    headers.append(("Async", "true"))
    return headers


def calls_of_channels(
    rows: list[AmiMessage], getvar: Getvar | None = None
) -> dict[str, list[AmiMessage]]:
    """The live channels ``CoreShowChannels`` listed, by the key of the dial they belong to.

    A call's channels share a Linkedid (the originated channel's Uniqueid). Its key
    is the ``DIALERD_KEY`` variable: read from the rows' ``ChanVariable`` headers
    when manager.conf sets ``channelvars = DIALERD_KEY``; otherwise ``getvar``
    asks for it, one channel per call (the originated one first), and for a call
    whose first channel did not carry it, its other channels. Calls with no key
    (not dialerd's) are left out.
    """
    found: dict[str, list[AmiMessage]] = {}
    calls: dict[str, list[AmiMessage]] = {}
    keyed: dict[str, str] = {}  # Linkedid -> key, from ChanVariable
    for row in rows:
        link = row.get("Linkedid") or row.get("Uniqueid") or ""
        calls.setdefault(link, []).append(row)
        for name, _, value in (v.partition("=") for v in row.get_all("ChanVariable")):
            if name == KEY_VARIABLE and value:
                keyed[link] = value
    for link, key in keyed.items():
        found.setdefault(key, []).extend(calls.pop(link))
    if getvar is None:
        return found
    pending = [  # (the call's rows, the rows not asked yet: the originated channel first)
        (call, sorted(call, key=lambda r: r.get("Uniqueid") != r.get("Linkedid")))
        for call in calls.values()
    ]
    while pending:
        asked = [left.pop(0) for _, left in pending]
        values = getvar([(r.get("Channel") or "", KEY_VARIABLE) for r in asked])
        for (call, _), value in zip(pending, values, strict=True):
            if value:
                found.setdefault(value, []).extend(call)
        pending = [
            (c, left) for (c, left), v in zip(pending, values, strict=True) if not v and left
        ]
    return found
