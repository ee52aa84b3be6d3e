"""VSTANRecommender: a case worked by hand, a plain Python reference, invariants, planted sessions."""
import math
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_ubergnn._validation import FlatSessions
from sklearn_ubergnn.metrics import mrr_at_k, precision_at_k
from sklearn_ubergnn.preprocessing import session_prefixes
from sklearn_ubergnn.session import PopularityRecommender, SessionKNNRecommender, VSTANRecommender
from sklearn_ubergnn.tests._session_checks import (
    assert_proba_matches_reference,
    markov_sessions,
    prefixes,
    random_sessions,
)

OFF = {"lambda_spw": None, "lambda_snh": None, "lambda_inh": None, "lambda_ipw": None, "lambda_idf": None}


# the published decay lengths for YOOCHOOSE's ~4-click sessions (the defaults resolve "auto" from the data)
PUBLISHED = {"lambda_spw": 1.02, "lambda_inh": 2.05, "lambda_ipw": 1.02}

def raw_scores(rec, sessions):
    """The model's scores ``(n_sessions, n_items)`` of sessions of known ids, before any ranking."""
    items = np.concatenate([rec.vocabulary_.transform(np.asarray(s)) for s in sessions])
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sessions])]).astype(np.int64)
    return rec._score_codes(FlatSessions(items, offsets)).toarray()


def reference_stan_scores(train, query, *, k=100, sample_size=1000, similarity="dot", lambda_spw="auto",
                          lambda_snh=1.0, lambda_inh="auto", lambda_ipw="auto", lambda_idf=5.0):
    """Item scores of V-STAN for one session, the slow and obvious way (dicts and sets), in training order."""
    mean_length = sum(len(session) for session in train) / len(train)
    lambda_spw = mean_length / 4 if lambda_spw == "auto" else lambda_spw
    lambda_inh = mean_length / 2 if lambda_inh == "auto" else lambda_inh
    lambda_ipw = mean_length / 4 if lambda_ipw == "auto" else lambda_ipw
    def decay(distance, length):
        return 1.0 if length is None else math.exp(-distance / length)

    n_train = len(train)
    clicks = Counter(v for s in train for v in s)
    idf = {v: max(0.0, math.log(n_train / c)) for v, c in clicks.items()}
    query = [v for v in query if v in clicks]  # unseen items are dropped first
    position = {v: i for i, v in enumerate(query, start=1)}  # a repeated item keeps its last click
    weight = {v: decay(len(query) - p, lambda_spw) for v, p in position.items()}
    candidates = sorted({n for n, s in enumerate(train) if set(s) & set(query)}, reverse=True)[:sample_size]
    neighbours = []
    for n in candidates:
        shared = set(train[n]) & set(query)
        overlap = sum(weight[v] for v in shared)
        if similarity == "cosine":
            sim = overlap / (math.sqrt(sum(w * w for w in weight.values())) * math.sqrt(len(set(train[n]))))
        elif similarity == "dot":
            sim = overlap / len(weight)
        else:
            sim = overlap / len(set(train[n]) | set(query))
        if lambda_snh is not None:
            sim *= math.exp(-(n_train - n) / (lambda_snh * n_train))
        if sim > 0:
            neighbours.append((sim, n))
    neighbours = sorted(neighbours, key=lambda t: (-round(t[0], 12), -t[1]))[:k]
    scores = defaultdict(float)
    for sim, n in neighbours:
        last = {v: i for i, v in enumerate(train[n], start=1)}
        shared = set(last) & set(query)
        anchor = max(last[v] for v in shared)
        gap = len(query) - max(position[v] for v in shared)
        for v, q in last.items():
            value = sim * decay(gap, lambda_ipw) * decay(abs(q - anchor), lambda_inh)
            if lambda_idf:
                value *= 1 + lambda_idf * idf[v]
            scores[v] += value
    return scores


def test_hand_worked_scores():
    # sessions 0: 1 2 3, 1: 4 2 5, 2: 1 3 (oldest first); the session 2 1 (L = 2) shares items with all
    X, y = prefixes([[1, 2, 3], [4, 2, 5], [1, 3]])
    rec = VSTANRecommender(similarity="cosine", lambda_idf=None, **PUBLISHED).fit(X, y)
    assert rec.n_train_sessions_ == 3
    e = math.exp
    w2, w1 = e(-1 / 1.02), 1.0  # position weights: item 2 one click before the end, item 1 the last
    norm = math.sqrt(w1**2 + w2**2)
    near, far = 1.0, e(-1 / 2.05)  # items at distance 0 or 1 from the neighbour's anchor
    # session 0: shares 1 and 2, anchor = position 2 (item 2), last shared click of the query = its last
    sim0 = (w1 + w2) / (norm * math.sqrt(3)) * e(-3 / 3)
    # session 1: shares 2 (position 2 of the neighbour), one query click after it
    sim1 = w2 / (norm * math.sqrt(3)) * e(-2 / 3) * e(-1 / 1.02)
    # session 2: shares 1 (position 1 of the neighbour)
    sim2 = w1 / (norm * math.sqrt(2)) * e(-1 / 3)
    expected = {
        1: sim0 * far + sim2 * near,
        2: sim0 * near + sim1 * near,
        3: sim0 * far + sim2 * far,
        4: sim1 * far,
        5: sim1 * far,
    }
    np.testing.assert_allclose(raw_scores(rec, [[2, 1]])[0], [expected[v] for v in rec.classes_], rtol=1e-12)
    reference = reference_stan_scores([[1, 2, 3], [4, 2, 5], [1, 3]], [2, 1], similarity="cosine",
                                      lambda_idf=None, **PUBLISHED)
    np.testing.assert_allclose([reference[v] for v in rec.classes_], [expected[v] for v in rec.classes_])
    # k=2 keeps sessions 2 and 0 (the two most similar): items 4 and 5 lose their only vote
    two = VSTANRecommender(k=2, similarity="cosine", lambda_idf=None, **PUBLISHED).fit(X, y)
    assert sim2 > sim0 > sim1
    np.testing.assert_allclose(raw_scores(two, [[2, 1]])[0],
                               [expected[1], sim0, expected[3], 0.0, 0.0], rtol=1e-12)
    # sample_size=1: only the most recent candidate (session 2) is looked at
    one = VSTANRecommender(sample_size=1, similarity="cosine", lambda_idf=None, **PUBLISHED).fit(X, y)
    np.testing.assert_allclose(raw_scores(one, [[2, 1]])[0], [sim2, 0, sim2 * far, 0, 0], rtol=1e-12)
    # the default "dot" divides the overlap by the 2 distinct items of the session instead
    dot = raw_scores(VSTANRecommender(lambda_idf=None, **PUBLISHED).fit(X, y), [[2, 1]])[0]
    dot1 = w2 / 2 * e(-2 / 3) * e(-1 / 1.02)
    np.testing.assert_allclose(dot[3:], [dot1 * far, dot1 * far], rtol=1e-12)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"k": 5, "sample_size": 10, "similarity": "cosine"},
        {"k": 3, "sample_size": None, "similarity": "jaccard", "lambda_idf": 1.0},
        {"k": 50, "sample_size": 4, "lambda_spw": 0.3, "lambda_snh": 0.05, "lambda_inh": 0.5, "lambda_ipw": None},
        {"k": 1, "sample_size": 1, **OFF},
    ],
)
def test_matches_a_plain_python_reference(params):
    train = random_sessions(0)
    queries = random_sessions(1, n_sessions=40, max_len=14) + [[99, 3, 98, 3]]
    X, y = prefixes(train)
    rec = VSTANRecommender(**params, batch_size=7).fit(X, y)
    assert_proba_matches_reference(rec, queries, lambda q: reference_stan_scores(train, q, **params))


@pytest.mark.parametrize("similarity", ["cosine", "dot", "jaccard"])
def test_every_factor_off_is_v_sknn_with_flat_weights(similarity):
    train, queries = random_sessions(2), random_sessions(3, n_sessions=30)
    X, y = prefixes(train)
    stan = VSTANRecommender(k=7, sample_size=15, similarity=similarity, **OFF).fit(X, y)
    knn = SessionKNNRecommender(k=7, sample_size=15, similarity=similarity, weighting="same",
                                weighting_score="same").fit(X, y)
    np.testing.assert_allclose(stan.predict_proba(queries), knn.predict_proba(queries), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), batch_size=st.integers(1, 9), k=st.integers(1, 12),
       sample_size=st.one_of(st.none(), st.integers(1, 20)))
def test_scores_do_not_depend_on_the_batch_and_are_non_negative(seed, batch_size, k, sample_size):
    train, queries = random_sessions(seed, n_sessions=30), random_sessions(seed + 1, n_sessions=12)
    X, y = prefixes(train)
    params = {"k": k, "sample_size": sample_size}
    alone = VSTANRecommender(**params, batch_size=1).fit(X, y)
    batched = VSTANRecommender(**params, batch_size=batch_size).fit(X, y)
    scores = raw_scores(batched, [[v for v in q if v in set(batched.classes_)] for q in queries])
    assert (scores >= 0).all()
    # at most k neighbours vote: no more scored items than the union of the k largest neighbours
    assert ((scores > 0).sum(axis=1) <= k * max(len(set(s)) for s in train)).all()
    np.testing.assert_allclose(batched.predict_proba(queries), alone.predict_proba(queries), atol=1e-12)
    np.testing.assert_array_equal(batched.recommend(queries, k=5), alone.recommend(queries, k=5))


def test_recency_prefers_the_newer_of_two_identical_neighbours():
    # sessions 1 2 (old) and 1 3 (new) share item 1 equally: the newer one's item scores higher
    X, y = prefixes([[1, 2], [5, 6], [5, 6], [1, 3]])
    rec = VSTANRecommender(lambda_idf=None, **PUBLISHED).fit(X, y)
    scores = raw_scores(rec, [[1]])[0]
    assert scores[2] > scores[1] > 0  # classes_ = 1 2 3 5 6: item 3 beats item 2
    assert scores[1] / scores[2] == pytest.approx(math.exp(-4 / 4) / math.exp(-1 / 4))  # ages 4 and 1 of 4
    flat = raw_scores(VSTANRecommender(lambda_idf=None, lambda_snh=None, **PUBLISHED).fit(X, y), [[1]])[0]
    assert flat[1] == pytest.approx(flat[2])


@pytest.mark.parametrize("params", [{"lambda_spw": 0}, {"lambda_snh": -1.0}, {"lambda_idf": -0.5},
                                    {"similarity": "tanimoto"}, {"k": 0}, {"sample_size": 0}])
def test_parameter_validation(params):
    with pytest.raises(InvalidParameterError):
        VSTANRecommender(**params).fit([[1, 2]], [3])


def test_learns_planted_transitions_far_better_than_popularity():
    rng = np.random.default_rng(0)
    sessions = markov_sessions(1500, rng)
    X, y = session_prefixes(sessions[:1200])
    X_test, y_test = session_prefixes(sessions[1200:])
    stan = VSTANRecommender().fit(X, y).recommend(X_test, k=20)
    popular = PopularityRecommender().fit(X, y).recommend(X_test, k=20)
    # the successor is the next item in 70 % of the cases: the neighbours find it, popularity cannot (the
    # session's own last item, which every neighbour holds at its anchor, usually ranks first)
    assert precision_at_k(y_test, stan, k=5) > 0.65
    assert precision_at_k(y_test, popular, k=5) < 0.1
    assert mrr_at_k(y_test, stan, k=20) > 0.25
    assert mrr_at_k(y_test, popular, k=20) < 0.1


def test_auto_decay_lengths_follow_the_mean_session_length():
    X, y = prefixes([[1, 2, 3, 4, 5, 6, 7, 8], [4, 2, 5, 6]])  # rebuilt sessions of 8 and 4 clicks
    rec = VSTANRecommender().fit(X, y)
    assert (rec.lambda_spw_, rec.lambda_inh_, rec.lambda_ipw_) == (1.5, 3.0, 1.5)
    fixed = VSTANRecommender(lambda_spw=1.5, lambda_inh=3.0, lambda_ipw=1.5).fit(X, y)
    np.testing.assert_array_equal(raw_scores(rec, [[2, 5]]), raw_scores(fixed, [[2, 5]]))
    off = VSTANRecommender(lambda_spw=None).fit(X, y)
    assert off.lambda_spw_ is None
