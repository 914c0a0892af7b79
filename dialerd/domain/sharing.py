"""How campaigns share the PBX: higher priority first, equal priorities by weight."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby


@dataclass(frozen=True, slots=True)
class Demand:
    campaign_id: int
    priority: int
    weight: int
    limit: int  # the most this campaign may start now (its own concurrency and rate limits)


def share(capacity: int, demands: Sequence[Demand]) -> dict[int, int]:
    """Split ``capacity`` dials among campaigns.

    Priority groups are served in order; inside a group each campaign gets a share
    proportional to its weight (largest remainders first, ties to the lower id), never
    more than its own limit; what a campaign cannot use goes to the others.
    """
    grant = {d.campaign_id: 0 for d in demands}
    ordered = sorted(demands, key=lambda d: -d.priority)
    for _, group_iter in groupby(ordered, key=lambda d: d.priority):
        group = [d for d in group_iter if d.limit > 0]
        while capacity > 0 and group:
            total_weight = sum(max(d.weight, 1) for d in group)
            quotas = {d.campaign_id: capacity * max(d.weight, 1) / total_weight for d in group}
            given = 0
            for d in group:
                n = min(int(quotas[d.campaign_id]), d.limit - grant[d.campaign_id])
                grant[d.campaign_id] += n
                given += n
            rest = capacity - given
            by_remainder = sorted(
                group, key=lambda d: (-(quotas[d.campaign_id] % 1), d.campaign_id)
            )
            for d in by_remainder:
                if rest <= 0:
                    break
                if grant[d.campaign_id] < d.limit:
                    grant[d.campaign_id] += 1
                    rest -= 1
            capacity = rest
            group = [d for d in group if grant[d.campaign_id] < d.limit]
        if capacity <= 0:
            break
    return grant
