"""Pure parts of the HTTP API: the write buckets, error field names, scopes, settings."""

from __future__ import annotations

import pytest

from dialerd.actions.api_tokens import GRANTS, PREFIX, digest
from dialerd.api.problems import _field
from dialerd.api.ratelimit import TokenBuckets
from dialerd.settings import Settings


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_one_write_per_refill() -> None:
    clock = FakeTime()
    buckets = TokenBuckets(rate=2.0, burst=3, monotonic=clock)
    assert [buckets.take("crm") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("crm") == pytest.approx(0.5)  # half a second to the next token
    assert buckets.take("ops") == 0.0  # each token its own bucket
    clock.now += 0.5
    assert buckets.take("crm") == 0.0
    assert buckets.take("crm") > 0
    clock.now += 60
    assert [buckets.take("crm") for _ in range(4)][-1] > 0  # refills only up to the burst


def test_error_fields_read_like_the_request() -> None:
    assert _field(("body", "contacts", 3, "phone1")) == "contacts[3].phone1"
    assert _field(("body", "callback_at")) == "callback_at"
    assert _field(("path", "attempt_id")) == "attempt_id"
    assert _field(("body",)) == "body"


def test_scopes_nest_ops_over_agent_over_read() -> None:
    assert GRANTS["read"] == {"read"}
    assert GRANTS["agent"] == {"agent", "read"}
    assert GRANTS["ops"] == {"ops", "agent", "read"}


def test_only_the_hash_of_a_token_is_kept() -> None:
    token = PREFIX + "x" * 43
    assert len(digest(token)) == 64 and token not in digest(token)


def test_the_api_is_off_by_default_and_set_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = Settings()
    assert (default.api.enabled, default.api.host, default.api.port) == (False, "127.0.0.1", 8473)
    monkeypatch.setenv("DIALERD_API__ENABLED", "true")
    monkeypatch.setenv("DIALERD_API__HOST", "0.0.0.0")
    monkeypatch.setenv("DIALERD_API__PORT", "9000")
    api = Settings().api
    assert (api.enabled, api.host, api.port) == (True, "0.0.0.0", 9000)
