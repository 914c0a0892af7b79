"""What AmiTelephony puts on the wire for a dial, and how it reads live channels back."""

from __future__ import annotations

from dialerd.domain.ports import DialRequest
from dialerd.pbx.ami.protocol import AmiMessage


def originate_headers(req: DialRequest) -> list[tuple[str, str]]:
    """The Originate headers for a checked request (ActionID is added by the client)."""
    headers = [("Channel", req.channel), ("ChannelId", req.key), ("OtherChannelId", f"{req.key}-2")]
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
        "DIALERD_KEY": req.key,
        "DIALERD_RECORD": "1" if req.record else "0",
    }
    headers += [("Variable", f"{name}={value}") for name, value in variables.items()]
    headers.append(("Async", "true"))
    return headers


def keys_of_channels(rows: list[AmiMessage]) -> set[str]:
    """Candidate dial keys of live channels: Uniqueid (``key``/``key-2``), Linkedid, DIALERD_KEY.

    ``ChanVariable: DIALERD_KEY=<key>`` rows come only when manager.conf sets
    ``channelvars`` (the ``chanvars-*`` transcripts).
    """
    keys: set[str] = set()
    for row in rows:
        for field in ("Uniqueid", "Linkedid"):
            value = row.get(field)
            if value:
                keys.add(value[:-2] if value.endswith("-2") else value)
        for chanvar in row.get_all("ChanVariable"):
            name, _, value = chanvar.partition("=")
            if name == "DIALERD_KEY" and value:
                keys.add(value)
    return keys
