"""The HTTP API over a real database (SQLite and PostgreSQL), through its ASGI app.

Dials come from the engine rig (a virtual PBX on a virtual clock); requests go
through FastAPI's test client, so the routes, scopes, errors and limits are the
daemon's own. ``tests/acceptance/test_api_service.py`` does the same over TCP
against ``dialerd run``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dialerd.actions.api_tokens import add_token
from dialerd.actions.control import change_state
from dialerd.actions.pace import pace_overrides
from dialerd.api.application import make_app
from dialerd.api.context import ApiContext
from dialerd.api.server import ApiServer, ApiServerError
from dialerd.app import reader_of
from dialerd.cli import cli
from dialerd.db.models import (
    ApiIdempotencyKey,
    ApiToken,
    Attempt,
    AttemptSummary,
    Campaign,
    CampaignEvent,
    Contact,
    DncEntry,
    PhoneNumber,
)
from dialerd.pbx.scenario import Scenario
from dialerd.settings import ApiSettings, Settings
from tests.enginekit import Rig, make_rig, write_campaign

ANSWERS, BUSY = "13800138000", "13800138001"
SCENARIO = Scenario(rules=[("*13800138001", "busy")])


@pytest.fixture
def rig(engine: Engine, tmp_path: Path) -> Rig:
    rig = make_rig(
        engine,
        write_campaign(
            tmp_path / "campaigns", [f"c1,张三,{ANSWERS},13800138002", f"c2,李四,{BUSY}"]
        ),
        scenario=SCENARIO,
    )
    rig.step()
    rig.settle()
    return rig


def tokens(engine: Engine) -> dict[str, str]:
    with Session(engine) as s, s.begin():
        return {
            scope: add_token(s, f"{scope}-desk", scope, who="test", now=_now())
            for scope in ("agent", "ops", "read")
        }


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def api(engine: Engine, rig: Rig) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(api=ApiSettings(enabled=True, write_burst=500, max_body_bytes=4096))
    reader = reader_of(engine)
    ctx = ApiContext(settings, engine, reader, rig.clock)
    with TestClient(make_app(ctx)) as client:
        yield client, tokens(engine)
    if reader is not engine:
        reader.dispose()


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def attempt_id(engine: Engine, number: str) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            select(Attempt.id).where(Attempt.number == "+86" + number).order_by(Attempt.id)
        ).scalar()
    assert found is not None
    return int(found)


def count(engine: Engine, model: Any, *where: Any) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_no_token_a_bad_token_and_a_token_outside_its_scope(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, tok = api
    bare = client.get("/v1/status")
    assert bare.status_code == 401 and bare.json()["error"] == "unauthorized"
    assert bare.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/v1/status", headers=auth("dlr_nope")).status_code == 401
    denied = client.post("/v1/campaigns/test-campaign/pause", headers=auth(tok["agent"]))
    assert denied.status_code == 403 and denied.json()["error"] == "forbidden"
    assert client.post("/v1/dnc", json={"number": "13800000000"},
                       headers=auth(tok["read"])).status_code == 403  # fmt: skip
    assert client.get("/v1/status", headers=auth(tok["agent"])).status_code == 200
    assert client.get("/v1/status", headers=auth(tok["ops"])).status_code == 200


def test_a_summary_applies_once_and_a_retry_gets_the_first_answer(
    api: tuple[TestClient, dict[str, str]], engine: Engine, rig: Rig
) -> None:
    client, tok = api
    aid = attempt_id(engine, ANSWERS)
    when = (rig.clock.now() + timedelta(days=1)).isoformat()
    body = {"code": "预约回拨", "callback_at": when, "note": "明天再打", "agent": "王芳"}
    headers = auth(tok["agent"], **{"Idempotency-Key": "desk-7-call-1"})
    first = client.post(f"/v1/attempts/{aid}/disposition", json=body, headers=headers)
    assert first.status_code == 200, first.text
    doc = first.json()
    assert (doc["from"], doc["outcome"], doc["treatment"]) == (
        "answered",
        "callback_requested",
        "callback",
    )
    assert doc["next_dial_at"] is not None
    with engine.connect() as conn:
        queued = conn.execute(
            select(PhoneNumber.next_dial_at).where(PhoneNumber.next_dial_at.is_not(None))
        ).all()
    again = client.post(f"/v1/attempts/{aid}/disposition", json=body, headers=headers)
    assert again.status_code == 200 and again.json() == doc
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post(
        f"/v1/attempts/{aid}/disposition", json={**body, "note": "x"}, headers=headers
    )
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    twice = client.post(f"/v1/attempts/{aid}/disposition", json=body, headers=auth(tok["agent"]))
    assert twice.status_code == 409 and twice.json()["error"] == "already_summarised"
    # one summary, one audit entry, and the contact's next step as the first made it
    assert count(engine, AttemptSummary) == 1
    assert count(engine, CampaignEvent, CampaignEvent.kind == "agent_summary") == 1
    assert count(engine, ApiIdempotencyKey) == 1
    with engine.connect() as conn:
        after = conn.execute(
            select(PhoneNumber.next_dial_at).where(PhoneNumber.next_dial_at.is_not(None))
        ).all()
    assert after == queued
    shown = client.get(f"/v1/attempts/{aid}", headers=auth(tok["read"])).json()
    assert shown["outcome"] == "callback_requested"
    assert shown["summary"]["agent"] == "王芳" and shown["summary"]["note"] == "明天再打"
    history = client.get("/v1/campaigns/test-campaign/contacts/c1", headers=auth(tok["read"]))
    assert history.status_code == 200
    assert history.json()["next"]["appointment"] is True
    assert [a["outcome"] for a in history.json()["attempts"]] == ["callback_requested"]


def test_a_dial_not_answered_or_unknown_is_refused(
    api: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    client, tok = api
    busy = attempt_id(engine, BUSY)
    refused = client.post(
        f"/v1/attempts/{busy}/disposition", json={"code": "completed"}, headers=auth(tok["agent"])
    )
    assert refused.status_code == 409 and refused.json()["error"] == "not_answered"
    missing = client.post(
        "/v1/attempts/999999/disposition", json={"code": "completed"}, headers=auth(tok["agent"])
    )
    assert missing.status_code == 404
    assert count(engine, AttemptSummary) == 0


def test_a_dial_in_flight_is_refused_until_its_result_is_recorded(
    api: tuple[TestClient, dict[str, str]], engine: Engine, rig: Rig
) -> None:
    client, tok = api
    with Session(engine) as s, s.begin():
        campaign = s.scalars(select(Campaign)).one()
        change_state(s, campaign.name, "resume", who="t", now=rig.clock.now())
    due = rig.clock.now() + timedelta(hours=7)
    rig.clock.advance_to(due)
    assert rig.step() > 0  # the second round's dials are out
    with engine.connect() as conn:
        live = conn.execute(select(Attempt.id).where(Attempt.status == "dialing")).scalars().all()
    assert live
    answer = client.post(
        f"/v1/attempts/{live[0]}/disposition",
        json={"code": "completed"},
        headers=auth(tok["agent"]),
    )
    assert answer.status_code == 409 and answer.json()["error"] == "in_flight"
    assert "retry after the call" in answer.json()["message"]


def test_bad_bodies_name_the_field_and_change_nothing(
    api: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    client, tok = api
    aid = attempt_id(engine, ANSWERS)
    url, h = f"/v1/attempts/{aid}/disposition", auth(tok["agent"])
    extra = client.post(url, json={"code": "completed", "colour": "red"}, headers=h)
    assert extra.status_code == 422 and extra.json()["field"] == "colour"
    typed = client.post(url, json={"code": 7}, headers=h)
    assert typed.status_code == 422 and typed.json()["field"] == "code"
    unknown = client.post(url, json={"code": "maybe"}, headers=h)
    assert unknown.status_code == 422 and unknown.json()["field"] == "code"
    naive = client.post(
        url, json={"code": "预约回拨", "callback_at": "2026-12-01T10:00"}, headers=h
    )
    assert naive.status_code == 422 and naive.json()["field"] == "callback_at"
    broken = client.post(
        url, content=b"{not json", headers=h | {"content-type": "application/json"}
    )
    assert broken.status_code == 422
    huge = client.post(url, json={"code": "completed", "note": "x" * 8000}, headers=h)
    assert huge.status_code == 413 and huge.json()["error"] == "too_large"
    assert client.get("/v1/attempts/abc", headers=auth(tok["read"])).json()["field"] == "attempt_id"
    ops = auth(tok["ops"])
    assert client.post("/v1/campaigns/nope/pause", headers=ops).status_code == 404
    assert (
        client.patch("/v1/campaigns/nope", json={"max_concurrent": 3}, headers=ops).status_code
        == 404
    )
    bad_pace = client.patch("/v1/campaigns/test-campaign", json={"max_concurrent": 0}, headers=ops)
    assert bad_pace.status_code == 422 and bad_pace.json()["field"] == "max_concurrent"
    rows = {"contacts": [{"external_id": "n1", "phone1": "13700000000"}, {"phone1": "1"}]}
    half = client.post("/v1/campaigns/test-campaign/contacts", json=rows, headers=ops)
    assert half.status_code == 422 and half.json()["field"] == "contacts[1].external_id"
    assert count(engine, AttemptSummary) == 0
    assert count(engine, Contact, Contact.external_id == "n1") == 0


def test_control_and_pace_are_stored_for_every_daemon_and_audited(
    api: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    client, tok = api
    ops = auth(tok["ops"])
    paused = client.post("/v1/campaigns/test-campaign/pause", headers=ops)
    assert paused.json() == {"campaign": "test-campaign", "from": "active", "state": "paused",
                             "changed": True}  # fmt: skip
    assert (
        client.post("/v1/campaigns/test-campaign/resume", headers=ops).json()["state"] == "active"
    )
    assert client.post("/v1/campaigns/test-campaign/stop", headers=ops).json()["state"] == "stopped"
    paced = client.patch(
        "/v1/campaigns/test-campaign",
        json={"max_concurrent": 3, "calls_per_second": 0.5},
        headers=ops,
    )
    assert paced.status_code == 200, paced.text
    with engine.connect() as conn:
        assert list(pace_overrides(conn).values()) == [
            {"max_concurrent": 3, "calls_per_second": 0.5}
        ]
    with Session(engine) as s:
        kinds = s.scalars(select(CampaignEvent.kind).order_by(CampaignEvent.id)).all()
        actors = set(s.scalars(select(CampaignEvent.actor).where(CampaignEvent.kind == "pace_set")))
    assert kinds[-4:] == ["campaign_paused", "campaign_resumed", "campaign_stopped", "pace_set"]
    assert paced.json()["changes"]["max_concurrent"]["to"] == 3
    assert actors == {"api:ops-desk"}


def test_contacts_are_appended_through_the_importer_with_their_rejections(
    api: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    client, tok = api
    ops = auth(tok["ops"])
    assert client.post("/v1/dnc", json={"number": "13700000003", "reason": "complaint"},
                       headers=ops).status_code == 200  # fmt: skip
    rows = {
        "contacts": [
            {"external_id": "n1", "name": "王五", "phone1": "137 0000 0001"},
            {"external_id": "n2", "phone1": "12"},
            {"external_id": "n3", "phone1": "13700000003"},
            {"external_id": "c1", "phone1": "13700000004"},
        ]
    }
    loaded = client.post("/v1/campaigns/test-campaign/contacts", json=rows, headers=ops)
    assert loaded.status_code == 200, loaded.text
    doc = loaded.json()
    assert doc["loaded_ids"] == ["n1"] and doc["already_loaded"] == 1
    reasons = {(r["row"], r["external_id"], r["reason"]) for r in doc["rejected_rows"]}
    assert (2, "n3", "dnc") in reasons  # the number, then the row that has none left
    assert {(e, r) for _, e, r in reasons} >= {("n2", "no_number_left"), ("n3", "no_number_left")}
    assert {row for row, _, _ in reasons} == {1, 2}
    csv_body = b"external_id,phone1\nn4,13700000005\nn5,abc\n"
    uploaded = client.post(
        "/v1/campaigns/test-campaign/contacts",
        content=csv_body,
        headers=ops | {"content-type": "text/csv"},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["loaded_ids"] == ["n4"]
    assert {(r["line"], r["external_id"]) for r in uploaded.json()["rejected_rows"]} == {(3, "n5")}
    headless = client.post(
        "/v1/campaigns/test-campaign/contacts",
        content=b"who,what\n1,2\n",
        headers=ops | {"content-type": "text/csv"},
    )
    assert headless.status_code == 422 and headless.json()["message"].startswith("contacts.csv:1:")
    wrong = client.post("/v1/campaigns/test-campaign/contacts", content=b"x",
                        headers=ops | {"content-type": "text/plain"})  # fmt: skip
    assert wrong.status_code == 415


def test_dnc_entries_are_added_and_removed_by_id(
    api: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    client, tok = api
    ops = auth(tok["ops"])
    added = client.post(
        "/v1/dnc", json={"number": BUSY, "reason": "投诉", "source": "crm"}, headers=ops
    ).json()
    assert added["added"] and added["kind"] == "number" and added["value"] == "+86" + BUSY
    with Session(engine) as s:
        entry = s.get(DncEntry, added["id"])
        assert entry is not None and (entry.source, entry.reason) == ("crm", "投诉")
    prefix = client.post("/v1/dnc", json={"prefix": "0755*"}, headers=ops).json()
    assert prefix["value"] == "+86755*"
    both = client.post("/v1/dnc", json={"number": BUSY, "contact": "c2"}, headers=ops)
    assert both.status_code == 422
    assert client.delete(f"/v1/dnc/{added['id']}", headers=ops).status_code == 200
    assert client.delete(f"/v1/dnc/{added['id']}", headers=ops).status_code == 404
    assert count(engine, DncEntry) == 1


def test_status_report_and_the_openapi_document(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, tok = api
    status = client.get("/v1/status", headers=auth(tok["read"])).json()
    assert [c["name"] for c in status["campaigns"]] == ["test-campaign"]
    report = client.get("/v1/campaigns/test-campaign/report", headers=auth(tok["read"]))
    assert report.status_code == 200 and report.json()["campaign"] == "test-campaign"
    assert "figures" in report.json()
    assert client.get("/v1/campaigns/nope/report", headers=auth(tok["read"])).status_code == 404
    spec = client.get("/v1/openapi.json").json()
    validate(spec)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(spec)))
    assert refs <= set(spec["components"]["schemas"])  # every reference resolves
    assert "/v1/attempts/{attempt_id}/disposition" in spec["paths"]


def test_writes_beyond_the_bucket_get_429_with_retry_after(engine: Engine, rig: Rig) -> None:
    settings = Settings(api=ApiSettings(writes_per_second=0.01, write_burst=2))
    ctx = ApiContext(settings, engine, engine, rig.clock)
    tok = tokens(engine)
    with TestClient(make_app(ctx)) as client:
        codes = [
            client.post("/v1/campaigns/test-campaign/pause", headers=auth(tok["ops"]))
            for _ in range(3)
        ]
        assert [r.status_code for r in codes] == [200, 200, 429]
        assert int(codes[2].headers["Retry-After"]) >= 1
        # reads are not limited
        assert client.get("/v1/status", headers=auth(tok["ops"])).status_code == 200


def test_a_body_sent_without_a_length_stops_at_the_limit(
    api: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    client, tok = api
    aid = attempt_id(engine, ANSWERS)

    def chunks() -> Iterator[bytes]:
        yield b'{"code": "completed", "note": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    sent = client.post(
        f"/v1/attempts/{aid}/disposition",
        content=chunks(),
        headers=auth(tok["agent"], **{"content-type": "application/json"}),
    )
    assert sent.status_code == 413
    assert count(engine, AttemptSummary) == 0


def test_token_verbs_print_once_list_and_revoke(
    engine: Engine, rig: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALERD_DATABASE__URL", engine.url.render_as_string(hide_password=False))
    config = tmp_path / "dialerd.toml"
    config.write_text("")
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, ["--config", str(config), "api", "token", *args])

    made = run("add", "crm-desk", "--scope", "agent")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("dlr_")
    assert run("add", "crm-desk", "--scope", "read").exit_code == 1  # the name is taken
    assert run("add", "x", "--scope", "admin").exit_code == 2
    listed = run("list", "--json")
    assert [(t["name"], t["scope"], t["revoked_at"]) for t in json.loads(listed.stdout)] == [
        ("crm-desk", "agent", None)
    ]
    assert token not in listed.stdout
    with Session(engine) as s:
        stored = s.scalars(select(ApiToken.token_sha256)).one()
    assert stored != token and token not in stored
    settings = Settings(api=ApiSettings(enabled=True))
    with TestClient(make_app(ApiContext(settings, engine, engine, rig.clock))) as client:
        assert client.get("/v1/status", headers=auth(token)).status_code == 200
        assert run("revoke", "crm-desk").exit_code == 0
        assert client.get("/v1/status", headers=auth(token)).status_code == 401
    assert "already revoked" in run("revoke", "crm-desk").output
    assert run("revoke", "nobody").exit_code == 1


def test_the_server_thread_reports_its_port_and_a_taken_one(engine: Engine, rig: Rig) -> None:
    first = ApiServer(ApiContext(Settings(api=ApiSettings(port=0)), engine, engine, rig.clock))
    host, port = first.start()
    try:
        assert host == "127.0.0.1" and port > 0 and first.alive()
        taken = Settings(api=ApiSettings(port=port))
        with pytest.raises(ApiServerError, match="cannot listen"):
            ApiServer(ApiContext(taken, engine, engine, rig.clock)).start()
    finally:
        first.stop()
    assert not first.alive()


def test_csv_uploads_have_their_own_size_limit(engine: Engine, rig: Rig) -> None:
    settings = Settings(api=ApiSettings(max_body_bytes=1024, max_csv_bytes=4096))
    tok = tokens(engine)
    rows = "".join(f"u{i},1370000{i:04d}\n" for i in range(100))  # about 2 KiB
    csv_headers = auth(tok["ops"], **{"content-type": "text/csv"})
    with TestClient(make_app(ApiContext(settings, engine, engine, rig.clock))) as client:
        url = "/v1/campaigns/test-campaign/contacts"
        fits = client.post(
            url, content=("external_id,phone1\n" + rows).encode(), headers=csv_headers
        )
        assert fits.status_code == 200 and fits.json()["loaded"] == 100
        over = ("external_id,phone1\n" + rows * 3).encode()
        assert client.post(url, content=over, headers=csv_headers).status_code == 413
        as_json = {
            "contacts": [{"external_id": f"j{i}", "phone1": "13700000001"} for i in range(40)]
        }
        assert client.post(url, json=as_json, headers=auth(tok["ops"])).status_code == 413
