"""Scale-out on a dask cluster (docs/scaling.md): hyperparameter search and distributed inference.

A search fanned out to dask workers through joblib's "dask" backend must give exactly what the
same search gives in one process: same ``best_params_``, same scores in ``cv_results_``.
:func:`~sklearn_ubergnn.distributed.recommend_dask` over a dask DataFrame of clicks must give
exactly what ``recommend`` gives in one process on the same sessions, and send the model once to
each worker. Skipped without ``pip install "sklearn_ubergnn[distributed]"``.
"""

import doctest
import logging
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_ubergnn import SessionKNNRecommender, UberGNNRecommender
from sklearn_ubergnn import distributed as ubergnn_distributed
from sklearn_ubergnn.datasets import make_sessions
from sklearn_ubergnn.distributed import recommend_clicks, recommend_dask
from sklearn_ubergnn.evaluation import with_users
from sklearn_ubergnn.metrics import make_topk_scorer
from sklearn_ubergnn.preprocessing import session_prefixes

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")

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


# --------------------------------------------------------------------------- distributed inference
GNN = {"hidden_size": 8, "max_epochs": 1, "batch_size": 32, "validation_fraction": None, "random_state": 0}
PORTRAIT = ["region", "age", "device", "income"]


class CountingKNN(SessionKNNRecommender):
    """Counts its unpicklings in each process: how often the model reaches a worker."""

    def __setstate__(self, state):
        _UNPICKLED[0] += 1
        super().__setstate__(state)


_UNPICKLED = [0]


def _unpickled():
    """This process's count of CountingKNN unpicklings (run on the workers with ``client.run``)."""
    return _UNPICKLED[0]


@pytest.fixture(scope="module")
def clicks():
    """Training prefixes of 120 planted sessions, and 30 later sessions as a table of clicks.

    ``table`` has one row per click (``session`` ids 1000-1029, ``item``, ``time``, then the
    user's portrait) in time order, so the sessions interleave; ``test`` lists the same sessions'
    items in click order, in session-id order.
    """
    sessions, session_users, users = make_sessions(n_items=40, n_sessions=150, random_state=0)
    X, y, index = session_prefixes(sessions[:120], return_session_index=True)
    test, test_users = sessions[120:], session_users[120:]
    lengths = np.array([len(s) for s in test])
    session = np.repeat(np.arange(len(test)), lengths)
    position = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    table = pd.DataFrame({"session": 1000 + session, "item": np.concatenate(test), "time": session + 4.0 * position})
    table = pd.concat([table, users.loc[test_users[session]].reset_index(drop=True)], axis=1)
    table = table.sort_values("time", kind="stable", ignore_index=True)
    return {
        "X": X,
        "y": y,
        "portraits": users.loc[session_users[:120][index]].reset_index(drop=True),
        "test": test,
        "test_portraits": users.loc[test_users].reset_index(drop=True),
        "table": table,
    }


@pytest.fixture(scope="module")
def knn(clicks):
    return SessionKNNRecommender().fit(clicks["X"], clicks["y"])


def _ranked(recs, k):
    """A computed result as an ``(n_sessions, k)`` array of items, sessions sorted by id."""
    assert list(recs.columns) == ["session", "rank", "item"]
    wide = recs.pivot(index="session", columns="rank", values="item")  # raises on a repeated (session, rank)
    assert list(wide.columns) == list(range(1, k + 1))
    return wide.to_numpy()


@pytest.mark.parametrize("layout", ["row order", "shuffled rows, time column", "indexed by session"])
def test_dask_recommend_session_knn_equals_recommend(client, clicks, knn, layout):
    table, kwargs = clicks["table"][["session", "item", "time"]], {}
    if layout == "row order":  # sessions span partitions; their clicks must stay in row order
        sessions = dd.from_pandas(table, npartitions=4, sort=False)
    elif layout == "shuffled rows, time column":  # string session ids, click order only in "time"
        table = table.sample(frac=1.0, random_state=0).assign(session=lambda t: "s" + t["session"].astype(str))
        sessions, kwargs = dd.from_pandas(table, npartitions=4, sort=False), {"time_column": "time"}
    else:  # known divisions: every session already lies in one partition, nothing is shuffled
        sessions = dd.from_pandas(table.set_index("session").sort_index(kind="stable"), npartitions=4)
        assert sessions.known_divisions
    before = table.copy()
    recs = recommend_dask(knn, sessions, k=10, **kwargs).compute()
    np.testing.assert_array_equal(_ranked(recs, 10), knn.recommend(clicks["test"], k=10))
    pd.testing.assert_frame_equal(table, before)  # the input is not modified


def test_dask_recommend_ubergnn_equals_recommend(client, clicks):
    est = UberGNNRecommender(**GNN).fit(clicks["X"], clicks["y"])
    sessions = dd.from_pandas(clicks["table"][["session", "item"]], npartitions=3, sort=False)
    recs = recommend_dask(est, sessions, k=20).compute()
    np.testing.assert_array_equal(_ranked(recs, 20), est.recommend(clicks["test"], k=20))


def test_dask_recommend_ubergnn_with_user_columns(client, clicks):
    est = UberGNNRecommender(**GNN).fit(with_users(clicks["X"], clicks["portraits"]), clicks["y"])
    assert est.user_encoder_ is not None
    sessions = dd.from_pandas(clicks["table"], npartitions=3, sort=False)
    recs = recommend_dask(est, sessions, k=20, time_column="time", user_columns=PORTRAIT).compute()
    expected = est.recommend(with_users(clicks["test"], clicks["test_portraits"]), k=20)
    np.testing.assert_array_equal(_ranked(recs, 20), expected)


@pytest.mark.parametrize("ids", ["int", "str"])
def test_dask_recommend_parquet_round_trip(client, clicks, knn, tmp_path, ids):
    table, test = clicks["table"][["session", "item"]], clicks["test"]
    if ids == "str":  # string session and item ids; a model fitted on string item ids
        table = table.astype(str).assign(item=lambda t: "i" + t["item"])
        test = [[f"i{item}" for item in session] for session in test]
        knn = SessionKNNRecommender().fit([[f"i{item}" for item in s] for s in clicks["X"]],
                                          np.array([f"i{item}" for item in clicks["y"]], dtype=object))
    sessions = dd.from_pandas(table, npartitions=4, sort=False)
    assert recommend_dask(knn, sessions, k=5, output=tmp_path / "recs") is None
    back = pd.read_parquet(tmp_path / "recs")
    assert list(back.columns) == ["session", "rank", "item"] and back["rank"].dtype == np.int32
    if ids == "int":
        assert back["session"].dtype == np.int64 and back["item"].dtype == np.int64
    computed = recommend_dask(knn, sessions, k=5).compute()
    order = ["session", "rank"]
    pd.testing.assert_frame_equal(back.sort_values(order, ignore_index=True),
                                  computed.sort_values(order, ignore_index=True))
    np.testing.assert_array_equal(_ranked(back, 5), knn.recommend(test, k=5))


def test_dask_recommend_sends_the_model_once_per_worker(client, clicks):
    est = CountingKNN().fit(clicks["X"], clicks["y"])
    sessions = dd.from_pandas(clicks["table"][["session", "item"]], npartitions=8, sort=False)
    before = client.run(_unpickled)
    recs = recommend_dask(est, sessions, k=5).compute()
    after = client.run(_unpickled)
    # 8 partition tasks on 2 workers: a model shipped with each task would be unpickled 8 times
    assert {worker: after[worker] - before[worker] for worker in after} == {worker: 1 for worker in after}
    np.testing.assert_array_equal(_ranked(recs, 5), est.recommend(clicks["test"], k=5))


def test_dask_recommend_without_client_makes_the_model_one_task(clicks, knn, monkeypatch):
    monkeypatch.setattr(ubergnn_distributed, "_current_client", lambda: None)
    with dask.config.set({"scheduler": "sync", "dataframe.shuffle.method": "tasks"}):
        sessions = dd.from_pandas(clicks["table"][["session", "item"]], npartitions=3, sort=False)
        recs = recommend_dask(knn, sessions, k=10)
        names = [key[0] if isinstance(key, tuple) else key for key in dict(recs.__dask_graph__())]
        assert sum(str(name).startswith("recommender-") for name in names) == 1  # one task holds the model
        np.testing.assert_array_equal(_ranked(recs.compute(), 10), knn.recommend(clicks["test"], k=10))


def test_dask_recommend_errors(clicks, knn, monkeypatch):
    table = clicks["table"][["session", "item"]]
    sessions = dd.from_pandas(table, npartitions=2, sort=False)
    with pytest.raises(TypeError, match="clicks must be a dask DataFrame, got pandas"):
        recommend_dask(knn, table)
    with pytest.raises(NotFittedError):
        recommend_dask(SessionKNNRecommender(), sessions)
    with pytest.raises(TypeError, match="estimator must be a fitted recommender"):
        recommend_dask(make_topk_scorer("mrr"), sessions)
    with pytest.raises(ValueError, match="no session column 'sid'"):
        recommend_dask(knn, sessions, session_column="sid")
    with pytest.raises(ValueError, match=r"no column 'when' \(time_column\)"):
        recommend_dask(knn, sessions, time_column="when")
    with pytest.raises(TypeError, match="user_columns must be a list"):
        recommend_dask(knn, sessions, user_columns="region")
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        recommend_dask(knn, sessions, k=0)
    with pytest.raises(TypeError, match="k must be a positive integer"):
        recommend_dask(knn, sessions, k=2.5)
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)  # as if dask were not installed
    with pytest.raises(ImportError, match=r'pip install "sklearn_ubergnn\[distributed\]"'):
        recommend_dask(knn, sessions)


def test_dask_recommend_reports_missing_ids_when_computed(client, clicks, knn):
    table = clicks["table"][["session", "item"]].astype({"item": "Int64"})
    table.loc[5, "item"] = pd.NA
    recs = recommend_dask(knn, dd.from_pandas(table, npartitions=2, sort=False))
    with pytest.raises(ValueError, match=f"missing item id in session {table.loc[5, 'session']}"):
        recs.compute()


def test_dask_partition_restores_click_order(clicks, knn):
    """A partition's rows in any order: the click-order column a shuffle carries puts them back."""
    rows = clicks["table"][["session", "item"]].assign(order=lambda t: np.arange(len(t)))
    rows = rows.sample(frac=1.0, random_state=0)
    expected = knn.recommend(clicks["test"], k=10)
    with_order = ubergnn_distributed._Columns("session", "item", order="order")
    recs = ubergnn_distributed._rank_clicks(rows, knn, k=10, columns=with_order)
    np.testing.assert_array_equal(_ranked(recs, 10), expected)
    recs = ubergnn_distributed._rank_clicks(rows, knn, k=10, columns=ubergnn_distributed._Columns("session", "item"))
    assert (_ranked(recs, 10) != expected).any()  # in row order the sessions differ: the test can fail


def test_dask_docstring_example(client):
    result = doctest.testmod(ubergnn_distributed, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and not result.failed


def test_dask_recommend_clicks_pandas(clicks, knn):
    """The per-partition function on a whole pandas table: rows in any order, click order in "time"."""
    table = clicks["table"].sample(frac=1.0, random_state=0)
    before = table.copy()
    recs = recommend_clicks(knn, table, k=10, time_column="time")
    np.testing.assert_array_equal(_ranked(recs, 10), knn.recommend(clicks["test"], k=10))
    pd.testing.assert_frame_equal(table, before)  # the input is not modified
    indexed = recommend_clicks(knn, table.set_index("session"), k=10, time_column="time")
    pd.testing.assert_frame_equal(indexed, recs)  # session ids from the index
    with pytest.raises(TypeError, match="clicks must be a pandas DataFrame, got dask"):
        recommend_clicks(knn, dd.from_pandas(table, npartitions=2), k=10)
    with pytest.raises(ValueError, match="missing click times"):
        recommend_clicks(knn, table.assign(time=np.where(table["session"] == 1003, np.nan, table["time"])),
                         time_column="time")
    with pytest.raises(TypeError, match="SessionKNNRecommender takes no user columns"):
        recommend_clicks(knn, table, user_columns=["region"])
