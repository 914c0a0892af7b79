"""StrEnumText: values read back are members, any str with a member's value may be written."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import sqlite

from dialerd.db.types import StrEnumText
from dialerd.domain.outcomes import Outcome

DIALECT = sqlite.dialect()


def test_members_and_their_values_round_trip() -> None:
    column = StrEnumText(Outcome, 32)
    for member in Outcome:
        assert column.process_bind_param(member, DIALECT) == member.value
        assert column.process_bind_param(member.value, DIALECT) == member.value
        read = column.process_result_value(member.value, DIALECT)
        assert read is member
    assert column.process_bind_param(None, DIALECT) is None
    assert column.process_result_value(None, DIALECT) is None


@pytest.mark.parametrize("bad", ["no_such_outcome", "", 3])
def test_a_value_no_member_has_is_refused_both_ways(bad: object) -> None:
    column = StrEnumText(Outcome, 32)
    with pytest.raises(ValueError):
        column.process_bind_param(bad, DIALECT)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        column.process_result_value(bad, DIALECT)
