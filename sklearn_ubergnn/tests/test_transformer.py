"""Tests for SessionGraphTransformer: raw sessions in, SessionGraphBatch out."""
import copy
import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_get_params_invariance,
    check_mixin_order,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
    check_valid_tag_types,
)

from sklearn_ubergnn._validation import FlatSessions
from sklearn_ubergnn.graphs import SessionGraphBatch, build_session_graphs
from sklearn_ubergnn.session._transformer import SessionGraphTransformer
from sklearn_ubergnn.tests.test_graphs import assert_batch_equal

X_INT = [[1, 2, 3, 2, 4], [3, 5], [2, 2, 6]]
Y_INT = [5, 7, 1]
X_STR = [["b", "a", "c"], ["c", "d"]]


@pytest.mark.parametrize(
    "check",
    [
        check_estimator_cloneable,
        check_estimator_repr,
        check_no_attributes_set_in_init,
        check_get_params_invariance,
        check_set_params,
        check_mixin_order,
        check_parameters_default_constructible,
        check_do_not_raise_errors_in_init_or_set_params,
        check_valid_tag_types,
    ],
    ids=lambda f: f.__name__,
)
def test_data_free_sklearn_checks(check):
    check("SessionGraphTransformer", SessionGraphTransformer())


def test_fit_learns_vocabulary_from_X_and_y():
    t = SessionGraphTransformer()
    assert t.fit(X_INT) is t
    assert_array_equal(t.classes_, [1, 2, 3, 4, 5, 6])
    assert t.n_items_ == 6 and t.classes_.dtype == np.int64
    # Next items extend the catalogue.
    t.fit(X_INT, Y_INT)
    assert_array_equal(t.classes_, [1, 2, 3, 4, 5, 6, 7])
    assert t.n_items_ == 7
    assert_array_equal(t.vocabulary_.classes_, t.classes_)
    # Refitting starts afresh.
    t.fit([[10, 11]])
    assert_array_equal(t.classes_, [10, 11])


def test_transform_equals_builder_on_codes():
    t = SessionGraphTransformer().fit(X_INT, Y_INT)
    batch = t.transform(X_INT)
    assert isinstance(batch, SessionGraphBatch)
    codes = FlatSessions(
        np.array([0, 1, 2, 1, 3, 2, 4, 1, 1, 5], dtype=np.int64), np.array([0, 5, 7, 10], dtype=np.int64)
    )
    assert_batch_equal(batch, build_session_graphs(codes, t.classes_))
    assert batch.classes is t.classes_
    assert_array_equal(batch.classes[batch.items], [1, 2, 3, 4, 3, 5, 2, 6])
    assert_batch_equal(SessionGraphTransformer().fit_transform(X_INT, Y_INT), batch)


def test_unseen_items_are_dropped_by_default():
    t = SessionGraphTransformer().fit(X_INT)
    batch = t.transform([[1, 99, 2], [98, 97], [3]])
    # [1, 99, 2] -> graph of [1, 2]: edge 1 -> 2.
    assert_array_equal(batch.classes[batch.items], [1, 2, 3])
    assert_array_equal(batch.classes[batch.items[batch.edge_src]], [1])
    assert_array_equal(batch.classes[batch.items[batch.edge_dst]], [2])
    # The fully unseen session is an empty graph with last_node -1.
    assert_array_equal(batch.node_offsets, [0, 2, 2, 3])
    assert_array_equal(batch.last_node, [1, -1, 2])


def test_handle_unknown_error_names_session_and_position():
    t = SessionGraphTransformer(handle_unknown="error").fit(X_STR)
    assert_array_equal(t.transform([["a", "d"]]).items, [0, 3])
    with pytest.raises(ValueError, match=r"X\[1\]\[2\] = 'zz' is an item id not seen in fit \(2 unseen"):
        t.transform([["a"], ["b", "c", "zz", "yy"]])


def test_invalid_parameter():
    with pytest.raises(InvalidParameterError, match="handle_unknown"):
        SessionGraphTransformer(handle_unknown="drop").fit(X_INT)


def test_string_ids_and_kind_mismatch():
    t = SessionGraphTransformer().fit(X_STR, ["d", "e"])
    assert_array_equal(t.classes_, ["a", "b", "c", "d", "e"])
    assert t.classes_.dtype == object
    batch = t.transform(pd.Series([["e", "a", "e"]]))
    assert_array_equal(batch.classes[batch.items], ["a", "e"])
    with pytest.raises(TypeError, match="fitted on str item ids"):
        t.transform([[1, 2]])


def test_not_fitted():
    with pytest.raises(NotFittedError):
        SessionGraphTransformer().transform(X_INT)


def test_pickle_clone_and_params_round_trip():
    t = SessionGraphTransformer(handle_unknown="error").fit(X_INT)
    restored = pickle.loads(pickle.dumps(t))
    assert_batch_equal(restored.transform(X_INT), t.transform(X_INT))
    twin = clone(t)
    assert twin.get_params() == {"handle_unknown": "error"}
    assert not hasattr(twin, "classes_")
    params = t.get_params()
    assert SessionGraphTransformer().set_params(**params).get_params() == params


@pytest.mark.parametrize(
    "X",
    [
        [[1, 2, 3], [3, 1]],
        [np.array([1, 2, 3]), np.array([3, 1])],
        np.array([[1, 2], [3, 1]]),
        pd.Series([[1, 2, 3], [3, 1]]),
    ],
    ids=["lists", "arrays", "2d-array", "series"],
)
def test_input_not_mutated(X):
    before = copy.deepcopy(X)
    t = SessionGraphTransformer()
    t.fit_transform(X, np.array([4, 5]))
    t.transform(X)
    if isinstance(X, pd.Series):
        pd.testing.assert_series_equal(X, before)
    elif isinstance(X, np.ndarray):
        assert_array_equal(X, before)
    else:
        for a, b in zip(X, before):
            assert_array_equal(a, b)


def test_tags():
    tags = SessionGraphTransformer().__sklearn_tags__()
    assert tags.input_tags.two_d_array is False
    assert tags.input_tags.string is True
    assert tags.target_tags.required is False
    assert tags.transformer_tags is not None


class _RecordingEstimator(BaseEstimator):
    """Final pipeline step that records the SessionGraphBatch it receives."""

    def fit(self, X, y=None):
        self.fit_X_ = X
        self.fit_y_ = y
        return self

    def predict(self, X):
        self.predict_X_ = X
        return X.last_node


def test_pipeline_first_step():
    pipe = make_pipeline(SessionGraphTransformer(), _RecordingEstimator())
    pipe.fit(X_INT, Y_INT)
    graphs, final = pipe[0], pipe[-1]
    assert isinstance(final.fit_X_, SessionGraphBatch)
    assert len(final.fit_X_) == len(X_INT)
    assert final.fit_y_ == Y_INT
    assert_array_equal(graphs.classes_, [1, 2, 3, 4, 5, 6, 7])  # y reached the transformer
    last = pipe.predict([[7, 1], [42]])
    assert isinstance(final.predict_X_, SessionGraphBatch)
    assert_array_equal(final.predict_X_.classes[final.predict_X_.items[last[:1]]], [1])
    assert last[1] == -1


@pytest.mark.parametrize("name", ["PopularityRecommender", "SessionKNNRecommender", "GRU4RecRecommender"])
def test_every_session_recommender_takes_the_graph_batch(name):
    """The transformer's batch is one input path of every session recommender: same answers as raw ids."""
    from sklearn_ubergnn import session
    from sklearn_ubergnn.datasets import make_sessions
    from sklearn_ubergnn.preprocessing import session_prefixes

    sessions, _, _ = make_sessions(n_sessions=120, random_state=0)
    X, y = session_prefixes(sessions[:100])
    X_test = session_prefixes(sessions[100:])[0] + [[-5], []]
    params = {"hidden_size": 8, "max_epochs": 2, "validation_fraction": None, "random_state": 0} \
        if name == "GRU4RecRecommender" else {}
    graphs = SessionGraphTransformer().fit(X, y)
    direct = getattr(session, name)(**params).fit(X, y)
    via = getattr(session, name)(**params).fit(graphs.transform(X), y)
    assert_array_equal(via.item_counts_, direct.item_counts_)
    assert_array_equal(via.recommend(graphs.transform(X_test), k=10), direct.recommend(X_test, k=10))
    np.testing.assert_allclose(via.predict_proba(graphs.transform(X_test[-5:])), direct.predict_proba(X_test[-5:]),
                               rtol=1e-6, atol=1e-12)
