"""Blocked passes over ragged data: segment_blocks and gather_segments."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_ubergnn import _arrays
from sklearn_ubergnn._arrays import concat_ranges, gather_segments, segment_blocks


def test_segment_blocks_by_hand():
    assert list(segment_blocks(np.array([2, 2, 5, 1, 1]), block=4)) == [slice(0, 2), slice(2, 3), slice(3, 5)]
    assert list(segment_blocks(np.array([0, 0, 3]), block=1)) == [slice(0, 2), slice(2, 3)]
    assert list(segment_blocks(np.zeros(0, dtype=np.int64), block=4)) == []


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=30), st.integers(1, 9))
def test_segment_blocks_cover_every_segment_once_within_the_block(lengths, block):
    lengths = np.array(lengths, dtype=np.int64)
    blocks = list(segment_blocks(lengths, block=block))
    assert [i for rows in blocks for i in range(rows.start, rows.stop)] == list(range(len(lengths)))
    assert all(lengths[rows].sum() <= block or rows.stop - rows.start == 1 for rows in blocks)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 19), st.integers(0, 5)), max_size=25), st.integers(1, 9))
def test_gather_segments_equals_one_gather_for_any_block(segments, block):
    values = np.arange(100, 125)
    starts = np.array([s for s, _ in segments], dtype=np.int64)
    lengths = np.array([min(n, 25 - s) for s, n in segments], dtype=np.int64)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_arrays, "SEGMENT_BLOCK", block)
        np.testing.assert_array_equal(gather_segments(values, starts, lengths),
                                      values[concat_ranges(starts, lengths)])
