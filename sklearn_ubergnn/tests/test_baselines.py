"""Tests of the session baselines: PopularityRecommender and SessionKNNRecommender (V-SKNN)."""
import math
from collections import Counter, defaultdict

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_ubergnn import _arrays as arrays
from sklearn_ubergnn._validation import check_sessions
from sklearn_ubergnn.metrics import precision_at_k
from sklearn_ubergnn.session import PopularityRecommender, SessionKNNRecommender
from sklearn_ubergnn.session._base import _full_sessions
from sklearn_ubergnn.session._knn import _position_weights, _step_decay
from sklearn_ubergnn.tests._session_checks import assert_proba_matches_reference, prefixes, random_sessions

# Five training sessions, oldest first. Item clicks: 1:2, 2:3, 3:3, 4:2, 5:2, 6:1.
SESSIONS = [[1, 2, 3], [2, 4], [3, 4, 5], [1, 5], [2, 3, 6]]


def reference_knn_scores(train, query, *, k, sample_size, weighting, weighting_score, similarity="dot"):
    """Item scores of V-SKNN for one session, computed the slow and obvious way (dicts and sets)."""
    sets = [set(s) for s in train]
    candidates = sorted({n for n, s in enumerate(sets) if s & set(query)}, reverse=True)
    if sample_size is not None:
        candidates = candidates[:sample_size]
    L = len(query)
    weight = {}
    for i, item in enumerate(query, start=1):  # a repeated item keeps its last position
        weight[item] = float(_position_weights(weighting, np.array([i]), np.array([L]))[0])
    neighbours = []
    for n in candidates:
        overlap = sum(weight[v] for v in sets[n] & set(query))
        if similarity == "dot":
            sim = overlap / len(weight)
        elif similarity == "cosine":
            sim = overlap / (math.sqrt(sum(w * w for w in weight.values())) * math.sqrt(len(sets[n])))
        else:
            sim = overlap / len(sets[n] | set(query))
        if sim > 0:
            neighbours.append((sim, n))
    neighbours = sorted(neighbours, key=lambda t: (-round(t[0], 12), -t[1]))[:k]
    scores = defaultdict(float)
    for sim, n in neighbours:
        step = next(j for j, item in enumerate(reversed(query), start=1) if item in sets[n])
        decay = float(_step_decay(weighting_score, np.array([step]))[0])
        for v in sets[n]:
            scores[v] += sim * decay
    return scores


# --------------------------------------------------------------------------- popularity
def test_popularity_counts_each_click_once_and_ranks_by_count_then_id():
    X, y = prefixes(SESSIONS)
    rec = PopularityRecommender().fit(X, y)
    np.testing.assert_array_equal(rec.classes_, [1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(rec.item_counts_, [2, 3, 3, 2, 2, 1])
    expected = [2, 3, 1, 4, 5, 6]  # count decreasing, ties by id
    np.testing.assert_array_equal(rec.recommend([[6], [1, 5]], k=6), [expected, expected])
    np.testing.assert_array_equal(rec.predict([[4]]), [2])
    np.testing.assert_allclose(rec.predict_proba([[1]])[0], np.array([2, 3, 3, 2, 2, 1]) / 13)


def test_popularity_on_full_sessions_equals_popularity_on_their_prefixes():
    X, y = prefixes(SESSIONS)
    a = PopularityRecommender().fit(X, y)
    b = PopularityRecommender().fit([s[:-1] for s in SESSIONS], [s[-1] for s in SESSIONS])
    np.testing.assert_array_equal(a.item_counts_, b.item_counts_)


# --------------------------------------------------------------------------- kNN, by hand
def test_knn_hand_worked_example_ties_and_popularity_fill():
    # Session [2, 3], weighting "div": w(2) = 1/2, w(3) = 2/2; |s| = 2 distinct items.
    # dot similarities: S0 {1,2,3} (0.5 + 1) / 2 = 0.75, S1 {2,4} 0.25, S2 {3,4,5} 0.5,
    # S3 {1,5} none, S4 {2,3,6} 0.75. With k=2 the neighbours are S4 and S0 (tie: S4 is more
    # recent). Both contain the last click 3: step 1, decay 1. Scores: 1: .75, 2: 1.5, 3: 1.5, 6: .75.
    # Ranking: 2, 3 (tie, by id), 1, 6 (tie, by id), then unscored items by popularity: 4, 5.
    X, y = prefixes(SESSIONS)
    rec = SessionKNNRecommender(k=2).fit(X, y)
    assert rec.n_train_sessions_ == 5
    np.testing.assert_array_equal(rec.recommend([[2, 3]], k=6), [[2, 3, 1, 6, 4, 5]])
    np.testing.assert_allclose(rec.predict_proba([[2, 3]])[0], np.array([0.75, 1.5, 1.5, 0, 0, 0.75]) / 4.5)


def test_knn_hand_worked_sample_size_keeps_the_most_recent_candidates():
    # sample_size=2: of the candidates S0, S1, S2, S4 only S4 (0.75) and S2 (0.5) remain.
    # Scores: 2: .75, 3: .75 + .5, 6: .75, 4: .5, 5: .5.
    X, y = prefixes(SESSIONS)
    rec = SessionKNNRecommender(sample_size=2).fit(X, y)
    expected = np.array([0, 0.75, 1.25, 0.5, 0.5, 0.75]) / 3.75
    np.testing.assert_allclose(rec.predict_proba([[2, 3]])[0], expected)
    np.testing.assert_array_equal(rec.recommend([[2, 3]], k=6), [[3, 2, 6, 4, 5, 1]])


def test_knn_hand_worked_step_decay():
    # Session [3, 2]: w(3) = 1/2, w(2) = 1. S0: 1.5/2 = .75 (shares the last click 2: step 1);
    # S1: 1/2 = .5 (step 1); S2 {3,4,5}: .5/2 = .25, shares only 3, one click before the end:
    # step 2, decay 1/2, vote .125; S4: .75 (step 1).
    X, y = prefixes(SESSIONS)
    rec = SessionKNNRecommender().fit(X, y)
    scores = np.array([0.75, 0.75 + 0.5 + 0.75, 0.75 + 0.125 + 0.75, 0.5 + 0.125, 0.125, 0.75])
    np.testing.assert_allclose(rec.predict_proba([[3, 2]])[0], scores / scores.sum())
    np.testing.assert_array_equal(rec.recommend([[3, 2]], k=6), [[2, 3, 1, 6, 4, 5]])


def test_knn_hand_worked_similarities_and_idf():
    X, y = prefixes(SESSIONS)
    w_norm = math.sqrt(0.5**2 + 1.0**2)
    cos = {0: 1.5 / (w_norm * math.sqrt(3)), 1: 0.5 / (w_norm * math.sqrt(2)),
           2: 1.0 / (w_norm * math.sqrt(3)), 4: 1.5 / (w_norm * math.sqrt(3))}
    jac = {0: 1.5 / 3, 1: 0.5 / 3, 2: 1.0 / 4, 4: 1.5 / 3}
    clicks = np.array([2, 3, 3, 2, 2, 1])
    idf = np.log(5 / clicks)
    for similarity, sims in [("cosine", cos), ("jaccard", jac)]:
        for idf_weighting in (False, 1.0):
            expected = np.zeros(6)
            for n, sim in sims.items():  # S1 lacks the last click 3: step 2, decay 1/2
                expected[np.array(SESSIONS[n]) - 1] += sim / (2 if n == 1 else 1)
            if idf_weighting:
                expected *= 1 + idf
            rec = SessionKNNRecommender(similarity=similarity, idf_weighting=idf_weighting).fit(X, y)
            np.testing.assert_allclose(rec.idf_, idf)
            np.testing.assert_allclose(rec.predict_proba([[2, 3]])[0], expected / expected.sum())


def test_position_weights_and_step_decays():
    i, L = np.array([1, 2, 11, 12]), np.array([12, 12, 12, 12])
    np.testing.assert_allclose(_position_weights("linear", i, L), [0, 0, 0.9, 1.0])  # clipped at 0
    np.testing.assert_allclose(_position_weights("div", i, L), i / 12)
    np.testing.assert_allclose(_position_weights("quadratic", i, L), (i / 12) ** 2)
    np.testing.assert_allclose(_position_weights("same", i, L), 1)
    np.testing.assert_allclose(_position_weights("log", i, L), 1 / np.log10(12 - i + 1.7))
    step = np.array([1, 2, 10, 20])
    np.testing.assert_allclose(_step_decay("div", step), 1 / step)
    np.testing.assert_allclose(_step_decay("linear", step), [0.9, 0.8, 0, 0])
    np.testing.assert_allclose(_step_decay("quadratic", step), 1 / step**2)
    np.testing.assert_allclose(_step_decay("log", step), 1 / np.log10(step + 1.7))
    np.testing.assert_allclose(_step_decay("same", step), 1)


@pytest.mark.parametrize(
    "params",
    [
        dict(k=5, sample_size=10, weighting="div", weighting_score="div"),
        dict(k=3, sample_size=None, weighting="linear", weighting_score="linear", similarity="cosine"),
        dict(k=50, sample_size=4, weighting="quadratic", weighting_score="log", similarity="jaccard"),
        dict(k=1, sample_size=1, weighting="same", weighting_score="quadratic"),
    ],
)
def test_knn_matches_a_plain_python_reference(params):
    train = random_sessions(0)
    queries = random_sessions(1, n_sessions=40, max_len=14)
    X, y = prefixes(train)
    rec = SessionKNNRecommender(**params, batch_size=7).fit(X, y)
    assert_proba_matches_reference(rec, queries, lambda q: reference_knn_scores(train, q, **params))


# --------------------------------------------------------------------------- training sessions from prefixes
def test_prefixes_rebuild_the_training_sessions():
    sessions = [[1, 2], [1, 2, 3], [1, 2], [4, 4, 4], [4, 4], [5, 1, 2, 3, 9]]
    expected = [list(s) for s in sessions]
    for longest_first in (True, False):
        X, y = prefixes(sessions, longest_first=longest_first)
        flat, targets = check_sessions(X, y)
        assert _full_sessions(flat, targets).to_list() == expected
        rec = SessionKNNRecommender().fit(X, y)
        assert rec.n_train_sessions_ == len(sessions)
        rows = rec.session_item_matrix_
        assert [set(rows.indices[rows.indptr[i]:rows.indptr[i + 1]]) for i in range(len(sessions))] == [
            set(rec.vocabulary_.transform(np.array(s))) for s in sessions
        ]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 4), min_size=1, max_size=6), min_size=1, max_size=15),
    st.booleans(),
)
def test_rebuilt_sessions_are_exact_for_contiguous_prefixes(tails, longest_first):
    # Distinct first items: no sample of one session can be mistaken for a sample of its neighbour.
    sessions = [[100 + i, *tail] for i, tail in enumerate(tails)]
    X, y = prefixes(sessions, longest_first=longest_first)
    assert _full_sessions(*check_sessions(X, y)).to_list() == sessions


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 3), min_size=2, max_size=6), min_size=1, max_size=15),
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_rebuilt_sessions_are_the_same_multiset_in_any_order(sessions, longest_first, random):
    X, y = prefixes(sessions, longest_first=longest_first)
    order = list(range(len(X)))
    random.shuffle(order)
    for idx in (range(len(X)), order):
        rebuilt = _full_sessions(*check_sessions([X[i] for i in idx], [y[i] for i in idx])).to_list()
        assert Counter(map(tuple, rebuilt)) == Counter(map(tuple, sessions))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 3), min_size=2, max_size=6), min_size=1, max_size=15),
    st.booleans(),
    st.randoms(use_true_random=False),
    st.integers(1, 7),
)
def test_rebuilt_sessions_do_not_depend_on_the_block_size(sessions, longest_first, random, block):
    X, y = prefixes(sessions, longest_first=longest_first)
    order = list(range(len(X)))
    random.shuffle(order)
    flat, targets = check_sessions([X[i] for i in order], [y[i] for i in order])
    whole = _full_sessions(flat, targets)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(arrays, "SEGMENT_BLOCK", block)  # blocks of a few clicks: many block boundaries
        blocked = _full_sessions(flat, targets)
    np.testing.assert_array_equal(blocked.items, whole.items)
    np.testing.assert_array_equal(blocked.offsets, whole.offsets)


def test_fit_on_prefixes_equals_fit_on_full_sessions():
    train = random_sessions(3)
    queries = random_sessions(4, n_sessions=30)
    X, y = prefixes(train)
    one_per_session = ([s[:-1] for s in train], [s[-1] for s in train])
    full = _full_sessions(*check_sessions(*one_per_session)).to_list()
    a = SessionKNNRecommender(k=10, sample_size=20).fit(X, y)
    b = SessionKNNRecommender(k=10, sample_size=20).fit(*one_per_session)
    if full == train:  # no session equals another minus its last item
        np.testing.assert_array_equal(a.recommend(queries, k=10), b.recommend(queries, k=10))
    np.testing.assert_array_equal(a.item_counts_, np.bincount(np.concatenate(train), minlength=a.n_items_))


# --------------------------------------------------------------------------- ids, unseen items, shapes
@pytest.mark.parametrize("Estimator", [PopularityRecommender, SessionKNNRecommender])
def test_string_ids_give_the_same_ranking_as_int_ids(Estimator):
    X, y = prefixes(random_sessions(5))
    names = np.array([f"item-{i:03d}" for i in range(30)], dtype=object)
    X_str, y_str = [[names[i] for i in s] for s in X], [names[i] for i in y]
    queries = random_sessions(6, n_sessions=10)
    a = Estimator().fit(X, y).recommend(queries, k=8)
    b = Estimator().fit(X_str, y_str).recommend([[names[i] for i in q] for q in queries], k=8)
    assert b.dtype == object
    np.testing.assert_array_equal(names[a], b)


def test_unseen_items_are_dropped_and_unknown_sessions_get_popularity():
    X, y = prefixes(SESSIONS)
    rec = SessionKNNRecommender(k=2).fit(X, y)
    np.testing.assert_array_equal(rec.recommend([[2, 99, 3, 77]], k=6), rec.recommend([[2, 3]], k=6))
    popular = PopularityRecommender().fit(X, y).recommend([[1]], k=6)
    np.testing.assert_array_equal(rec.recommend([[99], [98, 97]], k=6), np.repeat(popular, 2, axis=0))
    np.testing.assert_allclose(rec.predict_proba([[99]])[0], rec.item_counts_ / rec.item_counts_.sum())
    # an item shared with no session at all also falls back (no neighbour)
    rec = SessionKNNRecommender().fit([[1], [2]], [1, 3])
    np.testing.assert_array_equal(rec.recommend([[9]], k=3), [[1, 2, 3]])


@pytest.mark.parametrize("Estimator", [PopularityRecommender, SessionKNNRecommender])
@pytest.mark.parametrize("k", [1, 3, 6, 100])
def test_recommend_shape_and_consistency(Estimator, k):
    X, y = prefixes(SESSIONS)
    rec = Estimator().fit(X, y)
    queries = [[1], [2, 3], [5, 4, 4], [6, 1, 2]]
    top = rec.recommend(queries, k=k)
    assert top.shape == (4, min(k, 6))
    assert all(len(set(row)) == top.shape[1] for row in top)
    proba = rec.predict_proba(queries)
    assert proba.shape == (4, 6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(rec.predict(queries), top[:, 0])
    np.testing.assert_array_equal(rec.classes_[proba.argmax(axis=1)], top[:, 0])


@pytest.mark.parametrize("Estimator", [PopularityRecommender, SessionKNNRecommender])
def test_score_is_p_at_20(Estimator):
    X, y = prefixes(random_sessions(7, n_items=60))
    Xq, yq = prefixes(random_sessions(8, n_items=60))
    rec = Estimator().fit(X, y)
    assert rec.score(Xq, yq) == precision_at_k(yq, rec.recommend(Xq, k=20), k=20)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("Estimator", [PopularityRecommender, SessionKNNRecommender])
def test_errors(Estimator):
    X, y = prefixes(SESSIONS)
    with pytest.raises(NotFittedError):
        Estimator().recommend([[1]])
    rec = Estimator().fit(X, y)
    for k, error in [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)]:
        with pytest.raises(error, match="k must be a positive integer"):
            rec.recommend([[1]], k=k)
    with pytest.raises(TypeError, match="int item ids"):
        rec.recommend([["a", "b"]])
    # an empty session is not an error at recommend time: the popularity ranking (see test_edge_inputs)
    np.testing.assert_array_equal(rec.recommend([[1], []])[1], rec.recommend([[10**9]])[0])
    with pytest.raises(ValueError, match="same length"):
        rec.fit(X, y[:-1])
    with pytest.raises(InvalidParameterError, match="batch_size"):
        Estimator(batch_size=0).fit(X, y)


@pytest.mark.parametrize(
    "params", [dict(k=0), dict(sample_size=0), dict(weighting="exp"), dict(weighting_score="div_score"),
               dict(similarity="tanimoto"), dict(idf_weighting=-1.0)]
)
def test_knn_parameter_validation(params):
    X, y = prefixes(SESSIONS)
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        SessionKNNRecommender(**params).fit(X, y)


# --------------------------------------------------------------------------- estimator hygiene
@pytest.mark.parametrize("Estimator", [PopularityRecommender, SessionKNNRecommender])
def test_joblib_round_trip_clone_determinism_and_no_mutation(Estimator, tmp_path):
    X, y = prefixes(random_sessions(9))
    X_arrays = [np.array(s) for s in X]  # arrays too: none may be written to
    y_array = np.array(y)
    queries = random_sessions(10, n_sessions=25)
    before = ([a.copy() for a in X_arrays], y_array.copy(), [list(q) for q in queries])
    rec = Estimator(batch_size=4).fit(X_arrays, y_array)
    expected = rec.recommend(queries, k=10)
    rec.predict_proba(queries)
    rec.score(queries, [q[0] for q in queries])
    assert all(np.array_equal(a, b) for a, b in zip(X_arrays, before[0]))
    np.testing.assert_array_equal(y_array, before[1])
    assert queries == before[2]
    joblib.dump(rec, tmp_path / "rec.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "rec.joblib").recommend(queries, k=10), expected)
    twin = clone(rec)
    assert twin.get_params() == rec.get_params()
    assert not [name for name in vars(twin) if name.endswith("_")]
    np.testing.assert_array_equal(twin.fit(X, y).recommend(queries, k=10), expected)
    np.testing.assert_array_equal(rec.fit(X, y).recommend(queries, k=10), expected)  # refit: fresh model


@pytest.mark.parametrize("Estimator", [PopularityRecommender, SessionKNNRecommender])
def test_results_do_not_depend_on_batch_size(Estimator):
    X, y = prefixes(random_sessions(11))
    queries = random_sessions(12, n_sessions=37) + [[999], [1000, 3]]
    results = [Estimator(batch_size=bs).fit(X, y) for bs in (1, 5, 37, 500)]
    tops = [r.recommend(queries, k=15) for r in results]
    probas = [r.predict_proba(queries) for r in results]
    for top, proba in zip(tops[1:], probas[1:]):
        np.testing.assert_array_equal(top, tops[0])
        np.testing.assert_allclose(proba, probas[0], rtol=0, atol=1e-15)


@pytest.mark.parametrize("Estimator", [PopularityRecommender, SessionKNNRecommender])
def test_tags_and_parameters(Estimator):
    rec = Estimator()
    tags = rec.__sklearn_tags__()
    assert tags.input_tags.two_d_array is False
    assert tags.estimator_type == "classifier"
    assert tags.target_tags.required is True
    with pytest.raises(TypeError):
        Estimator(5)  # keyword-only
