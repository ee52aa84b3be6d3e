"""Tests of the recency / common-partner / popularity baseline (dynamic/_heuristics.py)."""
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from sklearn_ubergnn.datasets import make_interactions
from sklearn_ubergnn.dynamic import RecencyHeuristicBaseline
from sklearn_ubergnn.dynamic._heuristics import _decayed_running_count

# Toy stream, half-life 1: (1,2)@0, (2,3)@1, (3,4)@2, (2,1)@2.
HISTORY = pd.DataFrame({"source": [1, 2, 3, 2], "target": [2, 3, 4, 1], "time": [0.0, 1.0, 2.0, 2.0]})
QUERIES = pd.DataFrame({
    "source": [1, 2, 1, 1, 4, 9, 1, 1],
    "target": [2, 1, 3, 4, 2, 2, 9, 2],
    "time": [4.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0, 0.0],
})


def _f(x):
    return x / (1 + x)


# by hand, at t = 4 unless said:
#   (1,2): met at 0 and 2 (either direction) -> r = 2^-4 + 2^-2 = 0.3125 -> (2 + f(r)) / 3
#   (2,1)@2: only the meeting at 0 is strictly before 2 -> r = 2^-2
#   (1,3): never met; partner 2 shared (1-2 at 0, 2-3 at 1) -> c = 1; 3 received at 1 -> p = 2^-3
#   (1,4): partners of 1 {2}, of 4 {3}: none shared; 4 received at 2 -> p = 2^-2
#   (4,2): partners of 4 {3}, of 2 {1, 3}: 3 shared -> c = 1; 2 received at 0 -> p = 2^-4
#   (9,2): 9 unknown -> no pair, no partners; popularity of 2 still counts
#   (1,9): unknown destination -> 0     (1,2)@0: nothing strictly before 0 -> 0
EXPECTED = [
    (2 + _f(2**-4 + 2**-2)) / 3,
    (2 + _f(2**-2)) / 3,
    (1 + _f(1 + _f(2**-3))) / 3,
    _f(2**-2) / 3,
    (1 + _f(1 + _f(2**-4))) / 3,
    _f(2**-4) / 3,
    0.0,
    0.0,
]


def test_hand_example():
    model = RecencyHeuristicBaseline(half_life=1.0).fit(HISTORY)
    np.testing.assert_allclose(model.predict_link_proba(QUERIES), EXPECTED, rtol=1e-12)
    assert model.n_interactions_ == 4 and model.n_pairs_ == 3 and model.half_life_ == 1.0
    assert model.predict_link_proba(QUERIES).dtype == np.float64


def test_half_life_auto_is_the_median_gap_of_repeated_pairs():
    # (1,2) at 0, 2 (reversed), 7; (3,4) at 1, 1 (gap 0 left out), 2: gaps 2, 5, 1 -> median 2
    X = pd.DataFrame({"source": [1, 2, 1, 3, 3, 4], "target": [2, 1, 2, 4, 4, 3],
                      "time": [0.0, 2.0, 7.0, 1.0, 1.0, 2.0]})
    assert RecencyHeuristicBaseline().fit(X).half_life_ == 2.0
    no_repeat = pd.DataFrame({"source": [1, 2], "target": [2, 3], "time": [3.0, 8.0]})
    assert RecencyHeuristicBaseline().fit(no_repeat).half_life_ == 5.0  # the span
    assert RecencyHeuristicBaseline().fit(no_repeat.iloc[:1]).half_life_ == 1.0
    assert RecencyHeuristicBaseline(half_life=3.5).fit(X).half_life_ == 3.5


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(0, 5)), min_size=1, max_size=60), st.floats(0.01, 3))
def test_decayed_running_count_matches_its_definition(events, rate):
    starts = np.array([s for s, _ in events])
    starts[0] = True
    gaps = np.array([g for _, g in events])
    got = _decayed_running_count(starts, gaps, rate)
    expected, y = [], 0.0
    for start, gap in zip(starts, gaps):
        y = 1.0 if start else 1.0 + np.exp(-rate * gap) * y
        expected.append(y)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def _reference(history, queries, h):
    """Per-row loops over the history: r, c and p straight from their definitions, then the back-off."""
    out = []
    for s, d, t in zip(queries.source, queries.target, queries.time):
        past = history[history.time < t]
        w = 2.0 ** (-(t - past.time) / h)
        pair = ((past.source == s) & (past.target == d)) | ((past.source == d) & (past.target == s))
        r = w[pair].sum()
        p = w[past.target == d].sum()

        partners = [(set(past.target[past.source == o]) | set(past.source[past.target == o])) - {o} for o in (s, d)]
        c = len((partners[0] & partners[1]) - {s, d})
        out.append((2 + _f(r)) / 3 if r > 0 else (1 + _f(c + _f(p))) / 3 if c > 0 else _f(p) / 3)
    return np.array(out)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_per_row_reference_on_a_stream(seed):
    df = make_interactions(n_objects=15, n_interactions=300, random_state=seed)[["source", "target", "time"]]
    df.loc[df.index[::17], "time"] = df["time"].iloc[::17].round()  # some ties in time
    hist, query = df.iloc[:220], df.iloc[150:]
    model = RecencyHeuristicBaseline(half_life=20.0).fit(hist)
    np.testing.assert_allclose(model.predict_link_proba(query), _reference(hist, query, 20.0), rtol=1e-9)


def test_no_row_sees_itself_nor_its_time():
    """Fit on the whole stream and score it: each row equals a model that knows only strictly earlier rows."""
    df = make_interactions(n_objects=12, n_interactions=200, random_state=3)[["source", "target", "time"]]
    df["time"] = df["time"].round()  # equal times: they must not see each other either
    full = RecencyHeuristicBaseline(half_life=5.0).fit(df).predict_link_proba(df)
    for t in np.unique(df["time"])[1::7]:
        earlier = RecencyHeuristicBaseline(half_life=5.0).fit(df[df.time < t])
        now = df.time == t
        np.testing.assert_allclose(full[now.to_numpy()], earlier.predict_link_proba(df[now]), rtol=1e-12)


@pytest.mark.parametrize("half_life", ["auto", 7.0])
def test_partial_fit_appends_and_equals_fit(half_life):
    df = make_interactions(n_objects=20, n_interactions=400, random_state=2)
    query = df.iloc[300:]
    whole = RecencyHeuristicBaseline(half_life=half_life).fit(df.iloc[:300])
    parts = RecencyHeuristicBaseline(half_life=half_life).fit(df.iloc[:100])
    for rows in (slice(100, 180), slice(180, 300)):
        parts.partial_fit(df.iloc[rows], update_only=True)
    np.testing.assert_allclose(parts.predict_link_proba(query), whole.predict_link_proba(query), rtol=1e-12)
    assert parts.n_interactions_ == 300 and parts.half_life_ == whole.half_life_
    fresh = RecencyHeuristicBaseline(half_life=half_life).partial_fit(df.iloc[:300], update_only=False)
    np.testing.assert_allclose(fresh.predict_link_proba(query), whole.predict_link_proba(query), rtol=1e-12)
    assert RecencyHeuristicBaseline().fit(df).fit(df.iloc[:5]).n_interactions_ == 5  # fit forgets


def test_row_order_and_chunking_do_not_matter(monkeypatch):
    df = make_interactions(n_objects=20, n_interactions=400, random_state=4)
    model = RecencyHeuristicBaseline().fit(df.iloc[:300].sample(frac=1, random_state=0))
    expected = RecencyHeuristicBaseline().fit(df.iloc[:300]).predict_link_proba(df.iloc[300:])
    np.testing.assert_allclose(model.predict_link_proba(df.iloc[300:]), expected, rtol=1e-12)
    from sklearn_ubergnn.graphs import _partners

    monkeypatch.setattr(_partners, "_EXPANSION_LIMIT", 7)  # many small chunks of common partners
    np.testing.assert_allclose(model.predict_link_proba(df.iloc[300:]), expected, rtol=1e-12)


def test_predict_never_changes_the_model_nor_the_input():
    model = RecencyHeuristicBaseline(half_life=1.0).fit(HISTORY)
    queries = QUERIES.copy()
    first = model.predict_link_proba(queries)
    model.predict_link_proba(pd.DataFrame({"source": [1], "target": [3], "time": [1.5]}))
    np.testing.assert_array_equal(model.predict_link_proba(queries), first)
    pd.testing.assert_frame_equal(queries, QUERIES)


def test_string_ids_columns_and_pickle():
    names = {"source": "u", "target": "v", "time": "ts"}
    X = HISTORY.rename(columns=names).astype({"u": str, "v": str})
    Q = QUERIES.rename(columns=names).astype({"u": str, "v": str})
    model = RecencyHeuristicBaseline(half_life=1.0, source_col="u", target_col="v", time_col="ts").fit(X)
    np.testing.assert_allclose(model.predict_link_proba(Q), EXPECTED, rtol=1e-12)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_link_proba(Q), model.predict_link_proba(Q))
    with pytest.raises(TypeError, match="str item ids"):
        model.predict_link_proba(QUERIES.rename(columns=names))


def test_bad_input():
    with pytest.raises(NotFittedError):
        RecencyHeuristicBaseline().predict_link_proba(QUERIES)
    for bad in (0.0, -1.0, "fast"):
        with pytest.raises(ValueError, match="'half_life' parameter"):
            RecencyHeuristicBaseline(half_life=bad).fit(HISTORY)
    with pytest.raises(ValueError, match=r"missing the column\(s\) \['time'\]"):
        RecencyHeuristicBaseline().fit(HISTORY.drop(columns="time"))
    with pytest.raises(ValueError, match="row 1 has time nan"):
        RecencyHeuristicBaseline().fit(HISTORY.assign(time=[0.0, np.nan, 1.0, 2.0]))
    with pytest.raises(TypeError, match="int ids"):
        RecencyHeuristicBaseline().fit(HISTORY).partial_fit(HISTORY.astype({"source": str, "target": str}))


def test_beats_edgebank_under_historical_negatives():
    """Recency orders pairs that EdgeBank ties: on historical negatives it must rank better."""
    from sklearn_ubergnn.dynamic import EdgeBankBaseline
    from sklearn_ubergnn.evaluation import evaluate_stream_links

    df = make_interactions(n_objects=40, n_interactions=1500, random_state=0)[["source", "target", "time"]]
    train, test = df.iloc[:1100], df.iloc[1100:]
    objects = np.unique(df[["source", "target"]].to_numpy())
    scores = {name: evaluate_stream_links(model.fit(train), test, objects, random_state=0, negatives="historical",
                                          history=train)
              for name, model in (("bank", EdgeBankBaseline()), ("heuristic", RecencyHeuristicBaseline()))}
    assert scores["heuristic"]["auc"] > scores["bank"]["auc"] and scores["heuristic"]["mrr"] > scores["bank"]["mrr"]
