"""Router: wire order, replies by ActionID, list actions, and handlers that fail."""

from __future__ import annotations

from collections.abc import Callable

from dialerd.pbx.ami.protocol import AmiMessage, AmiParser
from dialerd.pbx.ami.routing import Router


def _msgs(text: str) -> list[AmiMessage]:
    return AmiParser(expect_banner=False).feed(text.replace("\n", "\r\n").encode())


class Log:
    """Every handler call, in order, as (handler, names or ActionID)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.router = Router(self.events, self.unclaimed)

    def events(self, batch: list[AmiMessage]) -> None:
        self.calls.append(("events", [m.get("Uniqueid") for m in batch]))

    def unclaimed(self, reply: AmiMessage) -> None:
        self.calls.append(("fifo", reply.get("ActionID")))

    def reply(self, name: str) -> Callable[[AmiMessage], None]:
        return lambda msg: self.calls.append((name, msg.get("Message")))


def test_replies_go_by_action_id_and_the_read_events_in_one_batch() -> None:
    log = Log()
    log.router.expect("a-2", log.reply("second"))
    log.router.expect("a-1", log.reply("first"))
    log.router.dispatch(
        _msgs(
            "Event: Newchannel\nUniqueid: k-1\n\nEvent: Hangup\nUniqueid: k-1\n\n"
            "Response: Success\nActionID: a-2\nMessage: two\n\n"
            "Event: Hangup\nUniqueid: k-2\n\n"
            "Response: Error\nActionID: a-1\nMessage: one\n\n"
            "Response: Success\nActionID: a-1\nMessage: again\n\n"
            "Response: Success\nMessage: Authentication accepted\n\n"
            "garbage without a colon\n\n"
        )
    )
    assert log.calls == [
        ("second", "two"),
        ("first", "one"),
        ("fifo", "a-1"),  # a reply is routed once; a second one is nobody's
        ("fifo", None),
        ("events", ["k-1", "k-1", "k-2"]),
    ]


def test_a_list_action_gets_its_events_until_it_is_complete() -> None:
    log = Log()
    rows: list[str | None] = []

    def collect(msg: AmiMessage) -> bool:
        rows.append(msg.get("Uniqueid"))
        log.calls.append(("list", msg.name))
        return msg.name == "CoreShowChannelsComplete"

    log.router.expect_list("c-1", collect)
    text = (
        "Event: Hangup\nUniqueid: k-1\n\n"
        "Event: CoreShowChannel\nActionID: c-1\nUniqueid: k-2\n\n"
        "Event: CoreShowChannelsComplete\nActionID: c-1\n\n"
        "Event: CoreShowChannel\nActionID: c-1\nUniqueid: k-3\n\n"
    )
    log.router.dispatch(_msgs(text))
    assert log.calls == [
        ("events", ["k-1"]),  # what came before the list's events was delivered first
        ("list", "CoreShowChannel"),
        ("list", "CoreShowChannelsComplete"),
        ("events", ["k-3"]),  # the list is done: a late row is an ordinary event
    ]
    assert rows == ["k-2", None]


def test_forget_drops_a_route_and_a_failing_handler_stops_nothing() -> None:
    log = Log()
    log.router.expect("gone", log.reply("never"))
    log.router.forget("gone")

    def fail(_msg: AmiMessage) -> None:
        raise RuntimeError("boom")

    log.router.expect("bad", fail)
    log.router.dispatch(
        _msgs(
            "Response: Success\nActionID: gone\n\n"
            "Response: Success\nActionID: bad\n\n"
            "Event: Hangup\nUniqueid: k-1\n\n"
        )
    )
    assert log.calls == [("fifo", "gone"), ("events", ["k-1"])]
