"""Tests of the shared input validation and the item vocabulary."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sklearn_ubergnn._validation import FlatSessions, check_ids, check_k, check_sessions
from sklearn_ubergnn._vocabulary import ItemVocabulary


def test_flat_layout_by_hand():
    sessions, y = check_sessions([[1, 2, 3], [4], [5, 6]], [7, 8, 9])
    np.testing.assert_array_equal(sessions.items, [1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(sessions.offsets, [0, 3, 4, 6])
    np.testing.assert_array_equal(sessions.lengths, [3, 1, 2])
    np.testing.assert_array_equal(sessions.session_index, [0, 0, 0, 1, 2, 2])
    np.testing.assert_array_equal(sessions.last_items, [3, 4, 6])
    assert sessions.to_list() == [[1, 2, 3], [4], [5, 6]]
    assert sessions.items.dtype == np.int64 and y.dtype == np.int64
    assert len(sessions) == 3


@pytest.mark.parametrize(
    "X",
    [
        [np.array([1, 2]), np.array([3])],
        pd.Series([[1, 2], [3]]),
        (np.int32(1), np.int64(2)) and [(np.int32(1), np.int64(2)), [3]],
    ],
)
def test_accepted_containers(X):
    assert check_sessions(X).to_list() == [[1, 2], [3]]


def test_two_dimensional_array_is_one_session_per_row():
    assert check_sessions(np.array([[1, 2], [3, 4]])).to_list() == [[1, 2], [3, 4]]


def test_string_ids_stay_strings():
    sessions, y = check_sessions([["a", "b"], ["c"]], ["d", "e"])
    assert sessions.items.dtype == object and y.dtype == object
    assert sessions.to_list() == [["a", "b"], ["c"]]


def test_flat_sessions_are_copied():
    flat = FlatSessions(np.array([1, 2]), np.array([0, 2]))
    out = check_sessions(flat)
    out.items[0] = 99
    assert flat.items[0] == 1


def test_input_not_mutated():
    X = [[3, 1], [2]]
    y = np.array([5, 6])
    check_sessions(X, y)
    assert X == [[3, 1], [2]]
    np.testing.assert_array_equal(y, [5, 6])


@pytest.mark.parametrize(
    "X, y, error, match",
    [
        ([], None, ValueError, "at least one session"),
        ([[1], []], None, ValueError, "session 1 of X is empty"),
        ([[1, None]], None, ValueError, r"X\[0\]\[1\] is None"),
        ([[1], [2, np.nan]], None, ValueError, r"X\[1\]\[1\] is nan"),
        ([[1, "a"]], None, TypeError, "not a mix"),
        ([[1.5]], None, TypeError, "float"),
        ([[True]], None, TypeError, "bool"),
        ("abc", None, TypeError, "sequence of sessions"),
        (5, None, TypeError, "sequence of sessions"),
        ([1, 2], None, TypeError, r"X\[0\] is int"),
        (["ab", "cd"], None, TypeError, r"X\[0\] is str"),
        ([[[1, 2]]], None, TypeError, "nested"),
        (pd.DataFrame({"a": [1]}), None, TypeError, "DataFrame"),
        ([[1], [2]], [1], ValueError, "same length; got 2 sessions and 1"),
        ([[1], [2]], [1, None], ValueError, r"y\[1\] is None"),
        ([["a"], ["b"]], [1, 2], TypeError, "X holds str item ids but y holds int"),
        ([[1]], [[1]], TypeError, "one item id per sample"),
    ],
)
def test_bad_input_is_named(X, y, error, match):
    with pytest.raises(error, match=match):
        check_sessions(X, y)


def test_check_ids_shape_and_type():
    np.testing.assert_array_equal(check_ids(pd.Series([3, 4])), [3, 4])
    with pytest.raises(ValueError, match="1-D"):
        check_ids(np.zeros((2, 2), dtype=int))
    with pytest.raises(ValueError, match="at least one id"):
        check_ids([])
    with pytest.raises(TypeError, match="1-D sequence"):
        check_ids("abc")


@pytest.mark.parametrize("k, error", [(0, ValueError), (-3, ValueError), (2.0, TypeError), (True, TypeError)])
def test_check_k_rejects(k, error):
    with pytest.raises(error, match="k must be a positive integer"):
        check_k(k)


def test_check_k_accepts_numpy_int():
    assert check_k(np.int64(20)) == 20


@given(st.lists(st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=6), min_size=1, max_size=20))
def test_roundtrip_property(sessions):
    flat = check_sessions(sessions)
    assert flat.to_list() == sessions
    assert flat.offsets[-1] == sum(map(len, sessions))


def test_vocabulary_encodes_and_marks_unseen():
    vocab = ItemVocabulary().fit(np.array([30, 10, 20]), np.array([10, 40]))
    np.testing.assert_array_equal(vocab.classes_, [10, 20, 30, 40])
    np.testing.assert_array_equal(vocab.transform(np.array([40, 10, 99, 5])), [3, 0, -1, -1])
    np.testing.assert_array_equal(vocab.inverse_transform([3, 0]), [40, 10])
    with pytest.raises(TypeError, match="fitted on int item ids"):
        vocab.transform(np.array(["a"], dtype=object))


def test_vocabulary_strings():
    vocab = ItemVocabulary().fit(np.array(["b", "a"], dtype=object))
    np.testing.assert_array_equal(vocab.transform(np.array(["a", "z", "b"], dtype=object)), [0, -1, 1])
