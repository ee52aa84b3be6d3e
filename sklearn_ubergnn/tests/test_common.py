"""API checks that every public estimator passes: one module over ``all_estimators()``.

Every estimator the package exports (:func:`sklearn_ubergnn.utils.all_estimators`, which walks the
package) needs an entry in ``CASES``: a fast instance and the family of data it takes. A new
estimator without one fails ``test_every_estimator_has_a_case``, so none escapes the checks.

- Estimators taking ordinary 2-D arrays (``two_d_array`` tag, table data) run scikit-learn's
  ``parametrize_with_checks`` in full.
- The others (sessions, user–item edges, interaction streams: scikit-learn skips all its checks
  for them) run the data-free scikit-learn checks (``DATA_FREE_CHECKS``).
- Every estimator runs this package's own checks on its family's data: fit returns self and
  changes neither its parameters nor the global torch RNG, clone gives an unfitted twin, unfitted
  -> ``NotFittedError``, pickle and joblib round trips give identical outputs, refitting with a
  seed is identical (another seed is not), inputs are never mutated, and a bad parameter value
  raises ``InvalidParameterError`` naming it.
- Session recommenders also run the session contract: raw ids in and out, bounded top-k,
  popularity fallback for unseen items, bad input, GridSearchCV(n_jobs=2) over a Pipeline.
- With a CUDA GPU, every estimator with a ``device`` fitted on the GPU predicts the same on the CPU.
"""
import copy
import dataclasses
import doctest
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils._param_validation import InvalidParameterError, generate_invalid_param_val, make_constraint
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ubergnn import (
    BPRMatrixFactorization,
    DisentangledGraphEmbedder,
    DistilledBehaviorClassifier,
    DynamicGraphEmbedder,
    DynamicInteractionClassifier,
    EdgeBankBaseline,
    GFCFRecommender,
    GRU4RecRecommender,
    LightGCNRecommender,
    MostPopularRecommender,
    PopularityRecommender,
    RecencyHeuristicBaseline,
    SequentialRulesRecommender,
    SessionGraphTransformer,
    SessionKNNRecommender,
    UberGNNRecommender,
    VSTANRecommender,
)
from sklearn_ubergnn.datasets import FlatSessions, make_bipartite, make_interactions, make_sessions
from sklearn_ubergnn.disentangled import train_test_split_edges
from sklearn_ubergnn.metrics import make_topk_scorer
from sklearn_ubergnn.pipeline import make_pipeline, recommend
from sklearn_ubergnn.preprocessing import UserPortraitEncoder
from sklearn_ubergnn.tests._checks import DATA_FREE_CHECKS
from sklearn_ubergnn.utils import all_estimators, discovery

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    # KBinsDiscretizer warns when the tiny tables collapse some quantile bins.
    pytest.mark.filterwarnings("ignore:Bins whose width are too small:UserWarning"),
]

NET = {"max_epochs": 2, "batch_size": 16, "device": "cpu", "random_state": 0}
EDGE_NET = {"embedding_dim": 8, "max_epochs": 2, "batch_size": 64, "device": "cpu", "random_state": 0}
STREAM_NET = {"n_hops": 2, "max_nodes": 16, "embedding_dim": 8, "object_dim": 4, "time_dim": 4, "max_epochs": 2,
              "batch_size": 64, "device": "cpu", "random_state": 0}

# The one fixture table: estimator name -> (data family, fast instance).
CASES = {
    "PopularityRecommender": ("sessions", lambda: PopularityRecommender()),
    "SessionKNNRecommender": ("sessions", lambda: SessionKNNRecommender(k=20, sample_size=50)),
    "SequentialRulesRecommender": ("sessions", lambda: SequentialRulesRecommender()),
    "VSTANRecommender": ("sessions", lambda: VSTANRecommender(k=20, sample_size=50)),
    "UberGNNRecommender": ("sessions", lambda: UberGNNRecommender(hidden_size=8, **NET)),
    "GRU4RecRecommender": ("sessions", lambda: GRU4RecRecommender(hidden_size=8, **NET)),
    "RecommenderPipeline": ("sessions", lambda: make_pipeline(SessionKNNRecommender(k=20, sample_size=50))),
    "SessionGraphTransformer": ("sessions", lambda: SessionGraphTransformer()),
    "MostPopularRecommender": ("edges", lambda: MostPopularRecommender()),
    "BPRMatrixFactorization": ("edges", lambda: BPRMatrixFactorization(**EDGE_NET)),
    "LightGCNRecommender": ("edges", lambda: LightGCNRecommender(n_layers=2, **EDGE_NET)),
    # n_iter=1: a randomized SVD coarse enough on 40 items for the seed to change the top-k
    "GFCFRecommender": ("edges", lambda: GFCFRecommender(n_components=4, n_iter=1, random_state=0)),
    "DisentangledGraphEmbedder": (
        "edges", lambda: DisentangledGraphEmbedder(n_channels=2, n_layers=1, n_iterations=2, **EDGE_NET)),
    # A fixed soft weight: the labels here are the target's own training edges, so soft_weight="auto" picks
    # the teacher alone, whose outputs do not use the classifier's seed (auto: test_disentangled.py).
    "DistilledBehaviorClassifier": ("users", lambda: DistilledBehaviorClassifier(
        DisentangledGraphEmbedder(n_channels=2, n_layers=1, n_iterations=2, **EDGE_NET), target_item=_TARGET_ITEM,
        soft_weight=1.0, max_epochs=3, device="cpu", random_state=0)),
    "EdgeBankBaseline": ("stream", lambda: EdgeBankBaseline()),
    "RecencyHeuristicBaseline": ("stream", lambda: RecencyHeuristicBaseline()),
    "DynamicGraphEmbedder": ("stream", lambda: DynamicGraphEmbedder(**STREAM_NET)),
    "DynamicInteractionClassifier": ("labelled_stream", lambda: DynamicInteractionClassifier(**STREAM_NET)),
    "UserPortraitEncoder": ("table", lambda: UserPortraitEncoder()),
}
# Methods whose outputs must survive pickling and refitting (those the estimator has); k of recommend.
OUTPUT_METHODS = ("recommend", "predict", "predict_proba", "decision_function", "transform", "predict_link_proba")
K = 5
# Defects found by these checks and left to the estimators' owners: (test, estimator) -> reason.
# xfail(strict=True): the test fails the day the defect is fixed, so the entry is removed then.
KNOWN_FAILURES = {}


@dataclasses.dataclass
class Data:
    """One family's data: ``fit(*fit_args, **fit_kwargs)``, outputs on ``query``."""

    fit_args: tuple
    query: object
    fit_kwargs: dict = dataclasses.field(default_factory=dict)


def _sessions():
    sessions, _, users = make_sessions(n_sessions=300, random_state=0)
    return sessions, users


def _edges():
    edges, _, _ = make_bipartite(n_users=60, n_items=40, n_channels=2, edges_per_user=8, random_state=0)
    return train_test_split_edges(edges, 0.25, random_state=0)


_TARGET_ITEM = int(_edges()[0]["item"].value_counts().index[0])  # the most popular training item


def _make_data(family):
    if family == "sessions":
        from sklearn_ubergnn.preprocessing import session_prefixes

        sessions, _ = _sessions()
        X, y = session_prefixes(sessions[:240])
        X_test, _ = session_prefixes(sessions[240:])
        return Data((X, y), X_test[:40])
    if family == "edges":
        train, test = _edges()
        return Data((train,), np.unique(test["user"])[:10])
    if family == "users":
        train, _ = _edges()
        users = np.unique(train["user"])
        y = np.isin(users, train.loc[train["item"] == _TARGET_ITEM, "user"]).astype(int)
        return Data((users, y), users[:10], {"edges": train})
    if family in ("stream", "labelled_stream"):
        stream = make_interactions(n_objects=40, n_interactions=600, random_state=0)
        fit_args = (stream[:450],) if family == "stream" else (stream[:450], stream["label"][:450])
        return Data(fit_args, stream[450:])
    if family == "table":
        _, users = _sessions()
        return Data((users,), users.iloc[:20])
    raise ValueError(f"no data for family {family!r}")


ESTIMATORS = [name for name, _ in all_estimators()]
SESSION_ESTIMATORS = [name for name in ESTIMATORS if CASES.get(name, ("",))[0] == "sessions"]
SESSION_RECOMMENDERS = [name for name in SESSION_ESTIMATORS if callable(getattr(CASES[name][1](), "recommend", None))]


def _two_d(name):
    """Whether the estimator takes 2-D arrays: its tag says so and its data family is a table.

    (A pipeline's tag does not follow its first step: ``RecommenderPipeline`` of session models
    says ``two_d_array=True``.)
    """
    family, make = CASES[name]
    return family == "table" and make().__sklearn_tags__().input_tags.two_d_array


@pytest.fixture(scope="module")
def family_data():
    """Data of each family, built once per module on first use."""
    cache = {}

    def get(family):
        if family not in cache:
            cache[family] = _make_data(family)
        return cache[family]

    return get


def _known(test, names):
    """``names`` as pytest params, those of ``KNOWN_FAILURES`` for ``test`` marked xfail(strict)."""
    return [pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_FAILURES[test, n], strict=True))
            if (test, n) in KNOWN_FAILURES else n for n in names]


def _case(name, family_data):
    family, make = CASES[name]
    return make(), family_data(family)


def _outputs(est, data):
    """The outputs of every output method the fitted estimator has, as flat arrays."""
    out = {}
    for method in OUTPUT_METHODS:
        if not hasattr(est, method):
            continue
        result = getattr(est, method)(data.query, k=K) if method == "recommend" else getattr(est, method)(data.query)
        if dataclasses.is_dataclass(result):  # a graph batch
            out.update({f"{method}.{f.name}": getattr(result, f.name) for f in dataclasses.fields(result)})
        else:
            out[method] = np.asarray(result)
    return out


def _assert_same_outputs(actual, expected):
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_array_equal(np.asarray(actual[key]), np.asarray(value), err_msg=key)


def _fit(est, data):
    return est.fit(*data.fit_args, **data.fit_kwargs)


# -------------------------------------------------------------------------------------------------
# the registry: nothing escapes
# -------------------------------------------------------------------------------------------------
def test_every_estimator_has_a_case():
    missing = sorted(set(ESTIMATORS) - set(CASES))
    assert not missing, f"add {missing} to CASES of test_common.py (a fast instance and its data family)"
    assert not set(CASES) - set(ESTIMATORS), "CASES names an estimator all_estimators() does not find"


def test_all_estimators_type_filter():
    recommenders = dict(all_estimators("recommender"))
    assert {"UberGNNRecommender", "LightGCNRecommender", "RecommenderPipeline"} <= set(recommenders)
    assert "SessionGraphTransformer" not in recommenders
    assert set(dict(all_estimators("transformer"))) >= {"SessionGraphTransformer", "DynamicGraphEmbedder"}
    both = dict(all_estimators(["classifier", "transformer"]))
    assert "DynamicInteractionClassifier" in both and "DynamicGraphEmbedder" in both
    with pytest.raises(ValueError, match="type_filter must be None or among"):
        all_estimators("regressor")
    result = doctest.testmod(discovery)
    assert result.attempted and not result.failed


# -------------------------------------------------------------------------------------------------
# scikit-learn's checks
# -------------------------------------------------------------------------------------------------
def _expected_failed_checks(estimator):
    return {}


@parametrize_with_checks([CASES[name][1]() for name in ESTIMATORS if name in CASES and _two_d(name)],
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_checks_on_arrays(estimator, check):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Feature .* is constant", category=UserWarning)
        check(estimator)


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_data_free_checks(name, check):
    check(name, CASES[name][1]())


# -------------------------------------------------------------------------------------------------
# the package's own checks, every estimator
# -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ESTIMATORS)
def test_fit_returns_self_keeps_params_and_the_global_rng(name, family_data):
    est, data = _case(name, family_data)

    def param_hash(estimator):  # of the parameter values (a clone drops what nested estimators learned)
        return joblib.hash(clone(estimator).get_params(deep=False))

    before = param_hash(est)
    rng_state = torch.random.get_rng_state()
    assert _fit(est, data) is est
    assert torch.equal(torch.random.get_rng_state(), rng_state), "fit must leave the global torch RNG alone"
    _outputs(est, data)
    assert torch.equal(torch.random.get_rng_state(), rng_state), "predicting must leave the global torch RNG alone"
    assert param_hash(est) == before, "fit must not change the parameters"
    twin = clone(est)
    assert not [a for a in vars(twin) if a.endswith("_") and not a.startswith("__")], "a clone must be unfitted"
    assert param_hash(clone(est).set_params(**twin.get_params(deep=False))) == before


@pytest.mark.parametrize("name", _known("test_unfitted_estimator_raises_not_fitted", ESTIMATORS))
def test_unfitted_estimator_raises_not_fitted(name, family_data):
    est, data = _case(name, family_data)
    methods = [m for m in OUTPUT_METHODS if hasattr(est, m)]
    assert methods, f"{name} has none of {OUTPUT_METHODS}"
    for method in methods:
        with pytest.raises(NotFittedError):
            getattr(est, method)(data.query)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_pickle_and_joblib_round_trip(name, family_data, tmp_path):
    est, data = _case(name, family_data)
    expected = _outputs(_fit(est, data), data)
    _assert_same_outputs(_outputs(pickle.loads(pickle.dumps(est)), data), expected)
    joblib.dump(est, tmp_path / "model.joblib")
    _assert_same_outputs(_outputs(joblib.load(tmp_path / "model.joblib"), data), expected)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_refit_and_clone_refit_are_identical(name, family_data):
    est, data = _case(name, family_data)
    first = _outputs(_fit(est, data), data)
    _assert_same_outputs(_outputs(_fit(clone(est), data), data), first)
    _assert_same_outputs(_outputs(_fit(est, data), data), first)
    if "random_state" in est.get_params(deep=False):  # the seed is used
        other = _outputs(_fit(clone(est).set_params(random_state=1), data), data)
        assert any(not np.array_equal(np.asarray(other[key]), np.asarray(value)) for key, value in first.items())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", [n for n in ESTIMATORS if "device" in CASES[n][1]().get_params(deep=False)])
def test_cuda_model_predicts_on_cpu(name, family_data):
    est, data = _case(name, family_data)
    on_gpu = _outputs(_fit(est.set_params(device="cuda"), data), data)
    assert next(est.net_.module_.parameters()).is_cuda
    cpu = pickle.loads(pickle.dumps(est)).set_params(device="cpu")
    on_cpu = _outputs(cpu, data)
    assert not next(cpu.net_.module_.parameters()).is_cuda
    assert on_cpu.keys() == on_gpu.keys()
    for key, value in on_gpu.items():
        if key in ("recommend", "predict"):
            assert (on_cpu[key] == value).mean() > 0.95, key  # float differences may swap near-ties
        else:
            np.testing.assert_allclose(on_cpu[key], value, rtol=1e-3, atol=1e-4, err_msg=key)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_inputs_are_not_mutated(name, family_data):
    est, data = _case(name, family_data)
    before = copy.deepcopy(data)
    _outputs(_fit(est, data), data)
    for kept, now in zip([*before.fit_args, before.query, *before.fit_kwargs.values()],
                         [*data.fit_args, data.query, *data.fit_kwargs.values()]):
        if isinstance(kept, pd.DataFrame):
            pd.testing.assert_frame_equal(now, kept)
        elif isinstance(kept, pd.Series):
            pd.testing.assert_series_equal(now, kept)
        elif isinstance(kept, list):
            assert [list(s) for s in kept] == [list(s) for s in now]
        else:
            np.testing.assert_array_equal(kept, now)


def _click_table(sessions, rng):
    """A long click table of ``sessions`` (lists): shuffled rows, click order in a time column."""
    lengths = np.array([len(s) for s in sessions])
    position = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    clicks = pd.DataFrame({"session": np.repeat(np.arange(len(sessions)), lengths),
                           "item": np.concatenate(sessions), "time": position})
    return clicks.iloc[rng.permutation(len(clicks))]


@pytest.mark.parametrize("name", SESSION_ESTIMATORS)
def test_flat_sessions_give_the_outputs_of_lists(name, family_data):
    """Every session estimator gives identical outputs (same seed, CPU) on lists of lists and on the same
    sessions as a FlatSessions built from a long click table, in fit and in every output method."""
    est, data = _case(name, family_data)
    expected = _outputs(_fit(clone(est), data), data)
    (X, y), rng = data.fit_args, np.random.default_rng(0)
    X_flat = FlatSessions.from_frame(_click_table(X, rng), time="time")
    query = FlatSessions.from_frame(_click_table(data.query, rng), time="time")
    assert X_flat.to_list() == [list(s) for s in X]  # the table's rows were shuffled
    flat_data = Data((X_flat, y), query, data.fit_kwargs)
    _assert_same_outputs(_outputs(_fit(clone(est), flat_data), flat_data), expected)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_bad_parameter_raises_invalid_parameter_error_naming_it(name, family_data):
    est, data = _case(name, family_data)
    n_checked = 0
    for param, constraints in est._parameter_constraints.items():
        if constraints == "no_validation" or param not in est.get_params(deep=False):
            continue
        for constraint in map(make_constraint, constraints):
            try:
                bad = generate_invalid_param_val(constraint)
            except NotImplementedError:  # sklearn has no invalid value for this constraint (e.g. a bare type);
                continue                   # the BadType instance below still checks the parameter
            bad_est = clone(est).set_params(**{param: bad})
            with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter of {name}"):
                _fit(bad_est, data)
            n_checked += 1
        bad_est = clone(est).set_params(**{param: type("BadType", (), {})()})
        with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter of {name}"):
            _fit(bad_est, data)
        n_checked += 1
    assert n_checked


# -------------------------------------------------------------------------------------------------
# session recommenders: the session contract
# -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SESSION_RECOMMENDERS)
def test_session_recommender_contract(name, session_split):
    X, y, X_test, y_test = session_split
    est = CASES[name][1]()
    assert is_classifier(est)
    est.fit(X, y)
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


@pytest.mark.parametrize("name", _known("test_session_input_tag", SESSION_ESTIMATORS))
def test_session_input_tag(name):
    assert CASES[name][1]().__sklearn_tags__().input_tags.two_d_array is False


@pytest.mark.parametrize("name", SESSION_RECOMMENDERS)
def test_recommend_never_exceeds_catalogue(name):
    est = CASES[name][1]().fit([[1, 2], [2, 3]], [3, 1])
    assert est.recommend([[1]], k=50).shape == (1, 3)


@pytest.mark.parametrize("name", SESSION_RECOMMENDERS)
def test_string_ids_in_and_out(name):
    X = [["a", "b"], ["b", "c"], ["a"], ["c", "a"]]
    y = ["c", "a", "b", "b"]
    est = CASES[name][1]().fit(X, y)
    assert est.classes_.tolist() == ["a", "b", "c"]
    assert set(est.recommend([["a"]], k=3)[0]) == {"a", "b", "c"}


@pytest.mark.parametrize("name", SESSION_RECOMMENDERS)
def test_unseen_items_fall_back_to_popularity(name, session_split):
    X, y, _, _ = session_split
    est = CASES[name][1]().fit(X, y)
    popular = PopularityRecommender().fit(X, y).recommend([[X[0][0]]], k=5)[0]
    np.testing.assert_array_equal(est.recommend([[-12345, -999]], k=5)[0], popular)


@pytest.mark.parametrize("name", SESSION_RECOMMENDERS)
@pytest.mark.parametrize(
    "X_bad, y_bad, error, match",
    [([], [], ValueError, "at least one session"),
     ([[1], []], [1, 2], ValueError, "empty"),
     ([[1, np.nan]], [1], ValueError, "missing"),
     ([[1, None]], [1], ValueError, "missing"),
     ([[1, "a"]], [1], TypeError, "not a mix"),
     ([[1], [2]], [1], ValueError, "same length"),
     ([[1], [2]], ["a", "b"], TypeError, "int item ids but y holds str")],
)
def test_bad_fit_input(name, X_bad, y_bad, error, match):
    with pytest.raises(error, match=match):
        CASES[name][1]().fit(X_bad, y_bad)


@pytest.mark.parametrize("name", SESSION_RECOMMENDERS)
@pytest.mark.parametrize("k", [0, -1])
def test_bad_k(name, session_split, k):
    X, y, X_test, _ = session_split
    with pytest.raises(ValueError, match="k must be a positive integer"):
        CASES[name][1]().fit(X, y).recommend(X_test, k=k)


# Session recommenders searched in parallel over a pipeline: name -> (steps before it, grid of its step).
SEARCHES = {
    "SessionKNNRecommender": ([], {"k": [5, 50]}),
    "GRU4RecRecommender": ([], {"hidden_size": [4, 8]}),
    "UberGNNRecommender": ([SessionGraphTransformer()], {"hidden_size": [4, 8]}),  # fed the transformer's graphs
}


@pytest.mark.parametrize("name", SEARCHES)
def test_grid_search_in_parallel_over_a_pipeline(name, session_split):
    X, y, _, _ = session_split
    before, grid = SEARCHES[name]
    step = name.lower()
    search = GridSearchCV(
        make_pipeline(*[clone(t) for t in before], CASES[name][1]()),
        {f"{step}__{param}": values for param, values in grid.items()},
        scoring={"P@20": make_topk_scorer("precision", k=20), "MRR@20": make_topk_scorer("mrr", k=20)},
        refit="MRR@20",
        cv=KFold(2),
        n_jobs=2,
    )
    search.fit(X, y)
    for param, values in grid.items():
        assert search.best_params_[f"{step}__{param}"] in values
    assert (search.cv_results_["mean_test_P@20"] > 0).all()
    assert recommend(search.best_estimator_, X[:4], k=20).shape == (4, 20)


def test_recommend_refuses_a_model_that_cannot_recommend(session_split):
    X, _, _, _ = session_split
    with pytest.raises(TypeError, match="cannot recommend"):
        recommend(SessionGraphTransformer().fit(X), X)


def test_recommender_pipeline_forwards_recommend(session_split):
    X, y, X_test, _ = session_split
    pipe = make_pipeline(SessionKNNRecommender(k=20)).fit(X, y)
    np.testing.assert_array_equal(pipe.recommend(X_test, k=5), pipe[-1].recommend(X_test, k=5))
    assert not hasattr(make_pipeline(SessionGraphTransformer()), "recommend")
