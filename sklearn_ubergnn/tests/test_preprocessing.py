"""Tests of session filtering, prefix samples, time splits, SR-GNN preprocessing and UserPortraitEncoder."""
import copy
import pickle
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from sklearn_ubergnn._validation import check_sessions
from sklearn_ubergnn.datasets import FlatSessions
from sklearn_ubergnn.preprocessing import (
    UserPortraitEncoder,
    filter_rare_items,
    session_prefixes,
    srgnn_preprocess,
    temporal_split,
)

# KBinsDiscretizer warns when the tiny tables here collapse some quantile bins.
pytestmark = pytest.mark.filterwarnings("ignore:Bins whose width are too small:UserWarning")

DAY = 86400
session_lists = st.lists(st.lists(st.integers(0, 6), min_size=1, max_size=7), min_size=1, max_size=12)


# ---------------------------------------------------------------------------------------
# filter_rare_items
# ---------------------------------------------------------------------------------------
def test_filter_rare_items_hand_worked():
    sessions = [[1, 2, 3], [1, 2], [2, 4], [1, 3]]
    # counts 1:3 2:3 3:2 4:1 -> min 3 keeps items 1, 2 -> [1, 2], [1, 2], [2], [1] -> two sessions
    assert filter_rare_items(sessions, min_item_count=3, until_stable=False) == [[1, 2], [1, 2]]
    # now 1 and 2 occur twice each, below 3: the next pass removes everything
    filtered, index = filter_rare_items(sessions, min_item_count=3, return_index=True)
    assert filtered == [] and index.dtype == np.int64 and len(index) == 0
    # min 2: item 4 goes, session [2, 4] becomes [2] and goes; counts then 1:3 2:2 3:2: stable
    filtered, index = filter_rare_items(sessions, min_item_count=2, return_index=True)
    assert filtered == [[1, 2, 3], [1, 2], [1, 3]]
    np.testing.assert_array_equal(index, [0, 1, 3])
    assert filter_rare_items(sessions, min_item_count=1, min_session_length=3) == [[1, 2, 3]]


def test_filter_rare_items_string_ids_and_containers():
    sessions = [["a", "b"], ["a", "c", "b"], ["c"]]
    # one pass keeps "c" (seen twice) but drops the session ["c"]; then "c" is seen once
    assert filter_rare_items(sessions, min_item_count=2, until_stable=False) == [["a", "b"], ["a", "c", "b"]]
    assert filter_rare_items(sessions, min_item_count=2) == [["a", "b"], ["a", "b"]]
    assert filter_rare_items(np.array([[1, 2], [1, 3]]), min_item_count=2, min_session_length=1) == [[1], [1]]
    assert filter_rare_items(check_sessions([[1, 1], [2]]), min_item_count=2) == [[1, 1]]
    assert filter_rare_items(pd.Series([[5, 5], [6, 5]]), min_item_count=3, until_stable=False) == [[5, 5]]


def test_filter_rare_items_does_not_modify_input():
    sessions = [[1, 2, 3], [1, 2], [2, 4]]
    before = copy.deepcopy(sessions)
    filter_rare_items(sessions, min_item_count=2)
    assert sessions == before


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"min_item_count": 0}, ValueError, "min_item_count"),
        ({"min_session_length": 0}, ValueError, "min_session_length"),
        ({"min_item_count": 2.5}, TypeError, "min_item_count"),
        ({"until_stable": "yes"}, TypeError, "until_stable"),
    ],
)
def test_filter_rare_items_bad_params(kwargs, error, match):
    with pytest.raises(error, match=match):
        filter_rare_items([[1, 2]], **kwargs)


def test_filter_rare_items_bad_sessions():
    with pytest.raises(ValueError, match="session 1 of sessions is empty"):
        filter_rare_items([[1], []])
    with pytest.raises(TypeError, match="integers or strings"):
        filter_rare_items([[1.5, 2.5]])


def _filter_reference(sessions, min_count, min_length, until_stable):
    kept = list(range(len(sessions)))
    current = [list(s) for s in sessions]
    while True:
        counts = Counter(i for s in current for i in s)
        new = [[i for i in s if counts[i] >= min_count] for s in current]
        keep = [j for j, s in enumerate(new) if len(s) >= min_length]
        changed = [new[j] for j in keep] != current
        current, kept = [new[j] for j in keep], [kept[j] for j in keep]
        if not (until_stable and changed):
            return current, kept


@settings(max_examples=150, deadline=None)
@given(session_lists, st.integers(1, 4), st.integers(1, 3), st.booleans())
def test_filter_rare_items_matches_reference(sessions, min_count, min_length, until_stable):
    got, index = filter_rare_items(
        sessions, min_item_count=min_count, min_session_length=min_length, until_stable=until_stable, return_index=True
    )
    expected, expected_index = _filter_reference(sessions, min_count, min_length, until_stable)
    assert got == expected
    assert index.tolist() == expected_index
    if until_stable and got:  # a fixed point: every remaining item and session passes both thresholds
        counts = Counter(i for s in got for i in s)
        assert min(counts.values()) >= min_count
        assert min(map(len, got)) >= min_length


# ---------------------------------------------------------------------------------------
# session_prefixes
# ---------------------------------------------------------------------------------------
def test_session_prefixes_hand_worked():
    X, y = session_prefixes([[1, 2, 3, 4], [5], [6, 7]])
    assert X == [[1], [1, 2], [1, 2, 3], [6]]
    np.testing.assert_array_equal(y, [2, 3, 4, 7])
    assert y.dtype == np.int64
    X, y, index = session_prefixes([[1, 2, 3, 4], [5], [6, 7]], order="srgnn", return_session_index=True)
    assert X == [[1, 2, 3], [1, 2], [1], [6]]
    np.testing.assert_array_equal(y, [4, 3, 2, 7])
    np.testing.assert_array_equal(index, [0, 0, 0, 2])
    X, y = session_prefixes([[1, 2, 3, 4], [6, 7]], min_prefix_length=2)
    assert X == [[1, 2], [1, 2, 3]]
    np.testing.assert_array_equal(y, [3, 4])


def test_session_prefixes_strings_and_empty_result():
    X, y = session_prefixes([["a", "b", "a"]])
    assert X == [["a"], ["a", "b"]] and y.dtype == object and y.tolist() == ["b", "a"]
    X, y = session_prefixes([[1], [2]])
    assert X == [] and len(y) == 0


def test_session_prefixes_bad_input():
    with pytest.raises(ValueError, match="order"):
        session_prefixes([[1, 2]], order="backward")
    with pytest.raises(ValueError, match="min_prefix_length"):
        session_prefixes([[1, 2]], min_prefix_length=0)
    with pytest.raises(ValueError, match="at least one session"):
        session_prefixes([])


@settings(max_examples=150, deadline=None)
@given(session_lists, st.integers(1, 3))
def test_session_prefixes_matches_reference(sessions, m):
    X, y, index = session_prefixes(sessions, min_prefix_length=m, return_session_index=True)
    expected = [(s[:p], s[p], j) for j, s in enumerate(sessions) for p in range(m, len(s))]
    assert list(zip(X, y.tolist(), index.tolist())) == expected
    X2, y2 = session_prefixes(sessions, min_prefix_length=m, order="srgnn")
    expected = [(s[:-i], s[-i]) for s in sessions for i in range(1, len(s) - m + 1)]
    assert list(zip(X2, y2.tolist())) == expected


def test_session_prefixes_as_flat_by_hand():
    X, y, index = session_prefixes([[1, 2, 3, 4], [5], [6, 7]], order="srgnn", return_session_index=True,
                                   as_flat=True)
    assert isinstance(X, FlatSessions)
    np.testing.assert_array_equal(X.items, [1, 2, 3, 1, 2, 1, 6])
    np.testing.assert_array_equal(X.offsets, [0, 3, 5, 6, 7])
    np.testing.assert_array_equal(y, [4, 3, 2, 7])
    np.testing.assert_array_equal(index, [0, 0, 0, 2])
    X, y = session_prefixes([[1], [2]], as_flat=True)  # no sample
    assert len(X) == 0 and len(X.items) == 0 and len(y) == 0


@settings(max_examples=100, deadline=None)
@given(session_lists, st.integers(1, 3), st.sampled_from(["forward", "srgnn"]))
def test_session_prefixes_as_flat_equals_the_lists(sessions, m, order):
    X, y, index = session_prefixes(sessions, min_prefix_length=m, order=order, return_session_index=True)
    flat = check_sessions(sessions)  # a FlatSessions input gives the same samples too
    Xf, yf, index_f = session_prefixes(flat, min_prefix_length=m, order=order, return_session_index=True,
                                       as_flat=True)
    assert Xf.to_list() == X
    np.testing.assert_array_equal(yf, y)
    np.testing.assert_array_equal(index_f, index)


def test_filter_rare_items_as_flat():
    sessions = [[1, 2, 3], [1, 2], [2, 4], [1, 3]]
    flat, index = filter_rare_items(sessions, min_item_count=2, return_index=True, as_flat=True)
    assert isinstance(flat, FlatSessions) and flat.to_list() == [[1, 2, 3], [1, 2], [1, 3]]
    np.testing.assert_array_equal(index, [0, 1, 3])
    assert len(filter_rare_items(sessions, min_item_count=3, as_flat=True)) == 0


def test_session_prefixes_input_not_modified():
    sessions = [np.array([1, 2, 3]), np.array([4, 5])]
    session_prefixes(sessions)[0][0].append(99)  # outputs are fresh lists
    np.testing.assert_array_equal(sessions[0], [1, 2, 3])


# ---------------------------------------------------------------------------------------
# temporal_split
# ---------------------------------------------------------------------------------------
def test_temporal_split_hand_worked():
    times = [0, 3 * DAY, DAY, 2 * DAY, 3 * DAY]
    train, test = temporal_split(times, test_days=1)  # split at 2 days: test > 2 days
    np.testing.assert_array_equal(train, [0, 2, 3])
    np.testing.assert_array_equal(test, [1, 4])
    # one test session asked, but the two latest tie at 3 days: both stay in training
    with pytest.raises(ValueError, match="test set is empty"):
        temporal_split(times, test_size=0.2)
    train, test = temporal_split(times, test_size=0.4)
    np.testing.assert_array_equal(test, [1, 4])


def test_temporal_split_ties_stay_together():
    times = [0, 10, 20, 20, 30]
    train, test = temporal_split(times, test_size=2)  # the two latest are 30 and one 20: ties go to train
    np.testing.assert_array_equal(train, [0, 1, 2, 3])
    np.testing.assert_array_equal(test, [4])
    train, test = temporal_split(times, test_size=0.6)  # ceil(3) latest: 30, 20, 20
    np.testing.assert_array_equal(train, [0, 1])
    np.testing.assert_array_equal(test, [2, 3, 4])


def test_temporal_split_datetimes():
    times = pd.to_datetime(["2016-01-01", "2016-01-09", "2016-01-02", "2016-01-05"])
    train, test = temporal_split(times, test_days=7)  # split 2016-01-02: test strictly after
    np.testing.assert_array_equal(train, [0, 2])
    np.testing.assert_array_equal(test, [1, 3])
    utc = pd.Series(times).dt.tz_localize("Europe/Paris")
    np.testing.assert_array_equal(temporal_split(utc, test_days=7)[1], [1, 3])
    np.testing.assert_array_equal(temporal_split(times.to_numpy(), test_days=7)[1], [1, 3])


@pytest.mark.parametrize(
    "times, kwargs, error, match",
    [
        ([1, 2], {}, ValueError, "exactly one of test_size and test_days"),
        ([1, 2], {"test_size": 0.5, "test_days": 1}, ValueError, "exactly one"),
        ([1, 2], {"test_size": 1.5}, ValueError, "test_size"),
        ([1, 2], {"test_days": -1}, ValueError, "test_days"),
        ([1, 2], {"test_size": 2}, ValueError, "holds out all 2 sessions"),
        ([1, 2], {"test_days": 100}, ValueError, "training set is empty"),
        ([5, 5], {"test_size": 1}, ValueError, "test set is empty"),
        ([1, np.nan], {"test_days": 1}, ValueError, r"times\[1\]"),
        ([[1, 2]], {"test_days": 1}, ValueError, "1-D"),
        ([], {"test_days": 1}, ValueError, "at least one"),
        (["a", "b"], {"test_days": 1}, TypeError, "numbers"),
    ],
)
def test_temporal_split_errors(times, kwargs, error, match):
    with pytest.raises(error, match=match):
        temporal_split(times, **kwargs)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=2, max_size=30), st.floats(0.05, 0.95))
def test_temporal_split_properties(times, fraction):
    times = np.array(times) * DAY
    try:
        train, test = temporal_split(times, test_size=fraction)
    except ValueError as exc:  # only when ties leave no test session, or nothing is left to train on
        assert "test set is empty" in str(exc) or "holds out all" in str(exc)
        return
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(times)))
    assert times[train].max() < times[test].min()  # no look-ahead
    assert len(test) <= int(np.ceil(fraction * len(times)))


# ---------------------------------------------------------------------------------------
# srgnn_preprocess
# ---------------------------------------------------------------------------------------
def test_srgnn_preprocess_hand_worked():
    sessions = [
        [10, 11],          # day 0  train
        [11, 12, 10],      # day 1  train
        [13],              # day 1  length 1: dropped first
        [12, 10, 99],      # day 2  on the split day (9 - 7): dropped from both sides
        [11, 10],          # day 3  test
        [10, 14, 14],      # day 8  14 is rare (2 < 3 times): -> [10], too short, dropped
        [12, 11, 10],      # day 9  test
        [10, 11],          # day 1  train, after session 1 (same day, later in input order)
    ]
    times = np.array([0, 1, 1, 2, 3, 8, 9, 1]) * DAY
    res = srgnn_preprocess(sessions, times, min_item_count=3, test_days=7)
    assert res.split_time == 2 * DAY
    np.testing.assert_array_equal(res.train_index, [0, 1, 7])
    assert res.item_map == {10: 1, 11: 2, 12: 3}  # order of first appearance in time order
    assert res.train_sessions == [[1, 2], [2, 3, 1], [1, 2]]
    assert res.n_items == 3
    # SR-GNN order: longest prefix first within each session
    assert res.train_X == [[1], [2, 3], [2], [1]]
    np.testing.assert_array_equal(res.train_y, [2, 1, 3, 2])
    # test: days 3 and 9 (sessions 4 and 6)
    np.testing.assert_array_equal(res.test_index, [4, 6])
    assert res.test_sessions == [[2, 1], [3, 2, 1]]
    assert res.test_X == [[2], [3, 2], [3]]
    np.testing.assert_array_equal(res.test_y, [1, 1, 2])


def test_srgnn_preprocess_unseen_test_items_and_strings():
    sessions = [["a", "b"], ["b", "a"], ["a", "c", "b", "c"], ["c", "a"]]
    res = srgnn_preprocess(sessions, [0, 0, 10 * DAY, 10 * DAY], min_item_count=1, test_days=7)
    assert res.item_map == {"a": 1, "b": 2}
    assert res.test_sessions == [[1, 2]]  # "c" unseen in training; ["c", "a"] -> ["a"] too short
    assert res.test_X == [[1]] and res.test_y.tolist() == [2]


def test_srgnn_preprocess_errors():
    with pytest.raises(ValueError, match="same length"):
        srgnn_preprocess([[1, 2]], [0, 1])
    with pytest.raises(ValueError, match="no session is left"):
        srgnn_preprocess([[1, 2], [3]], [0, 1], min_item_count=5)
    with pytest.raises(ValueError, match="no training session"):
        srgnn_preprocess([[1, 2], [1, 2]], [0, DAY], min_item_count=1, test_days=7)
    with pytest.raises(ValueError, match="test_days"):
        srgnn_preprocess([[1, 2]], [0], test_days=0)


def _srgnn_reference(sessions, times, min_count, test_days):
    """The SR-GNN protocol written the plain way, one session at a time."""
    alive = {j: list(s) for j, s in enumerate(sessions) if len(s) > 1}
    counts = Counter(i for s in alive.values() for i in s)
    alive = {j: [i for i in s if counts[i] >= min_count] for j, s in alive.items()}
    alive = {j: s for j, s in alive.items() if len(s) >= 2}
    split = max(times[j] for j in alive) - test_days * DAY
    train = sorted((j for j in alive if times[j] < split), key=lambda j: times[j])
    test = sorted((j for j in alive if times[j] > split), key=lambda j: times[j])
    item_map = {}
    for j in train:
        for i in alive[j]:
            item_map.setdefault(i, len(item_map) + 1)
    train_seqs = [[item_map[i] for i in alive[j]] for j in train]
    test_pairs = [(j, [item_map[i] for i in alive[j] if i in item_map]) for j in test]
    test_pairs = [(j, s) for j, s in test_pairs if len(s) >= 2]

    def augment(seqs):
        return [(s[:-i], s[-i]) for s in seqs for i in range(1, len(s))]

    return train, train_seqs, [j for j, _ in test_pairs], [s for _, s in test_pairs], item_map, augment


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(st.integers(0, 8), min_size=1, max_size=6), st.integers(0, 12)), min_size=1, max_size=25
    ),
    st.integers(1, 3),
)
def test_srgnn_preprocess_matches_reference(data, min_count):
    sessions = [s for s, _ in data]
    times = np.array([d for _, d in data]) * DAY
    try:
        train, train_seqs, test, test_seqs, item_map, augment = _srgnn_reference(sessions, times, min_count, 3)
    except ValueError:  # max() of nothing: no session survives
        with pytest.raises(ValueError, match="no session is left"):
            srgnn_preprocess(sessions, times, min_item_count=min_count, test_days=3)
        return
    if not train:
        with pytest.raises(ValueError, match="no training session"):
            srgnn_preprocess(sessions, times, min_item_count=min_count, test_days=3)
        return
    res = srgnn_preprocess(sessions, times, min_item_count=min_count, test_days=3)
    assert res.train_index.tolist() == train and res.test_index.tolist() == test
    assert res.train_sessions == train_seqs and res.test_sessions == test_seqs
    assert res.item_map == item_map
    assert list(zip(res.train_X, res.train_y.tolist())) == augment(train_seqs)
    assert list(zip(res.test_X, res.test_y.tolist())) == augment(test_seqs)


# ---------------------------------------------------------------------------------------
# UserPortraitEncoder
# ---------------------------------------------------------------------------------------
@pytest.fixture
def users():
    return pd.DataFrame(
        {
            "gender": ["M", "F", "F", "M", None, "F"],
            "occupation": pd.Categorical(["a", "b", "c", "a", "b", "a"]),
            "member": [True, False, True, True, False, False],
            "age": [18.0, 25.0, 33.0, 41.0, np.nan, 60.0],
            "visits": [1, 2, 3, 4, 5, 6],
        }
    )


def test_user_encoder_auto_split_and_codes(users):
    enc = UserPortraitEncoder(n_bins=2).fit(users)
    assert enc.categorical_ == ["gender", "occupation", "member"]
    assert enc.continuous_ == ["age", "visits"]
    # gender {F, M} + 0, occupation {a, b, c} + 0, member {False, True} + 0, 2 bins + 0 each
    assert enc.field_sizes_ == [3, 4, 3, 3, 3]
    codes = enc.transform(users)
    assert codes.dtype == np.int64 and codes.shape == (6, 5)
    np.testing.assert_array_equal(codes[:, 0], [2, 1, 1, 2, 0, 1])  # F=1, M=2, missing=0
    np.testing.assert_array_equal(codes[:, 1], [1, 2, 3, 1, 2, 1])
    np.testing.assert_array_equal(codes[:, 2], [2, 1, 2, 2, 1, 1])
    assert codes[4, 3] == 0  # missing age
    np.testing.assert_array_equal(codes[:, 4], [1, 1, 1, 2, 2, 2])  # median split of 1..6
    assert (codes >= 0).all() and (codes < np.array(enc.field_sizes_)).all()
    np.testing.assert_array_equal(enc.get_feature_names_out(), ["gender", "occupation", "member", "age", "visits"])
    np.testing.assert_array_equal(enc.feature_names_in_, users.columns)
    assert enc.n_features_in_ == 5


def test_user_encoder_unseen_missing_and_out_of_range(users):
    enc = UserPortraitEncoder(n_bins=3).fit(users)
    new = pd.DataFrame(
        {
            "visits": [-100, 1e9, np.inf, np.nan],  # other column order is fine
            "gender": ["X", "F", np.nan, "M"],
            "occupation": pd.Categorical(["z", "a", None, "c"]),
            "member": [True, False, True, False],
            "age": [-np.inf, 1000.0, 33.0, np.nan],
            "extra": [1, 2, 3, 4],  # ignored
        }
    )
    codes = enc.transform(new)
    np.testing.assert_array_equal(codes[:, 0], [0, 1, 0, 2])  # unseen "X" and missing -> 0
    np.testing.assert_array_equal(codes[:, 1], [0, 1, 0, 3])
    last = enc.field_sizes_[4] - 1
    np.testing.assert_array_equal(codes[:, 4], [1, last, last, 0])  # out of range -> extreme bins
    assert codes[0, 3] == 1 and codes[1, 3] == enc.field_sizes_[3] - 1 and codes[3, 3] == 0


def test_user_encoder_explicit_columns(users):
    enc = UserPortraitEncoder(categorical=["visits"], continuous=["age"], n_bins=2).fit(users)
    assert enc.categorical_ == ["visits"] and enc.continuous_ == ["age"]
    assert enc.field_sizes_ == [7, 3]
    assert enc.transform(users[["age", "visits"]]).shape == (6, 2)  # unused columns not needed
    # only one list given: the other is auto-detected among the remaining columns
    enc = UserPortraitEncoder(categorical=["visits"]).fit(users)
    assert enc.categorical_ == ["visits"] and enc.continuous_ == ["age"]
    enc = UserPortraitEncoder(continuous=[]).fit(users)
    assert enc.continuous_ == [] and enc.categorical_ == ["gender", "occupation", "member"]


def test_user_encoder_errors(users):
    enc = UserPortraitEncoder().fit(users)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['age'\]"):
        enc.transform(users.drop(columns="age"))
    with pytest.raises(ValueError, match=r"\['height'\] are not in X"):
        UserPortraitEncoder(continuous=["height"]).fit(users)
    with pytest.raises(ValueError, match="both categorical and continuous"):
        UserPortraitEncoder(categorical=["age"], continuous=["age"]).fit(users)
    with pytest.raises(TypeError, match=r"continuous columns must be numeric, but \['gender'\]"):
        UserPortraitEncoder(continuous=["gender"]).fit(users)
    with pytest.raises(ValueError, match=r"cannot tell whether columns \['joined'\]"):
        UserPortraitEncoder().fit(users.assign(joined=pd.Timestamp("2020-01-01")))
    with pytest.raises(ValueError, match="infinite"):
        UserPortraitEncoder().fit(users.assign(age=np.inf))
    with pytest.raises(ValueError, match="n_bins"):
        UserPortraitEncoder(n_bins=1).fit(users)
    with pytest.raises(ValueError, match="strategy"):
        UserPortraitEncoder(strategy="median").fit(users)
    with pytest.raises(ValueError, match="at least one row"):
        UserPortraitEncoder().fit(users.iloc[:0])
    with pytest.raises(ValueError, match="no column to encode"):
        UserPortraitEncoder(categorical=[], continuous=[]).fit(users)


def test_user_encoder_does_not_modify_input(users):
    before = users.copy(deep=True)
    enc = UserPortraitEncoder().fit(users)
    enc.transform(users)
    pd.testing.assert_frame_equal(users, before)


def test_user_encoder_pickle_clone_set_output(users):
    enc = UserPortraitEncoder(n_bins=3, strategy="uniform").fit(users)
    again = pickle.loads(pickle.dumps(enc))
    np.testing.assert_array_equal(again.transform(users), enc.transform(users))
    twin = clone(enc)
    assert twin.get_params() == enc.get_params() and not hasattr(twin, "field_sizes_")
    frame = UserPortraitEncoder().set_output(transform="pandas").fit(users).transform(users)
    assert list(frame.columns) == ["gender", "occupation", "member", "age", "visits"]


def test_user_encoder_arrays():
    X = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, np.nan], [4.0, 40.0]])
    enc = UserPortraitEncoder(n_bins=2).fit(X)
    assert enc.continuous_ == [0, 1] and not hasattr(enc, "feature_names_in_")
    np.testing.assert_array_equal(enc.get_feature_names_out(), ["x0", "x1"])
    np.testing.assert_array_equal(enc.transform(X), [[1, 1], [1, 2], [2, 0], [2, 2]])
    with pytest.raises(ValueError, match="X has 1 features"):
        enc.transform(X[:, :1])
    enc = UserPortraitEncoder(categorical=[1]).fit(np.array([["a", 1], ["b", 2]], dtype=object))
    assert enc.categorical_ == [1]
    # fitted on a DataFrame, given an array: columns are taken by position, with sklearn's warning
    frame = pd.DataFrame(X, columns=["a", "b"])
    enc = UserPortraitEncoder(n_bins=2).fit(frame)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_array_equal(enc.transform(X), enc.transform(frame))
