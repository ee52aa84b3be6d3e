"""FlatSessions: the CSR layout of sessions, its checks, and building it from a long click table."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_ubergnn import datasets, utils
from sklearn_ubergnn.datasets import FlatSessions
from sklearn_ubergnn.utils import check_sessions


def test_public_from_datasets_and_utils():
    assert datasets.FlatSessions is FlatSessions is utils.FlatSessions
    assert "FlatSessions" in datasets.__all__


def test_layout_by_hand():
    items, offsets = np.array([5, 6, 7, 8]), np.array([0, 3, 3, 4])
    flat = FlatSessions(items, offsets)
    assert flat.items is items and flat.offsets is offsets  # kept as given, not copied
    assert len(flat) == 3 and repr(flat) == "FlatSessions(n_sessions=3, n_clicks=4)"
    np.testing.assert_array_equal(flat.lengths, [3, 0, 1])
    np.testing.assert_array_equal(flat.session_index, [0, 0, 0, 2])
    assert flat.to_list() == [[5, 6, 7], [], [8]]
    assert flat.take([2, 0, 2]).to_list() == [[8], [5, 6, 7], [8]]
    assert FlatSessions(np.zeros(0, dtype=np.int64), [0]).to_list() == []  # no session, not one empty


def test_indexing_like_a_list_of_sessions():
    flat = FlatSessions(np.array([5, 6, 7, 8, 9]), np.array([0, 3, 3, 4, 5]))
    sessions = [[5, 6, 7], [], [8], [9]]
    for i in range(-4, 4):
        assert flat[i].tolist() == sessions[i]
    assert flat[np.int32(2)].tolist() == [8]
    for key in (slice(1, None), slice(None, None, -2), slice(5, 9)):
        assert flat[key].to_list() == sessions[key]
    assert flat[[3, -4, 0]].to_list() == [[9], [5, 6, 7], [5, 6, 7]]
    assert flat[np.array([True, False, False, True])].to_list() == [[5, 6, 7], [9]]
    assert flat[[]].to_list() == []
    for key, match in ((4, "index 4 is out of range for 4"), ([0, -5], "index -5 is out of range"),
                       (np.array([True, False]), r"shape \(4,\); got \(2,\)"), ([0.5], "dtype float64")):
        with pytest.raises(IndexError, match=match):
            flat[key]


def test_cross_validation_on_flat_sessions_equals_lists():
    from sklearn.model_selection import KFold, cross_val_score

    from sklearn_ubergnn.preprocessing import session_prefixes
    from sklearn_ubergnn.session import SessionKNNRecommender

    sessions, _, _ = datasets.make_sessions(n_sessions=80, random_state=0)
    X, y = session_prefixes(sessions)
    X_flat, y_flat = session_prefixes(sessions, as_flat=True)
    cv = KFold(3, shuffle=True, random_state=0)
    np.testing.assert_array_equal(cross_val_score(SessionKNNRecommender(), X_flat, y_flat, cv=cv),
                                  cross_val_score(SessionKNNRecommender(), X, y, cv=cv))


def test_constructor_converts_lists_and_int32_offsets():
    flat = FlatSessions([1, 2, 3], np.array([0, 1, 3], dtype=np.int32))
    assert flat.offsets.dtype == np.int64 and isinstance(flat.items, np.ndarray)
    assert flat.to_list() == [[1], [2, 3]]


@pytest.mark.parametrize(
    "items, offsets, error, match",
    [
        (np.zeros((2, 2)), [0, 4], ValueError, r"items must be 1-D; got an array of shape \(2, 2\)"),
        ([1, 2], [], ValueError, "offsets must be 1-D with n_sessions"),
        ([1, 2], [0.0, 2.0], TypeError, "offsets must be integers; got dtype float64"),
        ([1, 2], [1, 2], ValueError, r"start at 0 and end at len\(items\) = 2; got offsets\[0\] = 1"),
        ([1, 2], [0, 1], ValueError, r"offsets\[-1\] = 1"),
        ([1, 2, 3], [0, 2, 1, 3], ValueError, r"non-decreasing; offsets\[2\] = 1 is less than offsets\[1\] = 2"),
    ],
)
def test_constructor_rejects_a_broken_layout(items, offsets, error, match):
    with pytest.raises(error, match=match):
        FlatSessions(items, offsets)


def test_check_sessions_validates_and_copies_the_ids():
    flat = FlatSessions(np.array([3, 1, 2], dtype=np.int32), np.array([0, 2, 3]))
    out = check_sessions(flat)
    assert out.items.dtype == np.int64 and out.items is not flat.items and out.offsets is not flat.offsets
    out.items[0] = 99
    assert flat.items[0] == 3
    strings = FlatSessions(np.array(["a", "b"], dtype=object), np.array([0, 1, 2]))
    out = check_sessions(strings)
    assert out.items.dtype == object and out.items is not strings.items
    assert check_sessions(FlatSessions(np.array(["a", "b"]), [0, 2])).items.dtype == object  # numpy str


@pytest.mark.parametrize(
    "flat, kwargs, error, match",
    [
        (FlatSessions([1.5, 2.0], [0, 1, 2]), {}, TypeError, r"X\[0\]\[0\] is 1.5 of type float"),
        (FlatSessions(np.array([1, None], dtype=object), [0, 1, 2]), {}, ValueError, r"missing; X\[1\]\[0\] is None"),
        (FlatSessions(np.array([1, "a"], dtype=object), [0, 2]), {}, TypeError, "not a mix"),
        (FlatSessions([True, False], [0, 2]), {}, TypeError, "integers or strings"),
        (FlatSessions([1, 2], [0, 2, 2]), {}, ValueError, "session 1 of X is empty"),
        (FlatSessions(np.zeros(0, dtype=np.int64), [0]), {}, ValueError, "at least one session"),
        (FlatSessions(np.array([2**63], dtype=np.uint64), [0, 1]), {}, ValueError, "signed 64-bit"),
    ],
)
def test_check_sessions_rejects_bad_flat_input(flat, kwargs, error, match):
    with pytest.raises(error, match=match):
        check_sessions(flat, **kwargs)


def test_check_sessions_allows_empty_flat_sessions_when_asked():
    out = check_sessions(FlatSessions(np.zeros(0, dtype=np.int64), [0, 0, 0]), allow_empty=True)
    assert out.to_list() == [[], []]


def test_a_data_frame_points_to_from_frame():
    clicks = pd.DataFrame({"session": [1, 1], "item": [2, 3]})
    with pytest.raises(TypeError, match=r"FlatSessions.from_frame"):
        check_sessions(clicks)
    with pytest.raises(TypeError, match=r"X\['session'\]\[0\] is int 1\. .*FlatSessions.from_frame"):
        check_sessions(clicks["session"], input_name="X['session']")  # a long table's column: no sessions
    from sklearn_ubergnn.session import UberGNNRecommender

    with pytest.raises(TypeError, match=r"FlatSessions.from_frame"):  # the estimators say the same
        UberGNNRecommender().fit(clicks, [3, 4])


# ------------------------------------------------------------------------------------------ from_frame
def test_from_frame_by_hand():
    clicks = pd.DataFrame({
        "sid": [7, 3, 7, 3, 7, 9],
        "item": [10, 20, 30, 40, 50, 60],
        "t": [2.0, 5.0, 1.0, 6.0, 2.0, 0.0],
        "user": ["u", "v", "u", "v", "u", "w"],  # ignored
    })
    before = clicks.copy()
    flat, ids = FlatSessions.from_frame(clicks, session="sid", time="t", return_session_ids=True)
    # sessions by id 3, 7, 9; session 7 by time, the tie at t=2 keeps row order (10 before 50)
    assert flat.to_list() == [[20, 40], [30, 10, 50], [60]]
    np.testing.assert_array_equal(ids, [3, 7, 9])
    assert flat.items.dtype == np.int64 and flat.offsets.dtype == np.int64
    pd.testing.assert_frame_equal(clicks, before)  # the input is not modified
    # without a time column: row order within each session
    assert FlatSessions.from_frame(clicks, session="sid").to_list() == [[20, 40], [10, 30, 50], [60]]


def test_from_frame_string_ids_and_datetimes():
    clicks = pd.DataFrame({
        "session": ["b", "a", "b"],
        "item": ["x", "y", "z"],
        "time": pd.to_datetime(["2026-01-02 10:00", "2026-01-01 00:00", "2026-01-02 09:00"]).tz_localize("Europe/Berlin"),
    })
    flat, ids = FlatSessions.from_frame(clicks, time="time", return_session_ids=True)
    assert flat.to_list() == [["y"], ["z", "x"]] and ids.tolist() == ["a", "b"]
    assert flat.items.dtype == object


@pytest.mark.parametrize(
    "change, kwargs, error, match",
    [
        ({}, {"item": "product"}, ValueError, r"missing the column\(s\) \['product'\]; it has \['session', 'item', 'time'\]"),
        ({}, {"time": "ts"}, ValueError, r"missing the column\(s\) \['ts'\]"),
        ({"session": [1, None, 2]}, {}, ValueError, "column 'session' must not have missing values; row 1"),
        ({"item": [1, None, 2]}, {}, ValueError, r"missing; frame\['item'\]\[1\] is nan"),
        ({"item": [1.5, 2.0, 3.0]}, {}, TypeError, r"frame\['item'\]\[0\] is 1.5"),
        ({"time": [1.0, np.nan, 2.0]}, {"time": "time"}, ValueError, "column 'time' must not have missing values; row 1"),
        ({"time": ["a", "b", "c"]}, {"time": "time"}, TypeError, "column 'time' must hold numbers or datetimes"),
    ],
)
def test_from_frame_errors_name_the_column_and_row(change, kwargs, error, match):
    clicks = pd.DataFrame({"session": [1, 1, 2], "item": [1, 2, 3], "time": [1, 2, 3]}).assign(**change)
    with pytest.raises(error, match=match):
        FlatSessions.from_frame(clicks, **kwargs)


def test_from_frame_refuses_what_is_no_frame():
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        FlatSessions.from_frame([[1, 2]])
    with pytest.raises(ValueError, match="at least one click"):
        FlatSessions.from_frame(pd.DataFrame({"session": [], "item": []}))


_clicks = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 9), st.integers(0, 3)), min_size=1, max_size=40
)


@settings(max_examples=60, deadline=None)
@given(_clicks)
def test_from_frame_equals_the_grouping_in_python(rows):
    clicks = pd.DataFrame(rows, columns=["session", "item", "time"])
    expected = {}
    for position, (session, item, time) in enumerate(rows):
        expected.setdefault(session, []).append((time, position, item))
    reference = [[item for _, _, item in sorted(expected[s])] for s in sorted(expected)]
    assert FlatSessions.from_frame(clicks, time="time").to_list() == reference
    in_row_order = [[item for _, _, item in sorted(expected[s], key=lambda c: c[1])] for s in sorted(expected)]
    assert FlatSessions.from_frame(clicks).to_list() == in_row_order


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(-3, 10**12), min_size=0, max_size=6), min_size=1, max_size=12))
def test_round_trip_through_the_flat_layout(sessions):
    flat = check_sessions(sessions, allow_empty=True)
    assert flat.to_list() == sessions
    assert check_sessions(flat, allow_empty=True).to_list() == sessions
    rebuilt = FlatSessions(flat.items, flat.offsets)
    assert rebuilt.take(np.arange(len(sessions))).to_list() == sessions
