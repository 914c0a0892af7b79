"""The manager.conf recipe's event filters (docs/asterisk.md, section 1) let through every
event dialerd reads: the correlator's, the link's and the dialplan's UserEvent."""

from __future__ import annotations

from dialerd.pbx.ami.correlate import CORRELATED_EVENTS, KEPT_VARIABLES
from dialerd.pbx.ami.queues import QUEUE_EVENTS
from tests.realpbx.pbx import recipe_filters


def _names() -> set[str]:
    return {line[len("eventfilter(name(") :].split(")")[0] for line in recipe_filters()}


def test_the_recipe_names_the_events_the_correlator_and_the_link_read() -> None:
    assert CORRELATED_EVENTS | {"FullyBooted", "Shutdown", "UserEvent"} <= _names()


def test_the_recipe_names_the_queue_events_that_arrive_unasked() -> None:
    # the rest of QUEUE_EVENTS are rows of dialerd's own QueueStatus, which filters do not touch
    listed = {"QueueParams", "QueueMember", "QueueEntry", "QueueStatusComplete"}
    assert QUEUE_EVENTS - listed <= _names()


def test_exactly_the_kept_variables_pass_the_varset_filter() -> None:
    (varset,) = [line for line in recipe_filters() if "name(VarSet)" in line]
    pattern = varset.split("=", 1)[1].strip()
    assert pattern.startswith("^(") and pattern.endswith(")$")
    assert set(pattern[2:-2].split("|")) == KEPT_VARIABLES
