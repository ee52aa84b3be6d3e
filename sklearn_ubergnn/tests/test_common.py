"""API checks that every public estimator passes.

Session estimators take sequences of sessions, not 2-D arrays, so scikit-learn's
``parametrize_with_checks`` skips them (their ``two_d_array`` tag is False): every check that feeds
an estimator a numeric matrix (dtypes, NaN/inf handling, sample-order invariance on arrays,
``n_features_in_``...) does not apply. They run the data-free scikit-learn checks directly
(``DATA_FREE_CHECKS``), plus this package's own suite below, which covers the same ground for
session input: fit returns self, not-fitted errors, raw ids in and out, bounded top-k, pickling,
clone/refit determinism, no mutation of inputs, bad input, and GridSearchCV over a Pipeline.
``UserPortraitEncoder`` takes ordinary tables and passes ``parametrize_with_checks`` in full
(``test_preprocessing.py``).
"""
import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_ubergnn import (
    GRU4RecRecommender,
    PopularityRecommender,
    SessionGraphTransformer,
    SessionKNNRecommender,
    UberGNNRecommender,
)
from sklearn_ubergnn.datasets import make_sessions
from sklearn_ubergnn.metrics import make_topk_scorer
from sklearn_ubergnn.pipeline import make_pipeline, recommend
from sklearn_ubergnn.preprocessing import session_prefixes
from sklearn_ubergnn.tests._checks import DATA_FREE_CHECKS

RECOMMENDERS = [
    PopularityRecommender(),
    SessionKNNRecommender(k=20, sample_size=50),
    UberGNNRecommender(hidden_size=8, max_epochs=2, batch_size=16, device="cpu", random_state=0),
    GRU4RecRecommender(hidden_size=8, max_epochs=2, batch_size=16, device="cpu", random_state=0),
]
ALL_ESTIMATORS = [SessionGraphTransformer(), *RECOMMENDERS]



def _ids(estimator):
    return type(estimator).__name__


@pytest.fixture(scope="module")
def data():
    sessions, _, _ = make_sessions(n_sessions=300, random_state=0)
    X, y = session_prefixes(sessions[:240])
    X_test, y_test = session_prefixes(sessions[240:])
    return X, y, X_test, y_test


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=_ids)
@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_data_free_checks(estimator, check):
    check(type(estimator).__name__, clone(estimator))


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=_ids)
def test_session_input_tag(estimator):
    assert estimator.__sklearn_tags__().input_tags.two_d_array is False


@pytest.mark.parametrize("estimator", RECOMMENDERS, ids=_ids)
def test_recommender_contract(estimator, data):
    X, y, X_test, y_test = data
    est = clone(estimator)
    assert is_classifier(est)
    for method in ("recommend", "predict", "predict_proba"):
        with pytest.raises(NotFittedError):
            getattr(est, method)(X_test)
    params = est.get_params()
    assert est.fit(X, y) is est
    assert est.get_params() == params, "fit must not change parameters"
    np.testing.assert_array_equal(est.classes_, np.unique(np.concatenate([np.concatenate(X), y])))
    top = est.recommend(X_test, k=5)
    assert top.shape == (len(X_test), 5)
    assert np.isin(top, est.classes_).all()
    assert all(len(set(row)) == 5 for row in top), "a top-k list never repeats an item"
    np.testing.assert_array_equal(est.predict(X_test), top[:, 0])
    proba = est.predict_proba(X_test[:7])
    assert proba.shape == (7, len(est.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(est.classes_[proba.argmax(axis=1)], est.predict(X_test[:7]))
    assert 0.0 <= est.score(X_test, y_test) <= 1.0


@pytest.mark.parametrize("estimator", RECOMMENDERS, ids=_ids)
def test_recommend_never_exceeds_catalogue(estimator):
    est = clone(estimator).fit([[1, 2], [2, 3]], [3, 1])
    assert est.recommend([[1]], k=50).shape == (1, 3)


@pytest.mark.parametrize("estimator", RECOMMENDERS, ids=_ids)
def test_pickle_and_joblib_round_trip(estimator, data, tmp_path):
    X, y, X_test, _ = data
    est = clone(estimator).fit(X, y)
    expected = est.recommend(X_test, k=10)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).recommend(X_test, k=10), expected)
    joblib.dump(est, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").recommend(X_test, k=10), expected)


@pytest.mark.parametrize("estimator", RECOMMENDERS, ids=_ids)
def test_clone_is_unfitted_and_refit_is_identical(estimator, data):
    X, y, X_test, _ = data
    est = clone(estimator).set_params(random_state=0) if "random_state" in estimator.get_params() else clone(estimator)
    first = est.fit(X, y).recommend(X_test, k=10)
    twin = clone(est)
    assert not any(name.endswith("_") and not name.startswith("__") for name in vars(twin))
    np.testing.assert_array_equal(twin.fit(X, y).recommend(X_test, k=10), first)
    np.testing.assert_array_equal(est.fit(X, y).recommend(X_test, k=10), first)


@pytest.mark.parametrize("estimator", RECOMMENDERS, ids=_ids)
def test_inputs_are_not_mutated(estimator, data):
    X, y, X_test, _ = data
    X_copy, y_copy, X_test_copy = [list(s) for s in X], np.array(y, copy=True), [list(s) for s in X_test]
    est = clone(estimator).fit(X, y)
    est.recommend(X_test, k=3)
    est.predict_proba(X_test[:3])
    assert [list(s) for s in X] == X_copy and [list(s) for s in X_test] == X_test_copy
    np.testing.assert_array_equal(y, y_copy)


@pytest.mark.parametrize("estimator", RECOMMENDERS, ids=_ids)
def test_string_ids_in_and_out(estimator):
    X = [["a", "b"], ["b", "c"], ["a"], ["c", "a"]]
    y = ["c", "a", "b", "b"]
    est = clone(estimator).fit(X, y)
    assert est.classes_.tolist() == ["a", "b", "c"]
    assert set(est.recommend([["a"]], k=3)[0]) == {"a", "b", "c"}


@pytest.mark.parametrize("estimator", RECOMMENDERS, ids=_ids)
def test_unseen_items_fall_back_to_popularity(estimator, data):
    X, y, _, _ = data
    est = clone(estimator).fit(X, y)
    popular = PopularityRecommender().fit(X, y).recommend([[X[0][0]]], k=5)[0]
    np.testing.assert_array_equal(est.recommend([[-12345, -999]], k=5)[0], popular)


@pytest.mark.parametrize("estimator", RECOMMENDERS, ids=_ids)
@pytest.mark.parametrize(
    "X_bad, y_bad, error",
    [([], [], ValueError), ([[1], []], [1, 2], ValueError), ([[1, None]], [1], ValueError),
     ([[1, "a"]], [1], TypeError), ([[1], [2]], [1], ValueError)],
)
def test_bad_fit_input(estimator, X_bad, y_bad, error):
    with pytest.raises(error):
        clone(estimator).fit(X_bad, y_bad)


@pytest.mark.parametrize("estimator", RECOMMENDERS, ids=_ids)
@pytest.mark.parametrize("k", [0, -1])
def test_bad_k(estimator, data, k):
    X, y, X_test, _ = data
    with pytest.raises(ValueError, match="k must be a positive integer"):
        clone(estimator).fit(X, y).recommend(X_test, k=k)


def test_grid_search_over_pipeline_in_parallel(data):
    X, y, _, _ = data
    search = GridSearchCV(
        make_pipeline(SessionKNNRecommender()),
        {"sessionknnrecommender__k": [5, 50]},
        scoring={"P@20": make_topk_scorer("precision", k=20), "MRR@20": make_topk_scorer("mrr", k=20)},
        refit="MRR@20",
        cv=KFold(2),
        n_jobs=2,
    )
    search.fit(X, y)
    assert search.best_params_["sessionknnrecommender__k"] in (5, 50)
    assert np.isfinite(search.cv_results_["mean_test_P@20"]).all()
    with pytest.raises(TypeError, match="cannot recommend"):
        recommend(SessionGraphTransformer().fit(X), X)
    assert recommend(search.best_estimator_, X[:4], k=20).shape == (4, 20)


def test_recommender_pipeline_forwards_recommend(data):
    X, y, X_test, _ = data
    pipe = make_pipeline(SessionKNNRecommender(k=20)).fit(X, y)
    np.testing.assert_array_equal(pipe.recommend(X_test, k=5), pipe[-1].recommend(X_test, k=5))
    assert not hasattr(make_pipeline(SessionGraphTransformer()), "recommend")
