"""Where each parsed AMI message goes: events in batches, replies by ActionID (pure, no I/O).

The reader hands every read's messages to :meth:`Router.dispatch`. Replies go
to the handler registered for their ActionID (``expect``) as they are met, any
other reply to ``unclaimed`` (pyst2's FIFO, for ``send_action``). The read's
events go to ``on_events`` as one batch, in order; the events of a list action
go to its handler (``expect_list``) until it says it is done, and the events
before them are delivered first, so a list is complete only once every event
sent before its end has been handed over. Banners and garbage go nowhere. A
handler that raises is logged and the messages after it are still delivered.

The route tables are touched with single dict operations (atomic under the
GIL): callers register from any thread, the reader dispatches without a lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from dialerd.logconfig import get_logger
from dialerd.pbx.ami.protocol import AmiMessage

__all__ = ["EventsHandler", "ListHandler", "ReplyHandler", "Router"]

log = get_logger(__name__)
_T = TypeVar("_T")

EventsHandler = Callable[[list[AmiMessage]], None]
ReplyHandler = Callable[[AmiMessage], None]
ListHandler = Callable[[AmiMessage], bool]  # True: the list is complete


class Router:
    """Routes one connection's messages; see the module docstring."""

    def __init__(self, on_events: EventsHandler, unclaimed: ReplyHandler) -> None:
        self.on_events = on_events
        self.unclaimed = unclaimed
        self._replies: dict[str, ReplyHandler] = {}
        self._lists: dict[str, ListHandler] = {}

    def expect(self, action_id: str, handler: ReplyHandler) -> None:
        """Hand the reply with this ActionID to ``handler`` (once)."""
        self._replies[action_id] = handler

    def expect_list(self, action_id: str, handler: ListHandler) -> None:
        """Hand the events with this ActionID to ``handler`` until it returns True."""
        self._lists[action_id] = handler

    def forget(self, action_id: str) -> None:
        self._replies.pop(action_id, None)
        self._lists.pop(action_id, None)

    def dispatch(self, messages: list[AmiMessage]) -> None:
        """Deliver one read's messages (see the module docstring)."""
        batch: list[AmiMessage] = []
        lists = self._lists
        for msg in messages:
            kind = msg.kind
            if kind == "event":
                action_id = msg.get("ActionID") if lists else None
                if action_id is None or action_id not in lists:
                    batch.append(msg)
                    continue
                batch = self._flush(batch)
                if _call(lists[action_id], msg):
                    self.forget(action_id)
            elif kind == "response":
                handler = self._replies.pop(msg.get("ActionID") or "", None)
                _call(handler or self.unclaimed, msg)
        self._flush(batch)

    def _flush(self, batch: list[AmiMessage]) -> list[AmiMessage]:
        if batch:
            _call(self.on_events, batch)
            return []
        return batch


def _call(handler: Callable[[_T], object], arg: _T) -> object:
    try:
        return handler(arg)
    except Exception:
        log.exception("ami_handler_failed")
        return False
