"""Tests of the dynamic-graph estimators: DynamicGraphEmbedder and DynamicInteractionClassifier."""
import io
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback
from skorch.exceptions import DeviceWarning

from sklearn_ubergnn.benchmark._dynamic import history_features
from sklearn_ubergnn.datasets import make_interactions
from sklearn_ubergnn.dynamic import DynamicGraphEmbedder, DynamicInteractionClassifier, EdgeBankBaseline
from sklearn_ubergnn.evaluation import evaluate_stream_events
from sklearn_ubergnn.dynamic._data import N_STRUCT, RECENT, LinkSource, QueryBuilder, QuerySource, StreamState
from sklearn_ubergnn.nn._dynamic_heads import DynamicQueryModel

FAST = {"n_hops": 2, "max_nodes": 16, "embedding_dim": 8, "object_dim": 4, "time_dim": 4, "max_epochs": 2,
        "batch_size": 64, "random_state": 0}
ESTIMATORS = [DynamicGraphEmbedder(**FAST), DynamicInteractionClassifier(**FAST)]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


@pytest.fixture(scope="module")
def stream():
    return make_interactions(n_objects=40, n_interactions=600, random_state=0)


@pytest.fixture(scope="module")
def embedder(stream):
    return DynamicGraphEmbedder(**FAST, feature_columns=["f0", "f1", "f2"]).fit(stream[:450])


@pytest.fixture(scope="module")
def classifier(stream):
    return DynamicInteractionClassifier(**FAST).fit(stream[:450], stream["label"][:450])


def _ids(est):
    return type(est).__name__


# ------------------------------------------------------------------------------------------------
# scikit-learn contract
# ------------------------------------------------------------------------------------------------
def test_embedder_shapes_and_feature_names(embedder, stream):
    Z = embedder.transform(stream[450:])
    assert Z.shape == (150, 16) and Z.dtype == np.float32 and np.isfinite(Z).all()
    names = embedder.get_feature_names_out()
    assert len(names) == 16 and names[0] == "dynamicgraphembedder0"
    p = embedder.predict_link_proba(stream[450:])
    assert p.shape == (150,) and ((p > 0) & (p < 1)).all()
    assert embedder.embed_objects([1, 2, 12345]).shape == (3, 8)
    assert embedder.embed_objects([1, 2], time=[100.0, 200.0]).shape == (2, 8)
    framed = clone(embedder).set_output(transform="pandas").fit(stream[:450]).transform(stream[450:460])
    assert isinstance(framed, pd.DataFrame) and list(framed.columns) == list(names)


def test_transform_feeds_sklearn(embedder, stream):
    Z = embedder.transform(stream)
    clf = LogisticRegression(max_iter=200).fit(Z[:450], stream["label"][:450])
    assert clf.predict_proba(Z[450:]).shape == (150, 2)


def test_classifier_api(classifier, stream):
    proba = classifier.predict_proba(stream[450:])
    assert proba.shape == (150, 2) and np.allclose(proba.sum(1), 1)
    assert set(classifier.predict(stream[450:])) <= {0, 1}
    assert classifier.classes_.tolist() == [0, 1]
    obj = DynamicInteractionClassifier(**FAST, target="object").fit(stream[:300], stream["label"][:300])
    assert obj.predict_proba(stream[300:320]).shape == (20, 2)


def test_string_ids_and_column_names(stream):
    X = stream.rename(columns={"source": "a", "target": "b", "time": "when"}).assign(
        a=lambda d: "u" + d["a"].astype(str), b=lambda d: "u" + d["b"].astype(str))
    est = DynamicGraphEmbedder(**FAST, source_column="a", target_column="b", time_column="when")
    p = est.fit(X[:300]).predict_link_proba(X[300:350])
    assert p.shape == (50,)
    with pytest.raises(TypeError, match="str object ids"):
        est.predict_link_proba(stream[300:310].rename(columns={"source": "a", "target": "b", "time": "when"}))


# ------------------------------------------------------------------------------------------------
# the temporal protocol
# ------------------------------------------------------------------------------------------------
def test_queries_do_not_change_state(embedder, stream):
    n = len(embedder.state_)
    before = joblib.hash(embedder.state_.graph.interaction_time), joblib.hash(embedder.net_.module_.state_dict())
    p1 = embedder.predict_link_proba(stream[450:])
    embedder.transform(stream[450:])
    embedder.embed_objects([1, 2, 3])
    p2 = embedder.predict_link_proba(stream[450:])
    assert len(embedder.state_) == n
    assert (joblib.hash(embedder.state_.graph.interaction_time), joblib.hash(embedder.net_.module_.state_dict())) == before
    np.testing.assert_array_equal(p1, p2)


def test_input_not_modified(stream):
    X = stream[:300].copy()
    y = X["label"].copy()
    DynamicInteractionClassifier(**FAST).fit(X, y).predict_proba(X)
    pd.testing.assert_frame_equal(X, stream[:300])
    pd.testing.assert_series_equal(y, stream["label"][:300])


def test_future_rows_do_not_change_past_predictions(embedder, stream):
    """Appending different futures leaves predictions about earlier times unchanged."""
    past = stream[400:450]
    a, b = joblib.load(_dump(embedder)), joblib.load(_dump(embedder))
    future = stream[450:].copy()
    a.partial_fit(future, update_only=True)
    shuffled = future.copy()
    shuffled[["source", "target"]] = future[["source", "target"]].sample(frac=1, random_state=1).to_numpy()
    b.partial_fit(shuffled, update_only=True)
    np.testing.assert_array_equal(a.predict_link_proba(past), b.predict_link_proba(past))
    np.testing.assert_array_equal(a.predict_link_proba(past), embedder.predict_link_proba(past))


def test_same_timestamp_rows_do_not_see_each_other(embedder, stream):
    t = float(stream["time"].iloc[449])
    query = pd.DataFrame({"source": [1, 2, 3], "target": [4, 5, 6], "time": [t + 1.0] * 3})
    model = joblib.load(_dump(embedder))
    before = model.predict_link_proba(query)
    same_time = query.assign(f0=0.0, f1=0.0, f2=0.0)  # the rows themselves, at the same time
    model.partial_fit(same_time, update_only=True)
    np.testing.assert_array_equal(model.predict_link_proba(query), before)
    later = query.assign(time=t + 2.0)
    assert not np.array_equal(model.predict_link_proba(later), embedder.predict_link_proba(later))


def test_own_features_and_label_never_leak(stream):
    """The label is a function of the row's own feature: a model that cannot see it is at chance."""
    rng = np.random.default_rng(0)
    X = stream.copy()
    X["secret"] = rng.normal(size=len(X))
    y = (X["secret"] > 0).astype(int)
    clf = DynamicInteractionClassifier(**FAST, feature_columns=["secret"]).fit(X[:450], y[:450])
    proba = clf.predict_proba(X[450:])[:, 1]
    assert abs(roc_auc_score(y[450:], proba) - 0.5) < 0.15
    # the query's own features are never read: changing them changes nothing
    changed = X[450:].assign(secret=-X["secret"][450:])
    np.testing.assert_array_equal(clf.predict_proba(changed)[:, 1], proba)


def test_revealed_labels_become_history(classifier, stream):
    """partial_fit with labels changes later predictions, never the rows' own."""
    batch = stream[450:500].assign(time=float(stream["time"].iloc[450]))  # one timestamp: no row sees another
    later = stream[500:520]
    a, b = joblib.load(_dump(classifier)), joblib.load(_dump(classifier))
    own_before = a.predict_proba(batch)
    a.partial_fit(batch, batch["label"])
    b.partial_fit(batch)  # labels not revealed
    np.testing.assert_array_equal(a.predict_proba(batch), own_before)
    assert not np.allclose(a.predict_proba(later), b.predict_proba(later))
    assert (a.state_.graph.interaction_label[450:] >= 0).all() and (b.state_.graph.interaction_label[450:] == -1).all()


def test_partial_fit_new_objects(embedder, stream):
    model = joblib.load(_dump(embedder))
    t = float(stream["time"].iloc[449]) + 1
    new = pd.DataFrame({"source": [1000, 1001, 3], "target": [1001, 5, 1000], "time": [t, t + 1, t + 2],
                        "f0": 0.0, "f1": 0.0, "f2": 0.0})
    model.partial_fit(new)  # trains one pass too
    assert len(model.state_) == 453 and model.state_.graph.n_objects == embedder.state_.graph.n_objects + 2
    query = pd.DataFrame({"source": [1000, 5000], "target": [3, 5001], "time": [t + 9] * 2})
    p = model.predict_link_proba(query)
    assert np.isfinite(p).all()
    assert not np.allclose(model.predict_link_proba(stream[450:]), embedder.predict_link_proba(stream[450:]))


def test_partial_fit_unfitted_fits(stream):
    est = DynamicInteractionClassifier(**FAST).partial_fit(stream[:200], stream["label"][:200])
    assert hasattr(est, "net_") and len(est.state_) == 200


# ------------------------------------------------------------------------------------------------
# persistence and determinism
# ------------------------------------------------------------------------------------------------
def test_fit_validates_and_encodes_once(monkeypatch, stream):
    """One validator at the estimator's entry, one encoding of the ids; graphs/ only sees codes."""
    from sklearn_ubergnn._vocabulary import GrowingVocabulary
    from sklearn_ubergnn.dynamic import _embedder

    calls = {"check": 0, "add": 0}
    check, add = _embedder.check_interactions, GrowingVocabulary.add

    def counted_check(*args, **kwargs):
        calls["check"] += 1
        return check(*args, **kwargs)

    def counted_add(self, *args, **kwargs):
        calls["add"] += 1
        return add(self, *args, **kwargs)

    monkeypatch.setattr(_embedder, "check_interactions", counted_check)
    monkeypatch.setattr(GrowingVocabulary, "add", counted_add)
    for est, y in ((DynamicGraphEmbedder(**FAST), None),
                   (DynamicInteractionClassifier(**FAST, pretrain_epochs=1), stream["label"][:200])):
        calls.update(check=0, add=0)
        est.fit(stream[:200], y)
        assert calls == {"check": 1, "add": 1}
        est.partial_fit(stream[200:220], None if y is None else stream["label"][200:220])
        assert calls == {"check": 2, "add": 2}
        (est.predict_link_proba if y is None else est.predict_proba)(stream[220:230])
        assert calls == {"check": 3, "add": 2}  # queries are encoded, never added


def test_partial_fit_trains_one_skorch_epoch(embedder, classifier, stream):
    """partial_fit(update_only=False) is skorch's partial_fit: history_ grows by one epoch, no validation."""
    for fitted, y in ((embedder, None), (classifier, stream["label"][450:500])):
        model = joblib.load(_dump(fitted))
        n, weights = len(model.history_), joblib.hash(model.net_.module_.state_dict())
        split = model.net_.train_split  # None when the fit ended on a refit on every row
        model.partial_fit(stream[450:500], y, update_only=True)
        assert len(model.history_) == n and joblib.hash(model.net_.module_.state_dict()) == weights
        model.partial_fit(stream[500:550], None if y is None else stream["label"][500:550], update_only=False)
        assert len(model.history_) == n + 1 and model.history_ is model.net_.history
        last = model.history_[-1]
        assert last["train_loss"] > 0 and "valid_loss" not in last and len(last["batches"]) == 1
        assert joblib.hash(model.net_.module_.state_dict()) != weights
        assert model.net_.train_split is split  # restored: the next fit validates as before


def _dump(est):
    buf = io.BytesIO()
    joblib.dump(est, buf)
    buf.seek(0)
    return buf


@pytest.mark.parametrize("which", ["embedder", "classifier"])
def test_joblib_round_trip(which, request, stream):
    est = request.getfixturevalue(which)
    loaded = joblib.load(_dump(est))
    method = "predict_link_proba" if which == "embedder" else "predict_proba"
    np.testing.assert_array_equal(getattr(loaded, method)(stream[450:]), getattr(est, method)(stream[450:]))
    # the restored graph state continues the stream identically
    copy = joblib.load(_dump(est))
    loaded.partial_fit(stream[450:500], update_only=True)
    copy.partial_fit(stream[450:500], update_only=True)
    np.testing.assert_array_equal(getattr(loaded, method)(stream[500:]), getattr(copy, method)(stream[500:]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_cuda_model_predicts_on_cpu(estimator, stream, monkeypatch):
    train, test = stream[:300], stream[300:400]
    est = clone(estimator).set_params(max_epochs=1, device="cuda")
    embedder = isinstance(est, DynamicGraphEmbedder)
    est.fit(train) if embedder else est.fit(train, train["label"])
    method = "predict_link_proba" if embedder else "predict_proba"
    on_gpu = getattr(est, method)(test)
    z_gpu = est.transform(test) if embedder else None
    assert next(est.net_.module_.parameters()).is_cuda
    cpu = pickle.loads(pickle.dumps(est)).set_params(device="cpu")
    on_cpu = getattr(cpu, method)(test)
    assert not next(cpu.net_.module_.parameters()).is_cuda
    np.testing.assert_allclose(on_cpu, on_gpu, rtol=1e-3, atol=1e-4)  # float differences only
    # A machine without a GPU: the joblib file loads there on the CPU and predicts the same.
    buf = _dump(est)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning):
        loaded = joblib.load(buf)
    assert not next(loaded.net_.module_.parameters()).is_cuda
    np.testing.assert_allclose(getattr(loaded, method)(test), on_gpu, rtol=1e-3, atol=1e-4)
    if embedder:
        np.testing.assert_allclose(loaded.transform(test), z_gpu, rtol=1e-3, atol=1e-4)


def test_determinism(stream):
    a = DynamicGraphEmbedder(**FAST).fit(stream[:300]).predict_link_proba(stream[300:])
    b = DynamicGraphEmbedder(**FAST).fit(stream[:300]).predict_link_proba(stream[300:])
    np.testing.assert_array_equal(a, b)
    c = DynamicGraphEmbedder(**{**FAST, "random_state": 1}).fit(stream[:300]).predict_link_proba(stream[300:])
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("encoder", ["lstm", "rnn", "transformer"])
def test_each_encoder_runs_and_bounds_memory(encoder, stream):
    est = DynamicGraphEmbedder(**{**FAST, "max_epochs": 1, "max_nodes": 5}, encoder=encoder).fit(stream[:200])
    fields = est.builder_.fields(stream["source"].to_numpy()[200:260], stream["time"].to_numpy()[200:260])
    assert np.diff(fields["offsets"].numpy()).max() <= 5
    assert est.transform(stream[200:260]).shape == (60, 16)


# ------------------------------------------------------------------------------------------------
# learning
# ------------------------------------------------------------------------------------------------
def _link_queries(test, n_objects, seed=0):
    rng = np.random.default_rng(seed)
    neg = test.copy()
    neg["target"] = rng.integers(0, n_objects, len(test))
    return pd.concat([test, neg], ignore_index=True), np.r_[np.ones(len(test)), np.zeros(len(test))]


def test_link_prediction_beats_edgebank_and_chance():
    X = make_interactions(n_objects=100, n_interactions=2000, recurrence_prob=0.7, random_state=1)
    Q, y = _link_queries(X[1600:], 100)
    est = DynamicGraphEmbedder(n_hops=4, max_nodes=24, embedding_dim=16, object_dim=4, max_epochs=5,
                               batch_size=100, lr=5e-3, validation_fraction=None, random_state=0)
    est.fit(X[:1600])
    p = est.predict_link_proba(Q)
    bank = EdgeBankBaseline().fit(X[:1600]).predict_link_proba(Q)
    assert roc_auc_score(y, p) > 0.7
    assert average_precision_score(y, p) > average_precision_score(y, bank) + 0.02


def test_classifier_learns_planted_anomalies():
    """Anomalies go to other communities and to non-partners: learnable from history alone."""
    X = make_interactions(n_objects=60, n_interactions=1500, anomaly_fraction=0.08, random_state=2)
    clf = DynamicInteractionClassifier(n_hops=2, max_nodes=16, embedding_dim=16, object_dim=4, max_epochs=8,
                                       batch_size=100, lr=3e-3, validation_fraction=None, random_state=0)
    clf.fit(X[:1200], X["label"][:1200])
    assert roc_auc_score(X["label"][1200:], clf.predict_proba(X[1200:])[:, 1]) > 0.6


def test_link_pretraining_runs_and_is_seeded(stream):
    """The pre-trained encoder is loaded inside the seeded fit: the head's initialisation is seeded too."""
    def fitted():
        return DynamicInteractionClassifier(**{**FAST, "max_epochs": 1}, pretrain_epochs=1).fit(
            stream[:300], stream["label"][:300])

    clf = fitted()
    proba = clf.predict_proba(stream[300:310])
    assert proba.shape == (10, 2)
    torch.manual_seed(12345)  # the caller's global RNG must not matter
    np.testing.assert_array_equal(fitted().predict_proba(stream[300:310]), proba)
    assert dict(clf.net_.callbacks_)["pretrained_encoder"].state_dict is None  # weights not kept in the net


# ------------------------------------------------------------------------------------------------
# the query sub-graphs, by hand
# ------------------------------------------------------------------------------------------------
def test_query_subgraph_by_hand():
    state = StreamState()
    # interactions: 0 a-b t=1, 1 a-c t=2, 2 b-c t=3 (at t=3 a query about a sees #0 and #1)
    state.append(np.array(["a", "a", "b"], dtype=object), np.array(["b", "c", "c"], dtype=object),
                 np.array([1.0, 2.0, 3.0]))
    builder = QueryBuilder(state, n_hops=2, time_window=None, max_nodes=None, time_scale=1.0, n_objects=3)
    f = builder.pair_fields(state.encode(np.array(["a"], dtype=object)), state.encode(np.array(["b"], dtype=object)),
                            np.array([3.0]))
    off = f["offsets"].numpy()
    # a's segment: a's latest node before 3 is node 2 (#1, a); its parents #0 (nodes 0, 1); sibling node 3 (c)
    assert off.tolist() == [0, 5, 8]
    feats = f["features"].numpy()
    a_seg = slice(0, 5)
    assert feats[a_seg, 0].tolist() == [0, 0, 0, 0, 1]  # query node last
    assert f["parents"].numpy()[4].tolist() == [2, 3]  # query node -> (a's latest node, its partner)
    assert f["parents"].numpy()[2].tolist() == [0, 1]  # a's node of #1 -> both nodes of #0
    assert f["delta_t"].numpy()[a_seg].tolist() == [2.0, 2.0, 1.0, 1.0, 0.0]
    # is_other: b occurs at position 1 (node 1 of #0); the query itself is never a node
    assert feats[a_seg, 3].tolist() == [0, 1, 0, 0, 0]
    # b's segment: b's latest node before 3 is node 1 (#0, no parents), then its partner a (node 0), then the
    # query node; the b-c interaction at t=3 is not visible
    assert feats[5:8, 3].tolist() == [0, 1, 0] and feats[5:8, 2].tolist() == [1, 0, 1]
    assert f["parents"].numpy()[7].tolist() == [5, 6]
    # co-occurrence (DyGFormer): a's query node counts a once in b's segment (node 0); a occurs 3 times in
    # its own segment (nodes 0, 2 and the query node)
    assert feats[4, 5] == pytest.approx(np.log1p(1)) and feats[4, 4] == pytest.approx(np.log1p(3))
    assert (f["delta_t"].numpy() >= 0).all() and feats.shape[1] == N_STRUCT + 2


def test_object_statistics_by_hand():
    """Counts up to each node's time; ties share the count through their run; carried across appends."""
    state = StreamState(n_classes=2)
    state.append(np.array([1, 1, 2]), np.array([2, 3, 1]), np.array([1.0, 2.0, 2.0]),
                 labels=np.array([0, 1, 1]))
    state.append(np.array([1]), np.array([3]), np.array([2.0]), labels=np.array([-1]))
    state.append(np.array([3]), np.array([1]), np.array([5.0]))
    stats = state.graph.node_stats  # columns: as source, as target, given (0, 1), received (0, 1)
    # object 1 (code 0): node 0 at t=1 (source, gave 0); nodes 2, 5, 6 at t=2 (source, target, source)
    assert stats[0].tolist() == [1, 0, 1, 0, 0, 0]
    assert stats[2].tolist() == stats[5].tolist() == [2, 1, 1, 1, 0, 1]  # first append's t=2 run
    assert stats[6].tolist() == [3, 1, 1, 1, 0, 1]  # the tie continues in the next append (no label)
    assert stats[9].tolist() == [3, 2, 1, 1, 0, 1]  # t=5, object 1 as target


def test_recent_outcomes_beside_the_whole_history():
    """An object that gave label 1 twelve times, then label 0 ten times: over its whole history it gave
    1 in 12 of 22 events, over its last RECENT = 10 in none; both fractions are node inputs."""
    state = StreamState(n_classes=2)
    n = 22
    state.append(np.ones(n, dtype=np.int64), np.arange(2, n + 2), np.arange(1.0, n + 1),
                 labels=np.r_[np.ones(12), np.zeros(10)].astype(np.int64))
    builder = QueryBuilder(state, n_hops=1, time_window=None, max_nodes=None, time_scale=1.0, n_objects=n + 2)
    feats = builder.fields(state.encode(np.array([1])), np.array([100.0]))["features"].numpy()
    query = feats[feats[:, 0] == 1][0]
    col = N_STRUCT + state.n_stats  # after the log1p counts
    assert RECENT == 10
    np.testing.assert_allclose(query[col: col + 2], [10 / 23, 12 / 23], rtol=1e-6)           # given, all
    np.testing.assert_allclose(query[col + 4: col + 6], [10 / 11, 0.0], rtol=1e-6, atol=1e-7)  # given, recent
    np.testing.assert_allclose(query[col + 6: col + 8], [0.0, 0.0])                          # received, recent


def test_time_window_measured_from_query_time():
    state = StreamState()
    state.append(np.array([1, 1, 1]), np.array([2, 3, 4]), np.array([0.0, 5.0, 9.0]))
    builder = QueryBuilder(state, n_hops=5, time_window=4.5, max_nodes=None, time_scale=1.0, n_objects=4)
    f = builder.fields(state.encode(np.array([1])), np.array([10.0]))
    assert (f["delta_t"].numpy() <= 4.5).all() and f["offsets"].numpy().tolist() == [0, 3]


def test_model_shapes():
    model = DynamicQueryModel(5, 3, hidden_size=4, object_dim=2, n_outputs=3, pair=False)
    out = model(torch.tensor([0, 5]), torch.zeros(2, 3), torch.tensor([0, 1, 2]), torch.zeros(2),
                depth=torch.zeros(2, dtype=torch.long), parents=torch.full((2, 2), -1),
                level=torch.zeros(2).long())
    assert out.shape == (2, 3)
    with pytest.raises(ValueError, match="features"):
        model(torch.tensor([0]), torch.zeros(1, 4), torch.tensor([0, 1]), torch.zeros(1),
              parents=torch.full((1, 2), -1), level=torch.zeros(1).long())


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------
def test_bad_input(stream, embedder):
    X = stream[:100]
    est = DynamicGraphEmbedder(**FAST)
    with pytest.raises(ValueError, match="non-decreasing.*row"):
        est.fit(X.iloc[::-1])
    with pytest.raises((ValueError, TypeError)):
        est.fit(X.assign(source=X["source"].astype(float).where(X.index != 5)))
    with pytest.raises(ValueError, match="missing the column"):
        est.fit(X.drop(columns="time"))
    with pytest.raises(ValueError, match="missing the column.*'f9'"):
        DynamicGraphEmbedder(**FAST, feature_columns=["f9"]).fit(X)
    with pytest.raises(InvalidParameterError, match="time_window"):
        DynamicGraphEmbedder(**FAST, time_window=-1.0).fit(X)
    with pytest.raises(ValueError, match="n_hops, time_window or both"):
        DynamicGraphEmbedder(**{**FAST, "n_hops": None}).fit(X)
    with pytest.raises(TypeError, match="DataFrame"):
        est.fit(X.to_numpy())
    with pytest.raises(ValueError, match="continue the history"):
        joblib.load(_dump(embedder)).partial_fit(stream[:10])
    with pytest.raises(ValueError, match="same length"):
        DynamicInteractionClassifier(**FAST).fit(X, X["label"][:50])
    with pytest.raises(ValueError, match="two classes"):
        DynamicInteractionClassifier(**FAST).fit(X, np.zeros(100))


def test_classifier_unseen_label(classifier, stream):
    with pytest.raises(ValueError, match="never saw"):
        joblib.load(_dump(classifier)).partial_fit(stream[450:460], np.full(10, 7))
    with pytest.raises(ValueError, match="needs their labels"):
        joblib.load(_dump(classifier)).partial_fit(stream[450:460], update_only=False)


def test_history_features_match_a_row_by_row_reference():
    """The vectorised history statistics of the suite's logistic-regression baseline, by brute force."""

    df = make_interactions(n_objects=12, n_interactions=90, random_state=4)
    df["time"] *= 86400.0
    batch, recent = 7, 3
    src, dst, t, y = df["source"].to_numpy(), df["target"].to_numpy(), df["time"].to_numpy(), df["label"].to_numpy()
    expected = []
    for i in range(len(df)):
        earlier = np.arange(len(df)) < i // batch * batch  # rows of earlier batches
        row = []
        for o in (src[i], dst[i]):
            for mine in (earlier & (src == o), earlier & (dst == o)):
                n, last = mine.sum(), y[mine][-recent:]
                row += [np.log1p(n), y[mine].sum() / (n + 1), last.sum() / (len(last) + 1)]
            seen = earlier & ((src == o) | (dst == o))
            row.append(np.log1p((t[i] - t[seen][-1]) / 86400) if seen.any() else np.log1p(1e4))
        pairs = [earlier & (src == src[i]) & (dst == dst[i]), earlier & (src == dst[i]) & (dst == src[i])]
        row += [np.log1p(mine.sum()) for mine in pairs] + [y[mine].sum() / (mine.sum() + 1) for mine in pairs]
        met = pairs[0] | pairs[1]
        row.append(np.log1p((t[i] - t[met][-1]) / 86400) if met.any() else np.log1p(1e4))
        partners = [set(dst[earlier & (src == o)]) | set(src[earlier & (dst == o)]) for o in (src[i], dst[i])]
        row.append(np.log1p(len(partners[0] & partners[1] - {src[i], dst[i]})))
        for o in (src[i], dst[i]):  # the pair's meetings from o's recent-th last event on (no ties here)
            events = np.flatnonzero(earlier & ((src == o) | (dst == o)))
            start = events[-recent] if len(events) >= recent else 0
            row.append(np.log1p((met & (np.arange(len(df)) >= start)).sum()))
        expected.append(row)
    np.testing.assert_allclose(history_features(df, batch=batch, recent=recent), expected, rtol=1e-12)


def test_suite_statistics_with_a_cut_are_the_classifiers_own_inputs(stream):
    """history_features(df, time_unit=time_scale_, cut=c), the suite's regression inputs, are exactly what the
    classifier fitted on the first c rows reads: its replayed training rows, then each test batch of 200 as
    evaluate_stream_events shows it (the rows of earlier batches appended, strictly before its time)."""
    X = stream  # 600 rows
    cut, columns = 450, ["source", "target", "time"]
    clf = DynamicInteractionClassifier(**{**FAST, "max_epochs": 1}, stream_batch_size=100)
    clf.fit(X[:cut][columns], X["label"][:cut])
    stats = history_features(X, batch=100, time_unit=clf.time_scale_, cut=cut)
    src, dst = _codes(clf, X[:cut])
    t = X["time"].to_numpy()
    own = clf.builder_.history_inputs(src, dst, t[:cut], clf._replay(t[:cut], 0))
    np.testing.assert_allclose(own, stats[:cut], rtol=1e-6, atol=1e-6)
    for start in (cut, cut + 100):  # two test batches: scored, then revealed
        batch = X[start: start + 100]
        src, dst = _codes(clf, batch)
        scored = clf.builder_.history_inputs(src, dst, batch["time"].to_numpy())
        np.testing.assert_allclose(scored, stats[start: start + len(batch)], rtol=1e-6, atol=1e-6)
        clf.partial_fit(batch[columns], batch["label"], update_only=True)
    assert not np.allclose(history_features(X, batch=100)[cut:], stats[cut:])  # days, batches from row 0 differ


# ------------------------------------------------------------------------------------------------
# the wide part: history statistics beside the sub-graph encoding
# ------------------------------------------------------------------------------------------------
def _codes(clf, X):
    return clf.state_.encode(X["source"].to_numpy()), clf.state_.encode(X["target"].to_numpy())


def test_wide_inputs_are_the_history_before_each_row(classifier, stream):
    """A training batch's wide input: the graph's history features of both ends and the pair's own features
    before each row (the earlier blocks of stream_batch_size rows, strictly before its time), standardised in
    the module with the training mean and deviation."""
    X = stream[:450]
    src, dst = _codes(classifier, X)
    t = X["time"].to_numpy()
    graph = classifier.state_.graph
    before = np.minimum(graph.n_before(t), np.arange(450) // 200 * 200)
    assert classifier.stream_batch_size == 200 and (before == classifier._replay(t, 0)).all()
    for cut in (None, before):
        batch, _ = QuerySource(classifier.builder_, src, dst, t, pair=True, before=cut).batch(np.arange(450))
        expected = np.hstack([*(graph.history_features(end, t, before=cut, recent=RECENT, time_unit=classifier.time_scale_)
                                for end in (src, dst)),
                              graph.pair_features(src, dst, t, before=cut, time_unit=classifier.time_scale_)])
        np.testing.assert_allclose(batch.fields["wide"].numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(classifier.history_mean_, expected.mean(0), rtol=1e-5)
    module = classifier.net_.module_
    assert module.n_wide == 22 and classifier.history_scale_.shape == (22,)  # 7 per end, 8 of the pair
    np.testing.assert_allclose(module.wide_mean.numpy(), classifier.history_mean_, rtol=1e-6)
    np.testing.assert_allclose(module.wide_scale.numpy(), classifier.history_scale_, rtol=1e-6)


def _fields_equal(a, b):
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        np.testing.assert_array_equal(a[name].numpy(), b[name].numpy(), err_msg=name)


@pytest.mark.parametrize("fitted, extra", [("embedder", False), ("classifier", False), ("embedder", True)])
def test_link_source_batches_equal_the_statistics_of_every_pair(fitted, extra, stream, request, monkeypatch):
    """A LinkSource computes its rows' wide inputs once (positives, each source alone, a fixed source's
    negatives) and per training batch only those of the fresh negatives' destinations: every batch equals,
    bit for bit, the sub-graphs and history_inputs of all its pairs computed in that batch, whatever the
    number of history columns per end (``extra``: one more)."""
    est = request.getfixturevalue(fitted)
    builder, X = est.builder_, stream[:450]
    src, dst = _codes(est, X)
    t = X["time"].to_numpy()
    if extra:
        history_features = builder.state.graph.history_features

        def more(objects, times, **kwargs):
            own = history_features(objects, times, **kwargs)
            return np.hstack([own, np.sqrt(np.maximum(objects, 0) + times)[:, None]])

        monkeypatch.setattr(builder.state.graph, "history_features", more)
        n_history = builder.state.graph.n_history_features + 1
        assert builder.history_inputs(src[:2], None, t[:2]).shape[1] == n_history
    options = {"n_negatives": 3, "historical_fraction": 0.5, "seed": 5}
    cached = LinkSource(builder, src, dst, t, np.unique(dst), **options)
    twin = LinkSource(builder, src, dst, t, np.unique(dst), **options)  # the same draws, read by pairs()

    def computed(source, index):  # the batch as it was built: every pair's statistics in the batch
        s, d, tt, y = source.pairs(index)
        wide = torch.from_numpy(builder.history_inputs(s, d, tt))
        return {**builder.pair_fields(s, d, tt), "wide": wide}, y

    calls, graph = [], builder.state.graph
    pair_features = graph.pair_features

    def counted(s, *args, **kwargs):
        calls.append(len(s))
        return pair_features(s, *args, **kwargs)

    monkeypatch.setattr(graph, "pair_features", counted)
    for index in np.array_split(np.random.default_rng(0).permutation(450), 4):  # training: new negatives
        calls.clear()
        batch, y = cached.batch(index)
        assert calls == [3 * len(index)]  # only the negatives' pair statistics are computed
        fields, y_twin = computed(twin, index)
        _fields_equal(batch.fields, fields)
        np.testing.assert_array_equal(y.numpy(), y_twin)
    train, valid = cached.subset(np.arange(300), fixed=False), cached.subset(np.arange(300, 450), fixed=True)
    train_twin = twin.subset(np.arange(300), fixed=False)
    valid_twin = twin.subset(np.arange(300, 450), fixed=True)
    for index in (np.arange(100), np.arange(200, 300)):
        _fields_equal(train.batch(index)[0].fields, computed(train_twin, index)[0])
    for _ in range(2):  # validation: the same fixed negatives, read every epoch
        _fields_equal(valid.batch(np.arange(150))[0].fields, computed(valid_twin, np.arange(150))[0])
    np.testing.assert_array_equal(valid.history_inputs(np.arange(150)),
                                  builder.history_inputs(*valid_twin.pairs(np.arange(150))[:3]))
    with pytest.raises(ValueError, match="fixed source"):
        train.history_inputs(np.arange(3))


@pytest.mark.parametrize("target", ["event", "object"])
def test_query_source_reads_its_precomputed_wide_rows(classifier, stream, target):
    """The classifier's training source carries the statistics fit computed for its rows (wide_rows): its
    batches, and those of its subsets (training and validation rows), equal a source computing them per
    batch."""
    X = stream[:450]
    src, dst = _codes(classifier, X)
    t = X["time"].to_numpy()
    before, y = classifier._replay(t, 0), np.arange(450) % 2
    pair = target == "event"
    stats = classifier.builder_.history_inputs(src, dst if pair else None, t, before)
    cached = QuerySource(classifier.builder_, src, dst, t, y, pair=pair, before=before, wide_rows=stats)
    plain = QuerySource(classifier.builder_, src, dst, t, y, pair=pair, before=before)
    for part in (np.arange(450), np.arange(380), np.arange(380, 450)):
        a, b = cached.subset(part), plain.subset(part)
        for index in (np.arange(len(part)), np.arange(len(part))[::-3]):
            (batch_a, y_a), (batch_b, y_b) = a.batch(index), b.batch(index)
            _fields_equal(batch_a.fields, batch_b.fields)
            np.testing.assert_array_equal(y_a.numpy(), y_b.numpy())


def test_wide_inputs_never_hold_the_rows_own_label():
    """Flipping one row's label leaves that row's wide inputs unchanged; a later row of its source sees it."""
    X = make_interactions(n_objects=10, n_interactions=80, random_state=3)
    y = X["label"].to_numpy().astype(np.int64)
    k = 40
    later = np.flatnonzero((X["source"].to_numpy() == X["source"].iloc[k]) & (X["time"].to_numpy() > X["time"].iloc[k]))
    assert len(later)
    inputs = []
    for labels in (y, np.where(np.arange(80) == k, 1 - y, y)):
        state = StreamState(n_classes=2)
        src, dst = state.append(X["source"].to_numpy(), X["target"].to_numpy(), X["time"].to_numpy(), labels=labels)
        builder = QueryBuilder(state, n_hops=1, time_window=None, max_nodes=None, time_scale=1.0, n_objects=10,
                               n_classes=2, history_features=True)
        inputs.append(builder.history_inputs(src, dst, X["time"].to_numpy()))
    same = np.flatnonzero(X["time"].to_numpy() <= X["time"].iloc[k])
    np.testing.assert_array_equal(inputs[0][same], inputs[1][same])  # row k and every row not after it
    assert not np.array_equal(inputs[0][later], inputs[1][later])


def test_wide_inputs_count_revealed_labels_only(classifier, stream):
    """partial_fit(batch) adds events; partial_fit(batch, y) also their labels; neither changes the batch's own."""
    batch = stream[450:500].assign(time=float(stream["time"].iloc[450]))  # one timestamp: no row sees another
    later = stream[500:520]
    a, b = joblib.load(_dump(classifier)), joblib.load(_dump(classifier))
    own = a.builder_.history_inputs(*_codes(a, batch), batch["time"].to_numpy())
    a.partial_fit(batch, batch["label"])
    b.partial_fit(batch)  # labels not revealed
    np.testing.assert_array_equal(a.builder_.history_inputs(*_codes(a, batch), batch["time"].to_numpy()), own)
    wide_a = a.builder_.history_inputs(*_codes(a, later), later["time"].to_numpy())
    wide_b = b.builder_.history_inputs(*_codes(b, later), later["time"].to_numpy())
    counts = [0, 3, 6, 7, 10, 13]  # log1p counts and gaps: the same events, revealed or not
    np.testing.assert_array_equal(wide_a[:, counts], wide_b[:, counts])
    assert (wide_a[:, [1, 4, 8, 11]] >= wide_b[:, [1, 4, 8, 11]]).all()  # positives only where revealed
    assert (wide_a[:, [1, 4, 8, 11]] > wide_b[:, [1, 4, 8, 11]]).any()


def test_wide_part_is_used(classifier, stream):
    proba = classifier.predict_proba(stream[450:])
    off = DynamicInteractionClassifier(**FAST, history_features=False).fit(stream[:450], stream["label"][:450])
    assert off.history_mean_ is None and off.history_scale_ is None and off.net_.module_.n_wide == 0
    assert not np.allclose(off.predict_proba(stream[450:]), proba)
    # the learned linear term moves the predictions: zeroing it changes them
    model = joblib.load(_dump(classifier))
    assert model.net_.module_.wide.abs().sum() > 0
    with torch.no_grad():
        model.net_.module_.wide.zero_()
    assert not np.allclose(model.predict_proba(stream[450:]), proba)
    obj = DynamicInteractionClassifier(**FAST, target="object").fit(stream[:300], stream["label"][:300])
    assert obj.history_mean_.shape == (7,) and obj.net_.module_.n_wide == 7  # the source alone


def _planted_rates(n=2000, n_sources=200, seed=0):
    """Each source's events are positive at its own rate (5 % for most, 60 % for one in five)."""
    rng = np.random.default_rng(seed)
    rate = rng.choice([0.05, 0.6], n_sources, p=[0.8, 0.2])
    src = rng.integers(0, n_sources, n)
    X = pd.DataFrame({"source": src, "target": rng.integers(n_sources, n_sources + 100, n),
                      "time": np.arange(n, dtype=float)})
    return X, (rng.random(n) < rate[src]).astype(int)


def test_wide_part_learns_the_sources_past_positive_rate():
    """The label follows the source's past positive rate: at the default learning rate and two epochs the
    wide part has learned it and the sub-graph encoder alone has not yet."""
    X, y = _planted_rates()
    auc = {}
    for wide in (True, False):
        clf = DynamicInteractionClassifier(n_hops=2, max_nodes=16, embedding_dim=8, object_dim=4, time_dim=4,
                                           max_epochs=2, batch_size=64, validation_fraction=None, random_state=0,
                                           history_features=wide).fit(X[:1500], y[:1500])
        auc[wide] = roc_auc_score(y[1500:], clf.predict_proba(X[1500:])[:, 1])
    assert auc[True] > 0.75 and auc[True] > auc[False] + 0.05


@pytest.mark.parametrize("target", ["event", "object"])
def test_wide_round_trip_after_partial_fit(target, stream):
    clf = DynamicInteractionClassifier(**FAST, target=target).fit(stream[:300], stream["label"][:300])
    clf.partial_fit(stream[300:350])  # labels not known yet
    clf.partial_fit(stream[350:400], stream["label"][350:400], update_only=False)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(stream[400:]), clf.predict_proba(stream[400:]))
    for model in (loaded, clf):
        model.partial_fit(stream[400:450], stream["label"][400:450])
    np.testing.assert_array_equal(loaded.predict_proba(stream[450:]), clf.predict_proba(stream[450:]))


def test_wide_bad_input(stream):
    with pytest.raises(InvalidParameterError, match="history_features"):
        DynamicInteractionClassifier(**FAST, history_features="yes").fit(stream[:100], stream["label"][:100])
    model = DynamicQueryModel(5, 3, hidden_size=4, object_dim=2, n_outputs=2, pair=False, n_wide=2)
    args = (torch.tensor([0, 5]), torch.zeros(2, 3), torch.tensor([0, 1, 2]), torch.zeros(2))
    kwargs = {"parents": torch.full((2, 2), -1), "level": torch.zeros(2).long()}
    assert model(*args, **kwargs, wide=torch.zeros(2, 2)).shape == (2, 2)
    with pytest.raises(ValueError, match="wide is required"):
        model(*args, **kwargs)
    with pytest.raises(ValueError, match=r"wide must have size 2 in dimension 1 \(n_wide\)"):
        model(*args, **kwargs, wide=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="one row per query"):
        model(*args, **kwargs, wide=torch.zeros(3, 2))
    with pytest.raises(ValueError, match="no wide part"):
        DynamicQueryModel(5, 3, hidden_size=4, pair=False)(*args, **kwargs, wide=torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"wide_mean must have shape \(2,\)"):
        DynamicQueryModel(5, 3, n_wide=2, wide_mean=[0.0])


# ------------------------------------------------------------------------------------------------
# the start: a logistic regression on the history statistics, kept unless training beats it
# ------------------------------------------------------------------------------------------------
def _module_proba(module, source):
    """``module.proba`` in eval mode on every row of the batch source ``source`` (the mode restored)."""
    batch, _ = source.batch(np.arange(len(source)))
    training = module.training
    module.eval()
    with torch.no_grad():
        proba = module.proba(**batch.fields).numpy()
    module.train(training)
    return proba


class _StartProba(Callback):
    """Probabilities of the module as initialised (on ``on_train_begin``) for some rows: the fit's rows as
    training sees them (``replay``) or later rows. ``proba_`` is the last training call's (a refit's, when
    there is one), ``first_proba_`` the first's."""

    def __init__(self, clf, rows, replay):
        self.clf, self.rows, self.replay = clf, rows, replay

    def on_train_begin(self, net, **kwargs):
        src, dst = _codes(self.clf, self.rows)
        t = self.rows["time"].to_numpy()
        before = self.clf._replay(t, 0) if self.replay else None
        source = QuerySource(self.clf.builder_, src, dst, t, pair=self.clf.target == "event", before=before)
        self.proba_ = _module_proba(net.module_, source)
        if not hasattr(self, "first_proba_"):
            self.first_proba_ = self.proba_


def _three_classes(X):
    """A label of three classes: the binary label, and class 2 for normal events with a large f2."""
    return np.where(X["label"].to_numpy() == 1, 1, np.where(X["f2"].to_numpy() > 1.0, 2, 0))


@pytest.mark.parametrize("target, n_classes", [("event", 2), ("event", 3), ("object", 2)])
def test_untrained_model_is_the_logistic_regression(target, n_classes, stream):
    """The module starts as an L2 logistic regression (multinomial beyond two classes) on the standardised
    history statistics of the rows it trains on (the validation rows excluded)."""
    X = stream[:450]
    y = X["label"].to_numpy() if n_classes == 2 else _three_classes(X)
    clf = DynamicInteractionClassifier(**FAST, target=target)
    start = _StartProba(clf, X, replay=True)
    clf.set_params(callbacks=[("start", start)]).fit(X, y)
    src, dst = _codes(clf, X)
    t = X["time"].to_numpy()
    stats = clf.builder_.history_inputs(src, dst if target == "event" else None, t, clf._replay(t, 0))
    z = (stats - clf.history_mean_) / clf.history_scale_
    n_train = 450 - round(450 * clf.validation_fraction)
    lr = LogisticRegression(max_iter=1000, solver="newton-cholesky").fit(z[:n_train], y[:n_train])
    assert start.first_proba_.shape == (450, n_classes)
    np.testing.assert_allclose(start.first_proba_, lr.predict_proba(z), atol=1e-5)
    # the deep part's output starts at zero: its last layer is zero, its bias the regression's intercept
    module = DynamicQueryModel(5, 3, hidden_size=4, n_outputs=n_classes, n_wide=2,
                               wide_weight=np.ones((n_classes, 2)), output_bias=np.arange(n_classes))
    assert (module.head[-1].weight == 0).all() and module.head[-1].bias.tolist() == list(range(n_classes))
    assert (module.wide == 1).all()


def test_early_stopping_never_ends_worse_than_the_start(stream):
    """The start is epoch 0 of early stopping: training that only hurts the validation loss (a learning
    rate far too high) ends with the start, refitted on every row (the test below); training that helps
    is kept only when it beats the start on the validation rows by a standard error (one-SE rule)."""
    X, y = stream[:450], stream["label"][:450]
    clf = DynamicInteractionClassifier(**{**FAST, "max_epochs": 3}, lr=5.0).fit(X, y)
    selection = clf.selection_history_
    assert clf.best_epoch_ == 0 and selection[-1]["start_kept"] and len(clf.history_) == 0
    assert min(selection[:, "valid_loss"]) > selection[0]["valid_loss_start"]
    # a useful learning rate: the fitted model, on the validation rows as training sees them (the replayed
    # stream), is better than the start by more than a standard error of the per-row gain
    clf = DynamicInteractionClassifier(**FAST, lr=1e-2).fit(X, y)
    assert clf.best_epoch_ >= 1 and clf.selection_history_ is None
    assert not clf.history_[-1]["start_kept"] and clf.history_[-1]["valid_gain_se"] > 1
    n_train = 450 - round(450 * clf.validation_fraction)
    src, dst = _codes(clf, X)
    t = X["time"].to_numpy()
    valid = QuerySource(clf.builder_, src, dst, t, pair=True, before=clf._replay(t, 0)).subset(np.arange(n_train, 450))
    proba = _module_proba(clf.net_.module_, valid)
    assert log_loss(y[n_train:], proba, labels=clf.classes_) < clf.history_[0]["valid_loss_start"]


def _planted_amounts(n=2000, n_sources=100, seed=0):
    """An event is positive at 90 % when its source's previous event carried a large amount (a compromised
    account's next move), else at 2 %. Past events' features are sub-graph inputs; the history statistics
    (counts, label rates, gaps, the pair's own) never see them."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n_sources, n)
    dst = rng.integers(n_sources, 2 * n_sources, n)
    amount = rng.exponential(1.0, n)
    order = np.lexsort((np.arange(n), src))  # each source's events in time order
    prev = np.full(n, -1)
    same = src[order][1:] == src[order][:-1]
    prev[order[1:][same]] = order[:-1][same]
    flagged = (prev >= 0) & (amount[np.maximum(prev, 0)] > 1.5)
    X = pd.DataFrame({"source": src, "target": dst, "time": np.arange(n, dtype=float), "amount": amount})
    return X.assign(label=(rng.random(n) < np.where(flagged, 0.9, 0.02)).astype(int))


def test_classifier_beats_the_logistic_regression_where_the_subgraphs_see_more():
    """With the defaults but a small net, the classifier streamed over the test rows is clearly ahead of the
    suite's logistic regression on the same statistics, fitted on the same rows, where the label lives in the
    sub-graphs (a past event's feature) and not in the statistics."""
    X = _planted_amounts()
    cut, columns = 1500, ["source", "target", "time", "amount"]
    clf = DynamicInteractionClassifier(n_hops=2, max_nodes=16, embedding_dim=16, object_dim=4, lr=1e-2,
                                       max_epochs=15, feature_columns=["amount"], random_state=0)
    clf.fit(X[:cut][columns], X["label"][:cut])
    auc = evaluate_stream_events(clf, X[cut:], columns)["auc"]
    stats = history_features(X)
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(stats[:cut], X["label"][:cut])
    auc_lr = roc_auc_score(X["label"][cut:], lr.predict_proba(stats[cut:])[:, 1])
    assert auc >= auc_lr + 0.05


def test_training_replays_the_stream_in_blocks(stream):
    """With stream_batch_size=b a training row sees the interactions and labels of the earlier blocks of b
    rows only: its inputs are those a model whose history holds just those rows gives it when scoring it."""
    X, y = stream[:450], stream["label"][:450]
    params = {**FAST, "max_epochs": 1, "time_scale": 1.0, "stream_batch_size": 100}
    full = DynamicInteractionClassifier(**params).fit(X, y)
    short = DynamicInteractionClassifier(**params).fit(X[:200], y[:200])
    rows, t = X[200:300], X["time"].to_numpy()[200:300]
    before = full._replay(X["time"].to_numpy(), 0)[200:300]
    assert (before <= 200).all() and (before == np.minimum(full.state_.graph.n_before(t), 200)).all()
    replayed, _ = QuerySource(full.builder_, *_codes(full, rows), t, before=before).batch(np.arange(100))
    scored, _ = QuerySource(short.builder_, *_codes(short, rows), t).batch(np.arange(100))
    for name in ("features", "offsets", "delta_t", "depth", "parents", "level", "wide"):
        np.testing.assert_array_equal(replayed.fields[name].numpy(), scored.fields[name].numpy(), err_msg=name)
    # None: every earlier row; partial_fit(update_only=False) replays its rows in blocks from the batch's start
    assert full.set_params(stream_batch_size=None)._replay(t, 0) is None
    later = stream[450:550]
    full.set_params(stream_batch_size=40).partial_fit(later, later["label"])
    t = later["time"].to_numpy()
    np.testing.assert_array_equal(full._replay(t, 450),
                                  np.minimum(full.state_.graph.n_before(t), 450 + np.arange(100) // 40 * 40))


# ------------------------------------------------------------------------------------------------
# refit: the epochs chosen on the validation rows, then every row
# ------------------------------------------------------------------------------------------------
class _CountRows(Callback):
    """Training rows of each epoch of each training call: ``runs_[call][epoch]``."""

    def on_train_begin(self, net, **kwargs):
        self.runs_ = [*getattr(self, "runs_", []), []]

    def on_epoch_begin(self, net, **kwargs):
        self.runs_[-1].append(0)

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.runs_[-1][-1] += len(batch[0])


def test_refit_trains_on_every_row_for_the_chosen_epochs(stream):
    """refit=True: early stopping on the validation rows chooses best_epoch_, then a fresh net trains on all
    450 rows for that many epochs (no validation), starting from the logistic regression fitted on all of
    them; the first run's history is kept as selection_history_."""
    X, y = stream[:450], stream["label"][:450]
    params = {**FAST, "max_epochs": 3, "lr": 1e-2}  # this stream's validation loss is lowest after epoch 2
    plain = DynamicInteractionClassifier(**params).fit(X, y)
    count = _CountRows()
    start = _StartProba(None, X, replay=True)
    clf = DynamicInteractionClassifier(**params, refit=True, callbacks=[("count", count), ("start", start)])
    start.clf = clf
    clf.fit(X, y)
    n_train = 450 - round(450 * clf.validation_fraction)
    assert clf.best_epoch_ == plain.best_epoch_ == 2
    assert count.runs_ == [[n_train] * 3, [450] * 2]
    assert len(clf.selection_history_) == 3 and "valid_loss_start" in clf.selection_history_[0]
    assert len(clf.history_) == 2 and "valid_loss" not in clf.history_[-1] and clf.net_.train_split is None
    np.testing.assert_allclose(clf.selection_history_[:, "valid_loss"], plain.history_[:, "valid_loss"])
    assert plain.selection_history_ is None and plain.best_epoch_ == 2
    # the refit starts from the regression on every row's statistics (as the stream replay shows them)
    src, dst = _codes(clf, X)
    t = X["time"].to_numpy()
    z = (clf.builder_.history_inputs(src, dst, t, clf._replay(t, 0)) - clf.history_mean_) / clf.history_scale_
    lr = LogisticRegression(max_iter=1000, solver="newton-cholesky").fit(z, y)
    np.testing.assert_allclose(start.proba_, lr.predict_proba(z), atol=1e-5)
    assert not np.allclose(clf.predict_proba(stream[450:]), plain.predict_proba(stream[450:]))


@pytest.mark.parametrize("refit", [False, True])
def test_refit_when_the_start_is_best_is_the_logistic_regression_on_every_row(refit, stream):
    """When no epoch beats the start (epoch 0), with or without refit, the refit trains no epoch: the model
    is the logistic regression on every row's statistics, and partial_fit trains on from it."""
    X, y = stream[:450], stream["label"][:450]
    clf = DynamicInteractionClassifier(**{**FAST, "max_epochs": 3}, lr=5.0, refit=refit).fit(X, y)
    assert clf.best_epoch_ == 0 and len(clf.history_) == 0 and len(clf.selection_history_) == 3
    src, dst = _codes(clf, X)
    t = X["time"].to_numpy()
    z = (clf.builder_.history_inputs(src, dst, t, clf._replay(t, 0)) - clf.history_mean_) / clf.history_scale_
    lr = LogisticRegression(max_iter=1000, solver="newton-cholesky").fit(z, y)
    test = stream[450:]
    src, dst = _codes(clf, test)
    t = test["time"].to_numpy()
    z_test = (clf.builder_.history_inputs(src, dst, t, None) - clf.history_mean_) / clf.history_scale_
    np.testing.assert_allclose(clf.predict_proba(test), lr.predict_proba(z_test), atol=1e-5)
    # without the wide part there is no epoch 0: the epochs count from 1
    deep = DynamicInteractionClassifier(**{**FAST, "max_epochs": 2}, history_features=False, refit=True).fit(X, y)
    assert deep.best_epoch_ >= 1 and len(deep.history_) == deep.best_epoch_


@pytest.mark.parametrize("lr", [1e-2, 5.0], ids=["trained", "start"])
def test_refit_round_trip_and_partial_fit(lr, stream):
    """A refitted classifier pickles with its selection, predicts identically once loaded, and partial_fit
    (update_only=False) takes one epoch on every new row (the refit net has no validation split)."""
    X, y = stream[:450], stream["label"][:450]
    clf = DynamicInteractionClassifier(**{**FAST, "max_epochs": 3}, lr=lr, refit=True).fit(X, y)
    loaded = joblib.load(_dump(clf))
    assert loaded.best_epoch_ == clf.best_epoch_ and len(loaded.selection_history_) == len(clf.selection_history_)
    np.testing.assert_array_equal(loaded.predict_proba(stream[450:]), clf.predict_proba(stream[450:]))
    n, before = len(loaded.history_), loaded.predict_proba(stream[550:])
    count = _CountRows()
    loaded.net_.callbacks_.append(("count", count))
    loaded.partial_fit(stream[450:550], stream["label"][450:550], update_only=False)
    assert count.runs_ == [[100]] and len(loaded.history_) == n + 1 and "valid_loss" not in loaded.history_[-1]
    assert not np.allclose(loaded.predict_proba(stream[550:]), before)
    # a later fit chooses its epochs afresh
    loaded.fit(X, y)
    assert loaded.best_epoch_ == clf.best_epoch_ and len(loaded.selection_history_) == 3


class _StartLinkProba(Callback):
    """Link probabilities of the module as initialised (on ``on_train_begin``) for given pairs."""

    def __init__(self, embedder, src, dst, t):
        self.embedder, self.src, self.dst, self.t = embedder, src, dst, t

    def on_train_begin(self, net, **kwargs):
        if self.t is None:  # the first fit, which only learns the codes
            return
        self.proba_ = _module_proba(net.module_, QuerySource(self.embedder.builder_, self.src, self.dst, self.t))


def test_link_model_starts_as_the_logistic_regression_on_pair_statistics(stream):
    """The embedder's wide part: each pair's history statistics (both ends' and the pair's own, strictly
    before the row) standardised over the training rows and one negative per row; the module starts as the
    logistic regression fitted on the rows it trains on and their negatives, and early stopping counts it as
    epoch 0."""
    X = stream[:450][["source", "target", "time"]]
    emb = DynamicGraphEmbedder(**FAST)
    probe = _StartLinkProba(emb, None, None, None)
    emb.set_params(callbacks=[("start", probe)])
    # the pairs are the training rows against a fixed random other end (codes, known after fit): fit once to
    # learn the codes, then again with the callback reading them (same seed, same model)
    emb.fit(X)
    src, dst = _codes(emb, X)
    t = X["time"].to_numpy()
    rng = np.random.default_rng(0)
    other = rng.permutation(dst)
    probe.src, probe.dst, probe.t = np.r_[src, src], np.r_[dst, other], np.r_[t, t]
    emb.fit(X)
    assert "valid_loss_start" in emb.history_[0]
    graph = emb.state_.graph
    stats = emb.builder_.history_inputs(probe.src, probe.dst, probe.t)
    expected = np.hstack([graph.history_features(probe.src, probe.t, recent=RECENT, time_unit=emb.time_scale_),
                          graph.history_features(probe.dst, probe.t, recent=RECENT, time_unit=emb.time_scale_),
                          graph.pair_features(probe.src, probe.dst, probe.t, time_unit=emb.time_scale_)])
    np.testing.assert_allclose(stats, expected, rtol=1e-6)
    assert emb.net_.module_.n_wide == 12 and emb.history_mean_.shape == (12,)  # 3 per end, 6 of the pair
    # the regression, refitted the way fit draws its negatives: the training rows and their negatives
    source = emb._link_source(src, dst, t, emb.seed_).subset(np.arange(450), fixed=True)
    p_src, p_dst, p_t, y = source.pairs(np.arange(450))
    n_train = 450 - round(450 * emb.validation_fraction)
    rows = np.r_[np.arange(n_train), 450 + np.arange(n_train)]
    z = (emb.builder_.history_inputs(p_src, p_dst, p_t) - emb.history_mean_) / emb.history_scale_
    np.testing.assert_allclose(emb.history_mean_, emb.builder_.history_inputs(p_src, p_dst, p_t).mean(0), rtol=1e-5)
    lr = LogisticRegression(max_iter=1000, solver="newton-cholesky").fit(z[rows], y[rows])
    z_probe = (stats - emb.history_mean_) / emb.history_scale_
    np.testing.assert_allclose(probe.proba_, lr.predict_proba(z_probe)[:, 1], atol=1e-5)
    # planted: repeated pairs are what the statistics see, and the start already separates them
    assert roc_auc_score(np.r_[np.ones(450), np.zeros(450)], probe.proba_) > 0.6
    off = DynamicGraphEmbedder(**FAST, history_features=False).fit(X)
    assert off.history_mean_ is None and off.net_.module_.n_wide == 0 and "valid_loss_start" not in off.history_[0]
    # transform ignores the wide inputs: the encodings are the same model's with or without them
    assert emb.transform(stream[450:]).shape == (150, 2 * FAST["embedding_dim"])
