"""The [columns] table: header matching, did-you-mean, and the model's own checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dialerd.campaignfile.columns import ColumnsTable, resolve
from dialerd.importer.rows import Columns

HEADER = ["保单号", "投保人", " 手机号码 ", "固定电话", "Name", "备注"]


def test_a_list_of_headers_takes_the_first_one_present() -> None:
    found = resolve(HEADER, {"external_id": ("保单号",), "phone1": ("手机", "手机号码")})
    assert found.index == {"external_id": 0, "phone1": 2, "name": 4}
    assert found.missing == ()


def test_a_missing_header_names_the_nearest_real_one() -> None:
    found = resolve(HEADER, {"external_id": ("保单号",), "phone1": ("手机号",)})
    (gap,) = found.missing
    assert gap.field == "phone1"
    assert gap.message("list.csv") == 'no column "手机号" in list.csv; did you mean "手机号码"?'


def test_no_hint_when_nothing_is_close() -> None:
    (gap,) = resolve(HEADER, {"phone2": ("mobile", "cell")}).missing
    assert gap.message("a.csv") == 'no column "mobile" or "cell" in a.csv'


def test_unmapped_columns_go_to_data_and_mapped_fields_are_labelled_by_header() -> None:
    mapping = {"external_id": ("保单号",), "name": ("投保人",), "phone1": ("手机号码",)}
    columns, problems = Columns.from_header(HEADER, mapping, "list.csv")
    assert problems == []
    assert [name for name, _ in columns.data] == ["固定电话", "Name", "备注"]
    assert columns.label("external_id") == "保单号"
    assert columns.label("priority") == "priority"


def test_header_problems_without_a_mapping_are_unchanged() -> None:
    _, problems = Columns.from_header(["name", "phone1"])
    assert problems == ["missing required column external_id"]


def test_a_single_header_becomes_a_tuple() -> None:
    table = ColumnsTable.model_validate({"phone1": "手机", "phone2": ["固话", "电话"]})
    assert table.mapping() == {"phone1": ("手机",), "phone2": ("固话", "电话")}


def test_one_header_may_not_feed_two_fields() -> None:
    with pytest.raises(ValidationError, match="mapped to both phone1 and phone2"):
        ColumnsTable.model_validate({"phone1": "手机", "phone2": ["电话", "手机"]})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        ColumnsTable.model_validate({"mobile": "手机"})
