"""pyst2's private surface that dialerd relies on, pinned; the patched Manager, without a socket.

If a pyst2 release renames, retypes or stops using one of the attributes in
``PYST2_PRIVATE``, or changes the methods dialerd calls, these tests fail before
anything reaches a PBX.
"""

from __future__ import annotations

import inspect
import io
import threading
from importlib.metadata import version

import pytest
from asterisk.manager import Manager, ManagerSocketException

from dialerd.pbx.ami.client import WANTED_EVENTS, WANTED_VARIABLES
from dialerd.pbx.ami.protocol import AmiMessage
from dialerd.pbx.ami.pyst2_fixes import PYST2_PRIVATE, DialerdManager

# The pyst2 code that reads each attribute dialerd sets or feeds (names it refers to).
PYST2_READS = {
    "send_action": {"_connected", "_sock", "_response_queue"},
    "event_dispatch": {"_running", "_event_queue", "_event_callbacks"},
    "__init__": {"message_thread", "message_loop", "event_dispatch_thread", "event_dispatch"},
}


class ScriptedSocket:
    """Stands in for the TCP socket: ``recv`` returns the scripted chunks, then EOF."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)

    def recv(self, _size: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    def shutdown(self, _how: int) -> None:
        pass

    def close(self) -> None:
        pass


def test_pyst2_is_the_release_these_pins_were_written_for() -> None:
    assert version("pyst2") == "0.5.1"  # pyproject pins it; an upgrade re-checks everything here


def test_each_private_attribute_exists_with_its_type_after_manager_init() -> None:
    manager = Manager()
    for name, (kind, why) in PYST2_PRIVATE.items():
        assert isinstance(getattr(manager, name), kind), f"{name}: {why}"
    for thread in (manager.message_thread, manager.event_dispatch_thread):
        assert isinstance(thread, threading.Thread) and not thread.is_alive()
    assert isinstance(manager._event_callbacks, dict)


def test_pyst2_code_still_uses_them_where_the_patch_expects() -> None:
    for method, names in PYST2_READS.items():
        used = set(getattr(Manager, method).__code__.co_names)
        assert names <= used, f"Manager.{method} no longer uses {names - used}"
    assert set(PYST2_PRIVATE) <= set().union(*PYST2_READS.values())


def test_the_methods_dialerd_calls_or_replaces_keep_their_signatures() -> None:
    signatures = {
        "send_action": "(self, cdict={}, **kwargs)",
        "register_event": "(self, event, function)",
        "message_loop": "(self)",
        "event_dispatch": "(self)",
        "close": "(self)",
    }
    for method, expected in signatures.items():
        assert str(inspect.signature(getattr(Manager, method))) == expected, method


def test_send_action_writes_the_login_and_returns_the_next_fifo_reply() -> None:
    manager = DialerdManager(lambda _messages: None)
    written = io.BytesIO()
    manager._sock = written  # type: ignore[assignment]
    manager._connected.set()
    reply = AmiMessage.from_pairs([("Response", "Success"), ("ActionID", "l-1")])
    manager.fifo(reply)
    assert manager.send_action({"Action": "Login", "ActionID": "l-1", "Username": "u"}) is reply
    assert written.getvalue() == b"Action: Login\r\nActionID: l-1\r\nUsername: u\r\n\r\n"
    manager._response_queue.put(None)  # what the reader leaves when the link is lost
    with pytest.raises(ManagerSocketException):
        manager.send_action({"Action": "Ping"})
    manager.close()


def test_the_reader_feeds_every_read_through_the_parser_with_the_filters() -> None:
    reads: list[list[AmiMessage]] = []
    manager = DialerdManager(reads.append, WANTED_EVENTS, WANTED_VARIABLES)
    session = (
        b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: l-1\r\n\r\n"
        b"Event: Newexten\r\nUniqueid: k\r\n\r\nEvent: VarSet\r\nVariable: MACRO_DEPTH\r\n\r\n"
        b"Event: VarSet\r\nVariable: AMDSTATUS\r\nValue: HUMAN\r\n\r\n"
        b"Event: Hangup\r\nUniqueid: k\r\nChanVariable: A=1\r\nChanVariable: B=2\r\n\r\n"
    )
    manager._raw = ScriptedSocket(  # type: ignore[assignment]
        session[:45], session[45:130], session[130:]
    )
    manager._connected.set()
    manager.message_loop()
    got = [(m.kind, m.name) for read in reads for m in read]
    assert got == [
        ("banner", "Asterisk Call Manager/11.0.0"),
        ("response", "Success"),
        ("event", "VarSet"),
        ("event", "Hangup"),
    ]
    assert reads[-1][-1].get_all("ChanVariable") == ["A=1", "B=2"]  # pyst2's parse crashed here
    assert manager.bytes_received == len(session)
    assert not manager.connected()  # EOF: the link is down and every waiter released
    assert manager._response_queue.get_nowait() is None
    assert manager._event_queue.get_nowait() is None
    manager.close()


def test_call_soon_runs_in_order_on_pyst2_dispatch_and_survives_a_failure() -> None:
    manager = DialerdManager(lambda _messages: None)
    ran: list[str] = []

    def fail() -> None:
        raise RuntimeError("boom")

    manager.call_soon(lambda: ran.append("first"))
    manager.call_soon(fail)
    manager.call_soon(lambda: ran.append("last"))
    manager._event_queue.put(None)
    manager._running.set()
    manager.event_dispatch()  # pyst2's own loop, run here instead of on its thread
    assert ran == ["first", "last"]
    manager.close()
    manager.close()  # idempotent


def test_a_write_without_a_connection_is_refused() -> None:
    manager = DialerdManager(lambda _messages: None)
    with pytest.raises(ManagerSocketException):
        manager.send_raw(b"Action: Ping\r\n\r\n")
    manager.close()
