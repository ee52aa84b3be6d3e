"""Tests of the EdgeBank baseline (dynamic/_edgebank.py)."""
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from sklearn_ubergnn.datasets import make_interactions
from sklearn_ubergnn.dynamic import EdgeBankBaseline

HISTORY = pd.DataFrame({"source": [1, 2, 1, 3], "target": [2, 3, 2, 1], "time": [0.0, 1.0, 5.0, 5.0]})
QUERIES = pd.DataFrame({
    "source": [1, 1, 1, 2, 3, 1, 2, 9],
    "target": [2, 2, 2, 3, 1, 3, 1, 1],
    "time": [0.0, 0.5, 6.0, 9.0, 5.0, 9.0, 9.0, 9.0],
})
#   (1,2)@0: nothing strictly before -> 0     (1,2)@0.5: seen at 0 -> 1     (1,2)@6: seen at 0 and 5 -> 1
#   (2,3)@9: seen at 1 -> 1     (3,1)@5: only at 5, not strictly before -> 0
#   (1,3)@9 and (2,1)@9: reversed pairs, directed -> 0     9 is unknown -> 0
EXPECTED = [0, 1, 1, 1, 0, 0, 0, 0]


def test_hand_example():
    bank = EdgeBankBaseline().fit(HISTORY)
    np.testing.assert_array_equal(bank.predict_link_proba(QUERIES), EXPECTED)
    np.testing.assert_array_equal(bank.predict(QUERIES), EXPECTED)
    assert bank.n_interactions_ == 4 and bank.n_pairs_ == 3
    assert bank.predict_link_proba(QUERIES).dtype == np.float64


def test_time_window():
    # window [t - 2, t): (1,2)@6 sees 5 -> 1; (2,3)@9 last at 1 -> 0; (1,2)@0.5 sees 0 -> 1
    bank = EdgeBankBaseline(time_window=2.0).fit(HISTORY)
    np.testing.assert_array_equal(bank.predict_link_proba(QUERIES), [0, 1, 1, 0, 0, 0, 0, 0])
    # the window's lower end is inclusive, the upper end exclusive
    edge = pd.DataFrame({"source": [1, 1], "target": [2, 2], "time": [7.0, 7.0001]})
    np.testing.assert_array_equal(bank.predict_link_proba(edge), [1, 0])
    zero = EdgeBankBaseline(time_window=0.0).fit(HISTORY)
    assert zero.predict_link_proba(QUERIES).sum() == 0


def test_undirected():
    bank = EdgeBankBaseline(undirected=True).fit(HISTORY)
    np.testing.assert_array_equal(bank.predict_link_proba(QUERIES), [0, 1, 1, 1, 0, 1, 1, 0])


def test_partial_fit_appends_and_equals_fit():
    bank = EdgeBankBaseline().partial_fit(HISTORY.iloc[:2]).partial_fit(HISTORY.iloc[2:])
    np.testing.assert_array_equal(bank.predict_link_proba(QUERIES), EXPECTED)
    assert bank.n_interactions_ == 4
    later = pd.DataFrame({"source": [1], "target": [3], "time": [8.0]})
    bank.partial_fit(later)
    assert bank.predict_link_proba(QUERIES)[5] == 1.0
    # fit forgets
    assert EdgeBankBaseline().fit(HISTORY).fit(later).n_interactions_ == 1


@pytest.mark.parametrize("update_only", [True, False])
def test_partial_fit_takes_the_stream_signature(update_only):
    """partial_fit(X, y=None, update_only=...) as the neural estimators: the streaming loop needs no isinstance."""
    bank = EdgeBankBaseline().fit(HISTORY.iloc[:2]).partial_fit(HISTORY.iloc[2:], None, update_only=update_only)
    np.testing.assert_array_equal(bank.predict_link_proba(QUERIES), EXPECTED)


def test_predict_never_changes_the_model_nor_the_input():
    bank = EdgeBankBaseline().fit(HISTORY)
    queries = QUERIES.copy()
    first = bank.predict_link_proba(queries)
    q2 = pd.DataFrame({"source": [1], "target": [3], "time": [1.0]})
    bank.predict_link_proba(q2)
    np.testing.assert_array_equal(bank.predict_link_proba(queries), first)
    pd.testing.assert_frame_equal(queries, QUERIES)


def test_string_ids_columns_and_pickle():
    X = HISTORY.rename(columns={"source": "u", "target": "v", "time": "ts"}).astype({"u": str, "v": str})
    Q = QUERIES.rename(columns={"source": "u", "target": "v", "time": "ts"}).astype({"u": str, "v": str})
    bank = EdgeBankBaseline(source_col="u", target_col="v", time_col="ts").fit(X)
    np.testing.assert_array_equal(bank.predict_link_proba(Q), EXPECTED)
    again = pickle.loads(pickle.dumps(bank))
    np.testing.assert_array_equal(again.predict_link_proba(Q), EXPECTED)
    with pytest.raises(TypeError, match="str item ids"):
        bank.predict_link_proba(QUERIES.rename(columns={"source": "u", "target": "v", "time": "ts"}))


def test_bad_input():
    with pytest.raises(NotFittedError):
        EdgeBankBaseline().predict_link_proba(QUERIES)
    with pytest.raises(ValueError, match=r"missing the column\(s\) \['time'\]"):
        EdgeBankBaseline().fit(HISTORY.drop(columns="time"))
    with pytest.raises(ValueError, match="time_window"):
        EdgeBankBaseline(time_window=-1.0).fit(HISTORY)
    bad = HISTORY.astype({"source": float})
    bad.loc[2, "source"] = np.nan
    with pytest.raises(ValueError, match=r"sources\[2\]"):
        EdgeBankBaseline().fit(bad)
    with pytest.raises(ValueError, match="row 1 has time nan"):
        EdgeBankBaseline().fit(HISTORY.assign(time=[0.0, np.nan, 1.0, 2.0]))
    with pytest.raises(TypeError, match="DataFrame"):
        EdgeBankBaseline().fit(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="int ids"):
        EdgeBankBaseline().fit(HISTORY).partial_fit(HISTORY.astype({"source": str, "target": str}))


def test_matches_brute_force_on_a_stream():
    df = make_interactions(n_objects=20, n_interactions=400, random_state=1)
    hist, query = df.iloc[:300], df.iloc[250:]
    for window in (None, 3.0):
        bank = EdgeBankBaseline(time_window=window).fit(hist)
        got = bank.predict_link_proba(query)
        expected = [
            float(((hist.source == s) & (hist.target == t) & (hist.time < tq)
                   & (hist.time >= (tq - window if window else -np.inf))).any())
            for s, t, tq in zip(query.source, query.target, query.time)
        ]
        np.testing.assert_array_equal(got, expected)
