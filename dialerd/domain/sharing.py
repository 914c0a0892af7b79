"""How campaigns share the PBX: higher priority first, equal priorities by weight.

A campaign asks only for the dials it can start now (:attr:`Demand.limit`: what it
has due, within its own concurrency and rate caps), so a campaign with nothing due
takes nothing, whatever its priority, and capacity it cannot use goes to the others.
Inside one priority, dials are dealt one at a time by smooth weighted round-robin;
the :class:`Sharer` carries each campaign's credit from one tick to the next, so
weights hold over many small ticks (one free channel a tick) as well as in one big one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby


@dataclass(frozen=True, slots=True)
class Demand:
    campaign_id: int
    priority: int
    weight: int
    limit: int  # the most this campaign can start now: its due dials, within its own caps


@dataclass
class Sharer:
    """Splits each tick's capacity; ``credits`` is the weighted round-robin's carried state.

    A campaign's credit grows by its weight for every dial dealt in its priority group
    while it is asking, and falls by the group's total weight for every dial it gets.
    A campaign that asks for nothing loses its credit (no banking while idle), and a
    credit never leaves ``[-total, total]`` of its group, so a campaign that was held
    back by its own caps catches up by at most one round.
    """

    credits: dict[int, int] = field(default_factory=dict)

    def share(self, capacity: int, demands: Sequence[Demand]) -> dict[int, int]:
        """Split ``capacity`` dials among ``demands``; returns campaign id → dials."""
        grant = {d.campaign_id: 0 for d in demands}
        self.credits = {
            d.campaign_id: self.credits.get(d.campaign_id, 0) for d in demands if d.limit > 0
        }
        ordered = sorted(demands, key=lambda d: -d.priority)
        for _, group_iter in groupby(ordered, key=lambda d: d.priority):
            group = [d for d in group_iter if d.limit > 0]
            capacity = self._deal(capacity, group, grant)
        return grant

    def _deal(self, capacity: int, group: list[Demand], grant: dict[int, int]) -> int:
        """Deal dials to one priority group, one at a time; returns the capacity left."""
        total = sum(max(d.weight, 1) for d in group)
        asking = list(group)
        while capacity > 0 and asking:
            weight = sum(max(d.weight, 1) for d in asking)
            for d in asking:
                self.credits[d.campaign_id] += max(d.weight, 1)
            pick = max(asking, key=lambda d: (self.credits[d.campaign_id], -d.campaign_id))
            self.credits[pick.campaign_id] -= weight
            grant[pick.campaign_id] += 1
            capacity -= 1
            asking = [d for d in asking if grant[d.campaign_id] < d.limit]
        for d in group:
            self.credits[d.campaign_id] = max(-total, min(total, self.credits[d.campaign_id]))
        return capacity


def share(capacity: int, demands: Sequence[Demand]) -> dict[int, int]:
    """One tick's split with no carried credit (see :class:`Sharer`)."""
    return Sharer().share(capacity, demands)
