"""dialerd.db.bulk.chunks: a batch of any size in a few statement shapes."""

from __future__ import annotations

from dialerd.db.bulk import chunks


def test_pieces_cover_the_rows_in_order_with_power_of_two_sizes() -> None:
    for count in range(0, 1100):
        pieces = chunks(count, 256)
        covered = [i for start, size in pieces for i in range(start, start + size)]
        assert covered == list(range(count))  # each row once, in order
        for _, size in pieces:
            assert size <= 256 and size & (size - 1) == 0


def test_all_batch_sizes_share_nine_shapes() -> None:
    sizes = {size for count in range(1, 2000) for _, size in chunks(count, 256)}
    assert sizes == {1 << k for k in range(9)}
    assert chunks(300, 256) == [(0, 256), (256, 32), (288, 8), (296, 4)]
