"""Hostile contact files: each bad row is refused on its own line, every good row is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dialerd.importer.lines import MAX_LINE_BYTES, MAX_RECORD_LINES
from dialerd.importer.reader import MAX_FIELD_CHARS, ContactReader, check_file
from dialerd.importer.rows import ContactRow, RowError

HEADER = "external_id,name,phone1\n"


def _good(first: int, count: int) -> str:
    return "".join(f"C{i},n{i},1380013{i:04d}\n" for i in range(first, first + count))


def _read(path: Path, **kwargs: Any) -> tuple[list[ContactRow], list[RowError]]:
    with ContactReader(path, region="CN", **kwargs) as reader:
        rows = list(reader)
    good = [r for r in rows if isinstance(r, ContactRow)]
    return good, [r for r in rows if isinstance(r, RowError)]


def _errors(bad: list[RowError]) -> list[tuple[int, str, str]]:
    return sorted((r.line, r.field, r.reason) for r in bad)


def test_a_value_over_the_field_limit_costs_its_row_only(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    huge = "x" * (MAX_FIELD_CHARS + 10)
    path.write_text(HEADER + _good(0, 100) + f"C-big,{huge},13800138000\n" + _good(100, 100))
    good, bad = _read(path)
    assert len(good) == 200
    assert _errors(bad) == [(102, "name", "value_too_long")]
    assert bad[0].message == f"longer than {MAX_FIELD_CHARS} characters"
    assert bad[0].values[0] == "C-big" and len(bad[0].values[1]) <= 101  # shown cut short
    (problem,) = list(check_file(path, region="CN"))
    assert str(problem) == f"{path}:102: name: longer than {MAX_FIELD_CHARS} characters"


def test_a_quoted_value_over_the_limit_across_lines_costs_its_row(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    huge = "y" * (MAX_FIELD_CHARS + 1)
    path.write_text(HEADER + _good(0, 2) + f'C-big,"a\nb{huge}",13800138000\n' + _good(2, 2))
    good, bad = _read(path)
    assert [r.external_id for r in good] == ["C0", "C1", "C2", "C3"]
    assert (4, "name") in [(r.line, r.field) for r in bad]
    assert all(r.line in (4, 5) for r in bad)


def test_a_line_over_a_mebibyte_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        HEADER + _good(0, 3) + "C-big," + "z," * (MAX_LINE_BYTES // 2) + "\n" + _good(3, 3)
    )
    good, bad = _read(path)
    assert len(good) == 6
    assert _errors(bad) == [(5, "row", "line_too_long")]


def test_a_nul_byte_costs_its_row_and_names_its_column(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(HEADER + _good(0, 2) + "C-nul,Zh\x00ang,13800138000\n" + _good(2, 2))
    good, bad = _read(path)
    assert len(good) == 4
    assert _errors(bad) == [(4, "name", "nul_byte")]
    assert bad[0].values == ["C-nul", "Zh\ufffdang", "13800138000"]


def test_undecodable_rows_far_into_a_utf8_file_have_their_own_line(tmp_path: Path) -> None:
    """Mixed encodings: GBK rows after the first 64 KiB of a UTF-8 file."""
    path = tmp_path / "c.csv"
    head = (HEADER + _good(0, 3000)).encode("utf-8")
    assert len(head) > 64 * 1024
    gbk = "C-gbk,张三,13900139000\n".encode("gbk")
    path.write_bytes(head + gbk + _good(3000, 5).encode() + gbk.replace(b"C-gbk", b"C-gb2"))
    good, bad = _read(path)
    assert len(good) == 3005
    assert _errors(bad) == [(3002, "encoding", "encoding"), (3008, "encoding", "encoding")]
    assert "byte 0xd5" in bad[0].message and "--encoding" in bad[0].message
    assert bad[0].values[0] == "C-gbk"


def test_a_bom_in_front_of_gbk_is_dropped_and_lines_stay_right(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    text = HEADER + "C1,张三,13800138000\nC2,李四,12345\nC3,王五,13700137000\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("gbk"))
    with ContactReader(path, region="CN") as reader:
        assert reader.encoding == "gb18030"
        assert reader.header == ["external_id", "name", "phone1"]
        rows = list(reader)
    assert [(r.line, r.name) for r in rows if isinstance(r, ContactRow)] == [
        (2, "张三"),
        (3, "李四"),
        (4, "王五"),
    ]
    (problem,) = list(check_file(path, region="CN"))
    assert (problem.line, problem.field) == (3, "phone1")


def test_a_quote_left_open_costs_its_line_and_the_rows_after_it_are_read(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(HEADER + _good(0, 2) + 'C-open,"Zhang,13800138000\n' + _good(2, 100))
    good, bad = _read(path)
    assert len(good) == 102
    assert _errors(bad) == [(4, "row", "malformed_row")]
    assert str(MAX_RECORD_LINES) in bad[0].message


def test_a_quote_left_open_near_the_end_costs_its_line_only(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(HEADER + _good(0, 2) + 'C-open,"Zhang,13800138000\n' + _good(2, 3))
    good, bad = _read(path)
    assert len(good) == 5
    assert _errors(bad) == [(4, "row", "malformed_row")]
    assert "never closed" in bad[0].message


def test_a_quoted_value_may_still_span_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(HEADER + 'C1,"line one\nline two",13800138000\n' + _good(2, 1))
    good, bad = _read(path)
    assert bad == []
    assert [(r.line, r.name) for r in good] == [(2, "line one\nline two"), (4, "n2")]


def test_cr_only_line_ends_are_read(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes((HEADER + _good(0, 3)).replace("\n", "\r").encode())
    good, bad = _read(path)
    assert bad == [] and [r.line for r in good] == [2, 3, 4]


def test_crlf_files_count_lines_once(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes((HEADER + "\n" + _good(0, 2)).replace("\n", "\r\n").encode("gbk"))
    good, bad = _read(path)
    assert bad == [] and [r.line for r in good] == [3, 4]
