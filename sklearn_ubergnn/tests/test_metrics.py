"""Tests of the top-k ranking metrics and of make_topk_scorer."""
import math
import pickle
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from sklearn_ubergnn import metrics as metrics_module
from sklearn_ubergnn.metrics import (
    hit_rate_at_k,
    make_topk_scorer,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    rank_against_negatives,
    recall_at_k,
)

METRICS = [precision_at_k, hit_rate_at_k, recall_at_k, mrr_at_k, ndcg_at_k]


# ---------------------------------------------------------------------------------------
# Hand-worked examples
# ---------------------------------------------------------------------------------------
# Three samples, one target each, rankings of 4 ids, k = 3:
#   sample 0: target 3 at rank 2      -> hit, RR 1/2, nDCG 1/log2(3)
#   sample 1: target 7 at rank 4 > k  -> miss
#   sample 2: target 1 at rank 1      -> hit, RR 1, nDCG 1
Y1 = [3, 7, 1]
R1 = [[1, 3, 5, 6], [2, 4, 6, 7], [1, 2, 3, 4]]


def test_single_target_hand_worked():
    assert precision_at_k(Y1, R1, k=3) == pytest.approx(2 / 3)
    assert hit_rate_at_k(Y1, R1, k=3) == pytest.approx(2 / 3)
    assert recall_at_k(Y1, R1, k=3) == pytest.approx(2 / 3)
    assert mrr_at_k(Y1, R1, k=3) == pytest.approx((1 / 2 + 0 + 1) / 3)
    assert ndcg_at_k(Y1, R1, k=3) == pytest.approx((1 / math.log2(3) + 0 + 1) / 3)
    # k = 4 reaches the target of sample 1 at rank 4
    assert hit_rate_at_k(Y1, R1, k=4) == pytest.approx(1.0)
    assert mrr_at_k(Y1, R1, k=4) == pytest.approx((1 / 2 + 1 / 4 + 1) / 3)
    assert ndcg_at_k(Y1, R1, k=4) == pytest.approx((1 / math.log2(3) + 1 / math.log2(5) + 1) / 3)


def test_precision_is_not_hits_over_k():
    # One target found in the top 20: SR-GNN's P@20 is 1 (not 1/20).
    assert precision_at_k([5], [list(range(20))], k=20) == 1.0


def test_multiple_targets_hand_worked():
    # sample 0: targets {1, 2, 3}, ranking [1, 9, 2, 8], k = 2 -> top 2 = [1, 9]
    #   hits 1; precision 1/min(2, 3) = 1/2; recall 1/3; RR 1;
    #   DCG = 1, IDCG = 1 + 1/log2(3)
    # sample 1: targets {8}, ranking [9, 8, 7, 6]        -> hits 1; precision 1; recall 1; RR 1/2;
    #   DCG = 1/log2(3), IDCG = 1
    y = [[1, 2, 3], {8}]
    r = [[1, 9, 2, 8], [9, 8, 7, 6]]
    assert precision_at_k(y, r, k=2) == pytest.approx((1 / 2 + 1) / 2)
    assert recall_at_k(y, r, k=2) == pytest.approx((1 / 3 + 1) / 2)
    assert hit_rate_at_k(y, r, k=2) == pytest.approx(1.0)
    assert mrr_at_k(y, r, k=2) == pytest.approx((1 + 1 / 2) / 2)
    assert ndcg_at_k(y, r, k=2) == pytest.approx((1 / (1 + 1 / math.log2(3)) + 1 / math.log2(3)) / 2)
    # k = 4: sample 0 finds 1 and 2 at ranks 1 and 3
    #   precision 2/3, recall 2/3, DCG 1 + 1/2, IDCG 1 + 1/log2(3) + 1/2
    assert precision_at_k(y, r, k=4) == pytest.approx((2 / 3 + 1) / 2)
    assert ndcg_at_k(y, r, k=4) == pytest.approx((1.5 / (1 + 1 / math.log2(3) + 0.5) + 1 / math.log2(3)) / 2)


def test_fewer_columns_than_k():
    # 2 ranked ids but k = 20: missing ranks are misses, and precision still divides by
    # min(k, n_targets) (not by the number of columns).
    y = [[1, 2, 3], [4]]
    r = [[1, 2], [5, 6]]
    assert precision_at_k(y, r, k=20) == pytest.approx((2 / 3 + 0) / 2)
    assert recall_at_k(y, r, k=20) == pytest.approx((2 / 3 + 0) / 2)
    assert hit_rate_at_k(y, r, k=20) == pytest.approx(0.5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(y, r, k=20) == pytest.approx((1 + 1 / math.log2(3)) / idcg / 2)


def test_zero_columns_are_all_misses():
    r = np.empty((2, 0), dtype=np.int64)
    for metric in METRICS:
        assert metric([1, 2], r, k=5) == 0.0


def test_duplicates_in_ranking_count_once():
    # target 1 repeated at ranks 1 and 2: one hit, at rank 1
    y = [[1, 2]]
    r = [[1, 1, 3]]
    assert precision_at_k(y, r, k=2) == pytest.approx(0.5)
    assert recall_at_k(y, r, k=3) == pytest.approx(0.5)
    assert ndcg_at_k(y, r, k=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    # duplicated targets count once too
    assert recall_at_k([[1, 1]], [[1, 5]], k=2) == 1.0


def test_string_ids_and_array_inputs():
    y = np.array(["a", "b", "c"])
    r = np.array([["a", "x"], ["x", "b"], ["x", "y"]])
    assert hit_rate_at_k(y, r, k=2) == pytest.approx(2 / 3)
    assert mrr_at_k(list(y), r.astype(object), k=2) == pytest.approx((1 + 1 / 2) / 3)
    # a 2-D array of targets: several targets per sample
    assert recall_at_k(np.array([[1, 2], [3, 4]]), np.array([[2, 9], [9, 9]]), k=2) == pytest.approx(0.25)


def test_returns_python_float():
    assert type(precision_at_k([1], [[1]], k=1)) is float


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("metric", METRICS)
def test_length_mismatch(metric):
    with pytest.raises(ValueError, match="same number of samples"):
        metric([1, 2], [[1, 2]], k=1)
    with pytest.raises(ValueError, match="same number of samples"):
        metric([[1], [2, 3]], [[1, 2]], k=1)


@pytest.mark.parametrize("k, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)])
def test_bad_k(k, error):
    with pytest.raises(error, match="k must be a positive integer"):
        precision_at_k([1], [[1]], k=k)


def test_y_ranked_must_be_2d():
    with pytest.raises(ValueError, match="2-D"):
        hit_rate_at_k([1, 2], [1, 2], k=1)
    with pytest.raises(ValueError, match="2-D"):
        hit_rate_at_k([1, 2], np.zeros((2, 2, 2), dtype=int), k=1)
    with pytest.raises(ValueError, match="different lengths"):
        hit_rate_at_k([1, 2], np.array([[1, 2], [3]], dtype=object), k=1)


def test_empty_inputs():
    with pytest.raises(ValueError, match="at least one sample"):
        hit_rate_at_k([], [], k=1)
    with pytest.raises(ValueError, match="at least one sample"):
        hit_rate_at_k([], np.empty((0, 3)), k=1)
    with pytest.raises(ValueError, match=r"y_true\[1\] is empty"):
        recall_at_k([[1], []], [[1], [2]], k=1)


def test_bad_ids():
    with pytest.raises(TypeError, match="y_true holds int item ids but y_ranked holds str"):
        hit_rate_at_k([1], [["a"]], k=1)
    with pytest.raises(TypeError, match="integers or strings"):
        hit_rate_at_k([1], [[1.5]], k=1)
    with pytest.raises(ValueError, match="missing"):
        hit_rate_at_k([1, None], [[1], [2]], k=1)
    with pytest.raises(TypeError, match="not a mix"):
        hit_rate_at_k([[1], 2], [[1], [2]], k=1)


def test_inputs_not_modified():
    y = [[3, 1], [2]]
    r = np.array([[1, 2, 3], [3, 2, 1]])
    y_copy, r_copy = [list(t) for t in y], r.copy()
    for metric in METRICS:
        metric(y, r, k=2)
    assert y == y_copy
    np.testing.assert_array_equal(r, r_copy)


# ---------------------------------------------------------------------------------------
# Properties against a plain-Python reference
# ---------------------------------------------------------------------------------------
def _reference(y_true, y_ranked, k):
    """Per-sample (precision, hit, recall, rr, ndcg) computed one sample at a time."""
    out = []
    for targets, row in zip(y_true, y_ranked):
        targets = set(targets) if isinstance(targets, (list, set)) else {targets}
        seen, hits, rr, dcg = set(), 0, 0.0, 0.0
        for rank, item in enumerate(list(row)[:k], start=1):
            if item in targets and item not in seen:
                hits += 1
                dcg += 1 / math.log2(rank + 1)
                rr = rr or 1 / rank
            seen.add(item)
        idcg = sum(1 / math.log2(r + 1) for r in range(1, min(k, len(targets)) + 1))
        out.append((hits / min(k, len(targets)), float(hits > 0), hits / len(targets), rr, dcg / idcg))
    return np.mean(np.array(out), axis=0)


@st.composite
def ranking_problems(draw, multi=True):
    n = draw(st.integers(1, 8))
    m = draw(st.integers(0, 6))
    n_items = draw(st.integers(1, 10))
    item = st.integers(0, n_items - 1)
    if multi and draw(st.booleans()):
        y = [draw(st.lists(item, min_size=1, max_size=5)) for _ in range(n)]
    else:
        y = [draw(item) for _ in range(n)]
    ranked = np.array([[draw(item) for _ in range(m)] for _ in range(n)], dtype=np.int64).reshape(n, m)
    k = draw(st.integers(1, 8))
    return y, ranked, k


@settings(max_examples=200, deadline=None)
@given(ranking_problems())
def test_matches_reference(problem):
    y, ranked, k = problem
    expected = _reference(y, ranked, k)
    got = [metric(y, ranked, k=k) for metric in METRICS]
    np.testing.assert_allclose(got, expected, atol=1e-12)
    # several targets per sample: the vocabulary-key path used for large inputs agrees too
    with mock.patch.object(metrics_module, "_BROADCAST_LIMIT", 0):
        got = [metric(y, ranked, k=k) for metric in METRICS]
    np.testing.assert_allclose(got, expected, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(ranking_problems(), st.randoms(use_true_random=False))
def test_bounds_order_invariance_and_orderings(problem, rnd):
    y, ranked, k = problem
    prec, hit, rec, mrr, ndcg = (metric(y, ranked, k=k) for metric in METRICS)
    for value in (prec, hit, rec, mrr, ndcg):
        assert 0.0 <= value <= 1.0
    eps = 1e-12
    assert mrr <= hit + eps and ndcg <= hit + eps and prec <= hit + eps
    assert rec <= prec + eps  # hits/n_targets <= hits/min(k, n_targets)
    # sample order does not matter
    perm = list(range(len(y)))
    rnd.shuffle(perm)
    y_perm = [y[i] for i in perm]
    for metric in METRICS:
        assert metric(y_perm, ranked[perm], k=k) == pytest.approx(metric(y, ranked, k=k))
    # columns beyond k do not matter; a larger k never lowers hit rate, recall or MRR
    for metric in METRICS:
        assert metric(y, ranked[:, :k], k=k) == pytest.approx(metric(y, ranked, k=k))
    for metric in (hit_rate_at_k, recall_at_k, mrr_at_k):
        assert metric(y, ranked, k=k + 1) >= metric(y, ranked, k=k) - eps


@settings(max_examples=100, deadline=None)
@given(ranking_problems(multi=False))
def test_single_target_identities(problem):
    y, ranked, k = problem
    hit = hit_rate_at_k(y, ranked, k=k)
    assert precision_at_k(y, ranked, k=k) == pytest.approx(hit)
    assert recall_at_k(y, ranked, k=k) == pytest.approx(hit)
    # one target at rank r: RR = 1/r <= 1/log2(r + 1) = nDCG
    assert mrr_at_k(y, ranked, k=k) <= ndcg_at_k(y, ranked, k=k) + 1e-12


@settings(max_examples=50, deadline=None)
@given(ranking_problems())
def test_renaming_ids_changes_nothing(problem):
    y, ranked, k = problem
    name = {i: f"item-{(7 * i) % 10}" for i in range(10)}  # a bijection onto strings
    y_str = [[name[i] for i in t] if isinstance(t, list) else name[t] for t in y]
    ranked_str = np.vectorize(name.get, otypes=[object])(ranked) if ranked.size else ranked.astype(object)
    for metric in METRICS:
        assert metric(y_str, ranked_str, k=k) == pytest.approx(metric(y, ranked, k=k))


# ---------------------------------------------------------------------------------------
# Scorers
# ---------------------------------------------------------------------------------------
class _LookupRecommender(BaseEstimator):
    """Dummy recommender: recommends the `shift` ids after the last item, then 0, 1, ..."""

    def __init__(self, shift=1):
        self.shift = shift

    def fit(self, X, y):
        self.fitted_ = True
        return self

    def recommend(self, X, k=20):
        last = np.array([s[-1] for s in X])
        return (last[:, None] + self.shift + np.arange(k)[None, :]) % 100


def _next_item_data(n=40):
    X = [[i % 100, (i + 1) % 100] for i in range(n)]
    y = np.array([(s[-1] + 1) % 100 for s in X])  # the next item is always last + 1
    return X, y


def test_scorer_calls_recommend_and_metric():
    X, y = _next_item_data()
    assert make_topk_scorer("precision", k=5)(_LookupRecommender(shift=1), X, y) == 1.0
    assert make_topk_scorer("mrr", k=5)(_LookupRecommender(shift=0), X, y) == pytest.approx(0.5)
    assert make_topk_scorer("hit_rate", k=1)(_LookupRecommender(shift=0), X, y) == 0.0
    assert make_topk_scorer(ndcg_at_k, k=2)(_LookupRecommender(shift=0), X, y) == pytest.approx(1 / math.log2(3))


def test_scorer_repr_pickle_and_errors():
    scorer = make_topk_scorer("ndcg", k=10)
    assert repr(scorer) == "make_topk_scorer('ndcg', k=10)"
    assert repr(make_topk_scorer(mrr_at_k, k=3)) == "make_topk_scorer('mrr_at_k', k=3)"
    clone = pickle.loads(pickle.dumps(scorer))
    X, y = _next_item_data()
    assert clone(_LookupRecommender(), X, y) == scorer(_LookupRecommender(), X, y)
    pickle.loads(pickle.dumps(make_topk_scorer(recall_at_k)))
    with pytest.raises(ValueError, match=r"unknown metric 'p@20'.*'hit_rate'.*'precision'"):
        make_topk_scorer("p@20")
    with pytest.raises(TypeError, match="metric must be one of"):
        make_topk_scorer(3)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        make_topk_scorer("mrr", k=0)


def test_scorers_in_cross_validate_and_grid_search():
    X, y = _next_item_data()
    scoring = {"P@5": make_topk_scorer("precision", k=5), "MRR@5": make_topk_scorer("mrr", k=5)}
    res = cross_validate(_LookupRecommender(shift=0), X, y, scoring=scoring, cv=KFold(2))
    np.testing.assert_allclose(res["test_P@5"], 1.0)
    np.testing.assert_allclose(res["test_MRR@5"], 0.5)
    search = GridSearchCV(_LookupRecommender(), {"shift": [0, 1, 3]}, scoring=scoring, refit="MRR@5", cv=KFold(2))
    search.fit(X, y)
    assert search.best_params_ == {"shift": 1}
    np.testing.assert_allclose(search.cv_results_["mean_test_P@5"], [1.0, 1.0, 0.0])
    # a single scorer, with n_jobs=2 (the scorer is pickled to the workers)
    res = cross_validate(_LookupRecommender(shift=1), X, y, scoring=scoring["MRR@5"], cv=KFold(2), n_jobs=2)
    np.testing.assert_allclose(res["test_score"], 1.0)


# ---------------------------------------------------------------------------------------
# rank_against_negatives (link prediction with sampled negatives)
# ---------------------------------------------------------------------------------------
def test_rank_against_negatives_by_hand():
    # 0.9 beats all -> 1; 0.5 ties 0.5, loses to 0.7 -> 1 + 1 + 1/2; 0.1 loses to two, ties one -> 3.5;
    # all tie -> 1 + 3/2
    ranks = rank_against_negatives([0.9, 0.5, 0.1, 0.0], [[0.1, 0.2, -1], [0.5, 0.7, 0.0], [0.3, 0.2, 0.1],
                                                          [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(ranks, [1.0, 2.5, 3.5, 2.5])
    assert ranks.dtype == np.float64


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 20), st.integers(1, 8), st.integers(0, 2**16))
def test_rank_against_negatives_invariants(n, k, seed):
    rng = np.random.default_rng(seed)
    pos, neg = rng.integers(0, 3, n).astype(float), rng.integers(0, 3, (n, k)).astype(float)
    ranks = rank_against_negatives(pos, neg)
    assert np.all((ranks >= 1) & (ranks <= k + 1))
    np.testing.assert_array_equal(ranks, rank_against_negatives(pos, neg[:, rng.permutation(k)]))
    np.testing.assert_array_equal(rank_against_negatives(pos + 10, neg), np.ones(n))
    mrr = np.mean(1 / ranks)
    assert 0 < mrr <= 1


def test_rank_against_negatives_bad_input():
    with pytest.raises(ValueError, match=r"neg_scores must have shape \(n_samples, n_negatives\)"):
        rank_against_negatives([0.1, 0.2], [0.1, 0.2])
    with pytest.raises(ValueError, match="n_samples = 2"):
        rank_against_negatives([0.1, 0.2], [[0.1]])
    with pytest.raises(ValueError, match="NaN"):
        rank_against_negatives([np.nan], [[0.1]])
