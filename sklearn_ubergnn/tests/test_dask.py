"""Hyperparameter search on a dask cluster through joblib's "dask" backend (docs/scaling.md).

A search fanned out to dask workers must give exactly what the same search gives in one
process: same ``best_params_``, same scores in ``cv_results_``. Skipped without
``pip install "sklearn_ubergnn[distributed]"``.
"""

import logging

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_ubergnn import SessionKNNRecommender, UberGNNRecommender
from sklearn_ubergnn.datasets import make_sessions
from sklearn_ubergnn.metrics import make_topk_scorer
from sklearn_ubergnn.preprocessing import session_prefixes

distributed = pytest.importorskip("distributed")

SCORING = {"P@20": make_topk_scorer("precision", k=20), "MRR@20": make_topk_scorer("mrr", k=20)}


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes, so estimators and scorers really travel by pickle."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def prefixes():
    sessions, _, _ = make_sessions(n_items=40, n_sessions=150, random_state=0)
    return session_prefixes(sessions)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The reference run uses one torch thread, like the workers (same float sums, same ranks)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _search_twice(estimator, grid, X, y):
    """The same search run in this process (n_jobs=1) and on the cluster; both fitted searches."""

    def search(n_jobs):
        return GridSearchCV(estimator, grid, scoring=SCORING, refit="MRR@20", cv=KFold(3), n_jobs=n_jobs)

    local = search(1).fit(X, y)
    with distributed.get_task_stream() as tasks, joblib.parallel_backend("dask"):
        remote = search(-1).fit(X, y)
    assert len({task["worker"] for task in tasks.data}) == 2  # the fits ran on both workers
    return local, remote


def _assert_same_search(local, remote):
    assert remote.best_params_ == local.best_params_
    assert remote.best_index_ == local.best_index_
    for key, values in local.cv_results_.items():
        if key.startswith(("split", "mean_test", "std_test", "rank_test")):
            np.testing.assert_array_equal(remote.cv_results_[key], values, err_msg=key)


def test_dask_grid_search_session_knn(client, prefixes):
    X, y = prefixes
    local, remote = _search_twice(SessionKNNRecommender(), {"k": [5, 50], "weighting": ["div", "same"]}, X, y)
    _assert_same_search(local, remote)
    np.testing.assert_array_equal(
        remote.best_estimator_.recommend(X[:5], k=10), local.best_estimator_.recommend(X[:5], k=10)
    )


def test_dask_grid_search_ubergnn(client, prefixes):
    X, y = prefixes
    est = UberGNNRecommender(
        hidden_size=8, max_epochs=1, batch_size=32, validation_fraction=None, random_state=0
    )
    local, remote = _search_twice(est, {"lr": [1e-3, 1e-2]}, X, y)
    _assert_same_search(local, remote)
    assert (local.cv_results_["mean_test_P@20"] > 0).all()
