"""Lists as they come: a GBK list with Chinese headers, read through the campaign's [columns]."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialerd.campaignfile.loader import check_file, load_file
from dialerd.cli import cli
from dialerd.db.models import Contact, PhoneNumber
from dialerd.engine.campaigns import install
from tests.conftest import REPO

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
HEADER = "保单号,投保人,手机号码,固定电话,联系电话2,险种,备注\r\n"
ROWS = (
    "P001,王芳,138-0013-8000,010-5812 4158,,车险,客户要求下午联系\r\n"
    "P002,李强,,021-6729 8063,13501234567,意外险,\r\n"
    "P003,张伟,138-0013-800O,,,健康险,\r\n"
)
CAMPAIGN = """name = "renewals"
contacts = ["list.csv"]
timezone = "Asia/Shanghai"
holidays = {{ country = "CN" }}

[columns]
external_id = "保单号"
name = "投保人"
phone1 = {phone1}
phone2 = "固定电话"
phone3 = "联系电话2"

[dialing]
channel = "PJSIP/{{number}}@carrier"
caller_id = "4006589888"
answered = {{ context = "dialerd-answered", exten = "s" }}

[[windows]]
days = "mon-fri"
start = "09:00"
end = "17:00"
"""


def _folder(tmp_path: Path, phone1: str = '["手机", "手机号码"]') -> Path:
    (tmp_path / "list.csv").write_bytes((HEADER + ROWS).encode("gbk"))
    (tmp_path / "renewals.toml").write_text(CAMPAIGN.format(phone1=phone1), encoding="utf-8")
    return tmp_path / "renewals.toml"


def test_gbk_list_with_chinese_headers_imports_through_the_mapping(
    engine: Engine, tmp_path: Path
) -> None:
    loaded = load_file(_folder(tmp_path))
    runtime = install(engine, loaded, now=NOW, actor="test")
    with Session(engine) as session:
        contacts = {
            c.external_id: c
            for c in session.scalars(select(Contact).where(Contact.campaign_id == runtime.id))
        }
        numbers = {
            n.e164: n.position
            for n in session.scalars(
                select(PhoneNumber).where(PhoneNumber.campaign_id == runtime.id)
            )
        }
    assert set(contacts) == {"P001", "P002"}, "P003's only number is not a number"
    assert contacts["P001"].name == "王芳"
    assert contacts["P001"].data == {"险种": "车险", "备注": "客户要求下午联系"}
    assert numbers == {
        "+8613800138000": 1,
        "+861058124158": 2,
        "+862167298063": 1,
        "+8613501234567": 2,
    }
    rejects = (tmp_path / "list.rejects.csv").read_text(encoding="utf-8-sig")
    assert "手机号码" in rejects, "the rejects file names the list's own header"


def test_a_mapping_typo_gets_a_did_you_mean_naming_the_files_header(tmp_path: Path) -> None:
    path = _folder(tmp_path, phone1='"手机号"')
    loaded, problems = check_file(path)
    assert loaded is None
    assert [str(p) for p in problems if ": warning: " not in str(p)] == [
        f'{path}:9: columns.phone1: no column "手机号" in list.csv; did you mean "手机号码"?'
    ]
    result = CliRunner().invoke(cli, ["campaign", "validate", str(path)])
    assert result.exit_code == 1
    assert 'columns.phone1: no column "手机号" in list.csv; did you mean "手机号码"?' in (
        result.stdout
    )


def test_the_shipped_gbk_example_validates(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["campaign", "validate", str(REPO / "campaigns" / "renewal-reminder.toml")]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("rows", [1, 3])
def test_preview_shows_rows_as_read_and_writes_nothing(tmp_path: Path, rows: int) -> None:
    path = _folder(tmp_path)
    db = tmp_path / "never.db"
    config = tmp_path / "dialerd.toml"
    config.write_text(f"[database]\nurl = 'sqlite:///{db}'\n", encoding="utf-8")
    args = ["--config", str(config), "import", "--preview", str(path)]
    result = CliRunner().invoke(cli, [*args, str(tmp_path / "list.csv"), "--rows", str(rows)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "list.csv: gb18030" in out
    assert "phone1               <- 手机号码" in out
    assert "phone1 手机号码: 138-0013-8000 -> +8613800138000 (mobile, China Mobile)" in out
    assert ("line 4: P003" in out) == (rows == 3)
    if rows == 3:
        assert "phone1 手机号码: 138-0013-800O -> dropped:" in out
        assert "REFUSED: no dialable number left" in out
    assert f"first {rows} row(s)" in out
    assert not db.exists(), "a preview writes nothing"
    assert not (tmp_path / "list.rejects.csv").exists()


def test_import_cli_reads_the_mapping_the_campaign_was_loaded_with(
    engine: Engine, tmp_path: Path
) -> None:
    path = _folder(tmp_path)
    install(engine, load_file(path), now=NOW, actor="test")
    more = tmp_path / "more.csv"
    more.write_bytes((HEADER + "P010,赵敏,13912345678,,,车险,\r\n").encode("gbk"))
    config = tmp_path / "dialerd.toml"
    url = engine.url.render_as_string(hide_password=False)
    config.write_text(f"[database]\nurl = {url!r}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "import", "renewals", str(more)])
    assert result.exit_code == 0, result.output
    assert "loaded:            1 contacts, 1 numbers" in result.stdout
