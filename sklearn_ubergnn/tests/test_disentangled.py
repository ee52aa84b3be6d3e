"""Estimators of sklearn_ubergnn.disentangled: API contract, ids, errors, persistence, learning."""
import io
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import normalized_mutual_info_score, roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from skorch.exceptions import DeviceWarning

from sklearn_ubergnn.datasets import make_bipartite
from sklearn_ubergnn.disentangled import (
    BPRMatrixFactorization,
    DisentangledGraphEmbedder,
    DistilledBehaviorClassifier,
    LightGCNRecommender,
    MostPopularRecommender,
    train_test_split_edges,
)
from sklearn_ubergnn.evaluation import evaluate_bipartite

FAST = {"embedding_dim": 8, "max_epochs": 3, "batch_size": 64, "random_state": 0}
EMBEDDERS = [
    DisentangledGraphEmbedder(n_channels=2, n_layers=1, n_iterations=2, **FAST),
    BPRMatrixFactorization(**FAST),
    LightGCNRecommender(n_layers=2, **FAST),
]
RECOMMENDERS = [*EMBEDDERS, MostPopularRecommender()]



pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def _name(est):
    return type(est).__name__


@pytest.fixture(scope="module")
def small():
    edges, item_channel, _ = make_bipartite(n_users=60, n_items=40, n_channels=2, edges_per_user=8,
                                            random_state=0)
    train, test = train_test_split_edges(edges, 0.25, random_state=0)
    return train, test, item_channel


@pytest.mark.parametrize("estimator", RECOMMENDERS, ids=_name)
def test_recommender_contract(estimator, small):
    train, test, _ = small
    est = clone(estimator)
    with pytest.raises(NotFittedError):
        est.recommend([0])
    snapshot = train.copy()
    params = est.get_params()
    assert est.fit(train) is est
    pd.testing.assert_frame_equal(train, snapshot)  # input never modified
    assert est.get_params() == params
    np.testing.assert_array_equal(est.classes_, np.unique(train["item"]))
    users = np.array([0, 1, 2, 10_000])  # the last one is unseen: popularity ranking
    top = est.recommend(users, k=5)
    assert top.shape == (4, 5) and np.isin(top, est.classes_).all()
    assert all(len(set(row)) == 5 for row in top)
    seen = set(train.loc[train["user"] == 0, "item"])
    assert not seen & set(top[0]), "training items are excluded"
    popular = est.classes_[np.argsort(-est.item_counts_, kind="stable")[:5]]
    np.testing.assert_array_equal(top[3], popular)
    assert est.recommend([0], k=10_000).shape == (1, est.n_items_)
    assert 0.0 <= est.score(test) <= 1.0


@pytest.mark.parametrize("estimator", EMBEDDERS, ids=_name)
def test_embedder_transform(estimator, small):
    train, _, _ = small
    est = clone(estimator).fit(train)
    Z = est.transform([0, 1, 10_000])
    assert Z.dtype == np.float32 and Z.shape == (3, 8)
    assert not Z[2].any(), "unseen user -> zero vector"
    V = est.transform_items([0, 10_000])
    assert V.shape == (2, 8) and not V[1].any()
    assert est.fit_transform(train).shape == (len(train), 8)  # one user vector per edge
    names = est.get_feature_names_out()
    assert len(names) == 8 and names[0] == f"{_name(est).lower()}0"
    frame = clone(estimator).set_output(transform="pandas").fit(train).transform([0, 1])
    assert list(frame.columns) == list(names)


def test_string_ids_and_custom_columns():
    X = pd.DataFrame({"who": ["ann", "bob", "bob", "cy"], "what": ["x", "y", "z", "x"], "w": [1.0, 2, 1, 5]})
    est = DisentangledGraphEmbedder(user_column="who", item_column="what", weight_column="w", n_channels=2,
                                    **FAST).fit(X)
    top = est.recommend(["ann", "zed"], k=2)
    assert top.dtype == object and set(top[0]) <= {"y", "z", "x"}
    with pytest.raises(TypeError, match="holds str item ids but the users given holds int"):
        est.recommend([1, 2])


@pytest.mark.parametrize(
    "X, params, error, match",
    [
        (pd.DataFrame({"user": [1, np.nan], "item": [1, 2]}), {}, ValueError, "must not be missing"),
        (pd.DataFrame({"user": [], "item": []}), {}, ValueError, "at least one edge"),
        (pd.DataFrame({"user": [1], "product": [2]}), {}, ValueError, r"X is missing the column\(s\) \['item'\]; it has \['user', 'product'\]\. Rename them"),
        ([[1, 2]], {}, TypeError, "must be a pandas DataFrame"),
        (pd.DataFrame({"user": [1], "item": [2]}), {"embedding_dim": 10, "n_channels": 4}, ValueError,
         "n_channels must divide embedding_dim"),
        (pd.DataFrame({"user": [1], "item": [2], "w": [-1.0]}), {"weight_column": "w"}, ValueError,
         "non-negative"),
        (pd.DataFrame({"user": [1.5], "item": [2]}), {}, TypeError, "must be integers or strings"),
        (pd.DataFrame({"user": [1], "item": [2]}), {"loss": "hinge"}, ValueError, "'loss' parameter"),
    ],
)
def test_bad_input_errors(X, params, error, match):
    with pytest.raises(error, match=match):
        DisentangledGraphEmbedder(**{**FAST, "n_channels": 2, **params}).fit(X)


def _load_without_gpu(est, monkeypatch):
    """``est`` saved with joblib and loaded where torch sees no GPU (CUDA off for the rest of the test)."""
    buf = io.BytesIO()
    joblib.dump(est, buf)
    buf.seek(0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning):  # skorch maps the CUDA weights to the CPU
        return joblib.load(buf)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("estimator", EMBEDDERS, ids=_name)
def test_cuda_model_predicts_on_cpu(estimator, small, monkeypatch):
    train, _, _ = small
    est = clone(estimator).set_params(max_epochs=1, device="cuda").fit(train)
    users = np.arange(20)
    on_gpu, Z = est.recommend(users, k=10), est.transform(users)
    proba = est.item_proba(users, est.classes_[:3])
    assert next(est.net_.module_.parameters()).is_cuda
    # recommend/transform/item_proba read the embeddings computed at the end of fit (numpy)
    again = pickle.loads(pickle.dumps(est)).set_params(device="cpu")
    np.testing.assert_array_equal(again.recommend(users, k=10), on_gpu)
    loaded = _load_without_gpu(est, monkeypatch)
    assert not next(loaded.net_.module_.parameters()).is_cuda
    np.testing.assert_array_equal(loaded.recommend(users, k=10), on_gpu)
    np.testing.assert_array_equal(loaded.transform(users), Z)
    np.testing.assert_array_equal(loaded.item_proba(users, est.classes_[:3]), proba)
    # the weights came over: the module, now on the CPU, gives the embeddings computed on the GPU
    graph = loaded.graph_
    weight = None if isinstance(loaded, DisentangledGraphEmbedder) else graph.symmetric_weight()  # LightGCN's
    with torch.no_grad():
        h = loaded.net_.module_.eval().embed(**graph.to_torch(weight=weight)).numpy()
    np.testing.assert_allclose(h[: loaded.n_users_], loaded.user_embeddings_, rtol=1e-3, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_distilled_classifier_predicts_on_cpu(small, monkeypatch):
    train, _, _ = small
    embedder = DisentangledGraphEmbedder(n_channels=2, **{**FAST, "max_epochs": 1}, device="cuda")
    clf = DistilledBehaviorClassifier(embedder, target_item=1, hidden_layer_sizes=(8,), max_epochs=2,
                                      random_state=0, device="cuda")
    users = np.arange(20)
    clf.fit(users[:10], np.arange(10) % 2, edges=train)
    on_gpu, proba = clf.decision_function(users), clf.predict_proba(users)
    assert next(clf.net_.module_.parameters()).is_cuda
    # The student predicts with skorch's forward on net_.device, which set_params(device="cpu") after
    # fit does not change: only a machine without a GPU (skorch's loading) moves it to the CPU.
    loaded = _load_without_gpu(clf, monkeypatch)
    assert not next(loaded.net_.module_.parameters()).is_cuda
    assert not next(loaded.embedder_.net_.module_.parameters()).is_cuda
    np.testing.assert_allclose(loaded.decision_function(users), on_gpu, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(loaded.predict_proba(users), proba, rtol=1e-3, atol=1e-6)


def test_evaluate_bipartite(small):
    train, test, _ = small
    models = {"pop": MostPopularRecommender(), "mf": BPRMatrixFactorization(**FAST)}
    table = evaluate_bipartite(models, train, test)
    assert list(table.index) == ["pop", "mf"]
    assert list(table.columns) == ["Recall@20", "NDCG@20", "fit_s", "s_per_epoch", "n_epochs", "recommend_s",
                                   "users_per_s"]
    assert table.loc["mf", "n_epochs"] == 3 and np.isnan(table.loc["pop", "s_per_epoch"])
    assert (table["users_per_s"] > 0).all()
    table, fitted = evaluate_bipartite(models, train, test, return_estimators=True)
    assert set(fitted) == {"pop", "mf"} and len(fitted["mf"].history_) == 3
    assert models["mf"] is not fitted["mf"]  # clones are fitted, the given models stay unfitted


def test_train_test_split_edges_per_user(small):
    edges = pd.concat(small[:2])
    train, test = train_test_split_edges(edges, 0.2, random_state=0)
    assert len(train) + len(test) == len(edges) and set(train["user"]) == set(edges["user"])
    counts = edges.groupby("user").size()
    held = test.groupby("user").size().reindex(counts.index, fill_value=0)
    np.testing.assert_array_equal(held, np.minimum(np.round(0.2 * counts), counts - 1))


# ------------------------------------------------------------------------------------------------
# learning on planted data
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def planted():
    edges, item_channel, _ = make_bipartite(n_users=400, n_items=80, n_channels=4, edges_per_user=20,
                                            concentration=0.2, random_state=0)
    train, test = train_test_split_edges(edges, 0.2, random_state=0)
    return train, test, item_channel


PLANTED = {"embedding_dim": 16, "n_layers": 1, "n_iterations": 2, "routing_temperature": 0.2,
           "channel_score": "routed", "max_epochs": 25, "batch_size": 1024, "lr": 2e-2, "n_negatives": 40,
           "random_state": 0}


@pytest.fixture(scope="module")
def planted_model(planted):
    return DisentangledGraphEmbedder(n_channels=4, **PLANTED).fit(planted[0])


def test_learning_beats_popularity(planted, planted_model):
    _, test, _ = planted
    pop = MostPopularRecommender().fit(planted[0]).score(test)
    assert planted_model.score(test) > pop + 0.1


def _channel_nmi(model, item_channel):
    affinity = model.channel_affinity(np.arange(len(item_channel)))
    np.testing.assert_allclose(affinity.sum(axis=1), 1.0)
    return normalized_mutual_info_score(item_channel, affinity.argmax(axis=1))


def test_lightgcn_defaults_learn_in_thirty_full_batch_steps(planted):
    # 4,380 training edges make one step per epoch at the default batch of 8,192: the softmax
    # defaults must still learn the planted interests in their 30 steps.
    train, test, _ = planted
    model = LightGCNRecommender(random_state=0).fit(train)
    assert len(model.history_) == 30 and model.loss == "softmax"
    assert model.score(test) > MostPopularRecommender().fit(train).score(test) + 0.2


def _mean_off_diagonal(matrix):
    K = len(matrix)
    return (matrix.sum() - np.trace(matrix)) / (K * (K - 1))


def test_channel_similarity_averages_the_channel_dot_products_of_each_nodes_edges(planted_model, planted):
    train = planted[0]
    model, K = planted_model, planted_model.n_channels
    items = np.array([3, 7, 12])
    sim = model.channel_similarity(items)
    u = model.transform(train["user"]).reshape(len(train), K, -1)
    v = model.transform_items(train["item"]).reshape(len(train), K, -1)
    per_edge = (u * v).sum(axis=2)
    for row, item in zip(sim, items, strict=True):  # a loop over the item's edges, by hand
        np.testing.assert_allclose(row, per_edge[train["item"].to_numpy() == item].mean(axis=0), rtol=1e-5)
    user_sim = model.channel_similarity(users=[0, 5])
    np.testing.assert_allclose(user_sim[1], per_edge[train["user"].to_numpy() == 5].mean(axis=0), rtol=1e-5)
    assert np.all(model.channel_similarity([10_000]) == 0)


def test_channel_correlation_is_the_distance_correlation_of_the_vectors(planted_model):
    from sklearn_ubergnn.nn import channel_distance_correlation

    dcor = planted_model.channel_correlation()
    expected = channel_distance_correlation(torch.from_numpy(planted_model.item_embeddings_).double(), 4)
    np.testing.assert_allclose(dcor, expected.numpy(), atol=1e-10)
    np.testing.assert_allclose(dcor, dcor.T)
    np.testing.assert_allclose(np.diag(dcor), 1.0)
    sub = planted_model.channel_correlation(max_rows=10)  # a fixed subset: same answer twice
    np.testing.assert_array_equal(sub, planted_model.channel_correlation(max_rows=10))
    assert planted_model.channel_correlation(users=planted_model.users_[:50]).shape == (4, 4)
    with pytest.raises(ValueError, match="max_rows must be an int >= 2"):
        planted_model.channel_correlation(max_rows=1)
    with pytest.raises(ValueError, match="at least 2 known nodes"):
        planted_model.channel_correlation([10_000, 10_001])


def test_channel_independence_makes_the_channels_of_the_vectors_separate(planted):
    # DGCF's independence term trains the distance correlation between channels down.
    train = planted[0]
    params = {**PLANTED, "max_epochs": 10}
    plain = DisentangledGraphEmbedder(n_channels=4, **params).fit(train)
    separate = DisentangledGraphEmbedder(n_channels=4, channel_independence=1.0, **params).fit(train)
    before, after = (_mean_off_diagonal(m.channel_correlation()) for m in (plain, separate))
    assert after < 0.7 * before, (before, after)
    assert separate.net_.module_.independence == 1.0


def test_routing_separates_planted_interests(planted):
    # Which channel does the routing send each item's edges through? Compare it with the
    # planted channel of the item, for three seeds, against a shuffled control.
    train, _, item_channel = planted
    shuffled = np.random.default_rng(0).permutation(item_channel)
    scores, controls = [], []
    for seed in range(3):
        model = DisentangledGraphEmbedder(n_channels=4, **{**PLANTED, "random_state": seed}).fit(train)
        scores.append(_channel_nmi(model, item_channel))
        controls.append(_channel_nmi(model, shuffled))
    assert np.mean(scores) > 0.2 and np.mean(scores) > 4 * np.mean(controls), (scores, controls)
    # One channel, or no routing iteration, cannot separate anything.
    one = DisentangledGraphEmbedder(n_channels=1, **PLANTED).fit(train)
    assert _channel_nmi(one, item_channel) == 0.0
    no_routing = DisentangledGraphEmbedder(n_channels=4, **{**PLANTED, "n_iterations": 0}).fit(train)
    assert _channel_nmi(no_routing, item_channel) == 0.0


# ------------------------------------------------------------------------------------------------
# distillation
# ------------------------------------------------------------------------------------------------
def test_distilled_classifier(planted, planted_model):
    train, test, _ = planted
    target = int(test["item"].value_counts().index[0])
    users = np.setdiff1d(np.unique(train["user"]), train.loc[train["item"] == target, "user"])
    y = np.isin(users, test.loc[test["item"] == target, "user"]).astype(int)
    clf = DistilledBehaviorClassifier(FrozenEstimator(planted_model), target_item=target, max_epochs=30,
                                      random_state=0)
    clf.fit(users[::2], y[::2])
    proba = clf.predict_proba(users[1::2])
    assert proba.shape == (len(users[1::2]), 2) and np.allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    np.testing.assert_array_equal(clf.predict(users[1::2]), clf.classes_[(proba[:, 1] > 0.5).astype(int)])
    assert roc_auc_score(y[1::2], proba[:, 1]) > 0.6
    # In a pipeline, searched over soft_weight (the frozen embedder is shared, not refitted).
    search = GridSearchCV(make_pipeline(clf), {"distilledbehaviorclassifier__soft_weight": [0.0, 1.0]},
                          scoring="roc_auc", cv=2).fit(users, y)
    assert search.best_estimator_[-1].embedder_ is clf.embedder  # frozen: shared, never refitted
    assert search.predict_proba(users[:3]).shape == (3, 2)


def _training_softmax(model, user_codes):
    """Softmax over the catalogue of the logits the module's training ``forward`` gives (every item a
    shared negative; the positive's column, masked there, is the positive score)."""
    import torch

    module = model.net_.module_.eval()
    n_items = model.n_items_
    users = torch.as_tensor(np.repeat(user_codes, 1), dtype=torch.long)
    items = torch.zeros(len(user_codes), dtype=torch.long)
    fields = (model.graph_.to_torch(weight=model.graph_.symmetric_weight())
              if not hasattr(model, "channel_score") else model.graph_.to_torch())
    with torch.no_grad():
        pos, neg, _ = module(users, items, torch.arange(n_items), **fields)
    logits = neg.double().numpy()
    logits[:, 0] = pos.double().numpy()
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    return expected / expected.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("channel_score", ["sum", "routed"])
def test_item_proba_is_the_training_softmax_for_every_channel_score(channel_score, small):
    """The probability the disentangled model reports is the one it was trained on (K channels and the
    routed score included), not a sharper or different score computed beside the module."""
    train, _, _ = small
    model = DisentangledGraphEmbedder(n_channels=4, embedding_dim=16, max_epochs=2, channel_score=channel_score,
                                      temperature=0.2, random_state=0).fit(train)
    proba = model.item_proba(model.users_[:6], model.classes_)
    np.testing.assert_allclose(proba, _training_softmax(model, np.arange(6)), rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("estimator", EMBEDDERS, ids=_name)
def test_item_proba_is_the_softmax_over_the_catalogue(estimator, small):
    train, _, _ = small
    model = clone(estimator).fit(train)
    users = [*model.users_[:5], 10_000]  # the last is unknown
    proba = model.item_proba(users, model.classes_)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[:5], _training_softmax(model, np.arange(5)), rtol=1e-4)
    np.testing.assert_allclose(proba[5], model.item_counts_ / model.item_counts_.sum())
    # A subset of items reads the same columns; an unknown item gets 0.
    picked = model.item_proba(users, [model.classes_[3], 99_999, model.classes_[0]])
    np.testing.assert_allclose(picked, np.stack([proba[:, 3], np.zeros(6), proba[:, 0]], axis=1))
    np.testing.assert_array_equal(model.user_counts_, train.groupby("user").size().reindex(model.users_))


def test_distillation_with_few_labels_learns_from_the_teacher(planted, planted_model):
    # 12 labelled users: the soft labels on every known user must beat the hard labels alone on
    # average over the 12 most frequent target items (by +0.067 here, with a teacher trained on 40
    # sampled negatives with the logQ correction) and lose clearly on none (worst -0.025; one
    # target's ROC-AUC on ~30 held-out positives moves by a few hundredths with the teacher's seed).
    train, test, _ = planted
    frozen = FrozenEstimator(planted_model)
    rng = np.random.default_rng(0)
    gains = []
    for target in test["item"].value_counts().index[:12]:
        users = np.setdiff1d(planted_model.users_, train.loc[train["item"] == target, "user"])
        y = np.isin(users, test.loc[test["item"] == target, "user"]).astype(int)
        pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        lab = np.concatenate([rng.choice(pos, 3, replace=False), rng.choice(neg, 9, replace=False)])
        rest = np.setdiff1d(np.arange(len(users)), lab)
        auc = {}
        for weight in (0.0, 1.0):
            clf = DistilledBehaviorClassifier(frozen, target_item=target, soft_weight=weight, max_epochs=30,
                                              random_state=0).fit(users[lab], y[lab])
            auc[weight] = roc_auc_score(y[rest], clf.predict_proba(users[rest])[:, 1])
        gains.append(auc[1.0] - auc[0.0])
    assert np.mean(gains) > 0.03 and min(gains) > -0.04, gains


def test_distilled_classifier_teacher_options(small):
    train, _, _ = small
    emb = DisentangledGraphEmbedder(n_channels=2, **FAST).fit(train)
    users, y = emb.users_[:10], np.arange(10) % 2
    clf = DistilledBehaviorClassifier(FrozenEstimator(emb), target_item=emb.classes_[0], soft_weight=1.0,
                                      max_epochs=2, random_state=0)
    # The soft labels of the softmax teacher: the chance that target_item is among the user's
    # n training-edge-many draws from the embedder's softmax.
    p = emb.item_proba(users, [emb.classes_[0]])[:, 0]
    n = emb.user_counts_[:10]
    np.testing.assert_allclose(clf.fit(users, y)._teacher_proba(users, emb.transform(users)), 1 - (1 - p) ** n)
    sig = clone(clf).set_params(teacher="sigmoid", temperature=2.0).fit(users, y)
    expected = 1 / (1 + np.exp(-(emb.transform(users) @ sig.target_embedding_) / 2.0))
    np.testing.assert_allclose(sig._teacher_proba(users, emb.transform(users)), expected, rtol=1e-6)
    # soft_users="all" goes over every known user once per epoch; "labelled" over the 10 only.
    batches = {}
    for soft_users in ("all", "labelled"):
        fitted = clone(clf).set_params(soft_users=soft_users, batch_size=4, max_epochs=1).fit(users, y)
        batches[soft_users] = len(fitted.history_[-1, "batches"])
    assert batches == {"all": -(-emb.n_users_ // 4), "labelled": 3}

    class Plain(BaseEstimator):  # a teacher with transform/transform_items only
        def fit(self, X):
            return self

        def transform(self, X):
            return emb.transform(X)

        def transform_items(self, items):
            return emb.transform_items(items)

        def __sklearn_is_fitted__(self):
            return True

    with pytest.raises(ValueError, match="teacher='softmax' needs"):
        clone(clf).set_params(embedder=Plain(), soft_users="labelled").fit(users, y)
    with pytest.raises(ValueError, match="soft_users='all' needs"):
        clone(clf).set_params(embedder=Plain()).fit(users, y)
    clone(clf).set_params(embedder=Plain(), soft_users="labelled", teacher="sigmoid").fit(users, y)


class _VectorTeacher(BaseEstimator):
    """A fitted teacher with given user vectors and one target vector (teacher="sigmoid")."""

    def __init__(self, users=None, vectors=None, target=None):
        self.users = users
        self.vectors = vectors
        self.target = target

    def fit(self, X=None):
        return self

    def transform(self, X):
        return self.vectors[np.searchsorted(self.users, np.asarray(X))]

    def transform_items(self, items):
        return np.tile(self.target, (len(items), 1))

    @property
    def users_(self):
        return self.users

    def __sklearn_is_fitted__(self):
        return True


def _planted_users(seed=0, n_users=300, dim=8, n_per_class=10, noise=0.3, second=0.0):
    """Users whose behaviour is ``u . w + noise > 0`` (``w`` the first axis plus ``second`` times the
    second), 10 + 10 of them labelled."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n_users, dim)).astype(np.float32)
    users = np.arange(n_users)
    y = (vectors[:, 0] + second * vectors[:, 1] + noise * rng.normal(size=n_users) > 0).astype(int)
    labelled = np.concatenate([rng.choice(np.flatnonzero(y == 1), n_per_class, replace=False),
                               rng.choice(np.flatnonzero(y == 0), n_per_class, replace=False)])
    return users, vectors, y, labelled


def _auto(teacher_vector, n_per_class=10, planted=None, **params):
    users, vectors, y, labelled = _planted_users(n_per_class=n_per_class, **(planted or {}))
    teacher = _VectorTeacher(users, vectors, np.asarray(teacher_vector, dtype=np.float32))
    clf = DistilledBehaviorClassifier(teacher, target_item=0, teacher="sigmoid", random_state=0,
                                      **{"max_epochs": 50, **params})
    return clf.fit(users[labelled], y[labelled]), users, y, labelled


def test_auto_soft_weight_uses_a_perfect_teacher_alone():
    # The teacher's score u . w ranks users by the planted rule itself: it wins the inner
    # cross-validation (and is the simplest candidate), so predict_proba is its probability.
    clf, users, _, _ = _auto([4.0, 0, 0, 0, 0, 0, 0, 0])
    assert clf.predictor_ == "teacher"
    results = clf.cv_results_
    assert results["mean_test_score"][-1] == results["mean_test_score"].max() > 0.95
    q = clf.teacher_proba(users)
    np.testing.assert_allclose(q, 1 / (1 + np.exp(-4.0 * clf.embedder_.vectors[:, 0])), rtol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(users), np.stack([1 - q, q], axis=1))
    np.testing.assert_allclose(clf.decision_function(users), 4.0 * clf.embedder_.vectors[:, 0], rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_array_equal(clf.predict(users), (q > 0.5).astype(int))
    # The student of the best weight is trained all the same (net_ is the light model).
    assert clf.soft_weight_ in (0.0, 0.1, 0.3, 1.0, 3.0, 10.0) and hasattr(clf.net_, "module_")


def test_auto_soft_weight_ignores_a_useless_teacher():
    # The teacher scores an axis the behaviour does not depend on (or the opposite of the planted
    # rule): the students with no or a light soft term win (the one-standard-error rule takes
    # the heaviest weight within noise of the best, 0.3 here), and rank the held-out users well.
    for vector in ([0, 0, 0, 0, 0, 0, 0, 4.0], [-4.0, 0, 0, 0, 0, 0, 0, 0]):
        clf, users, y, labelled = _auto(vector, n_per_class=25, max_epochs=100)
        mean = clf.cv_results_["mean_test_score"]
        assert clf.predictor_ == "student" and clf.soft_weight_ <= 0.3, mean
        assert mean[-1] < 0.7 and mean[-2] < 0.7  # the teacher alone, and the heaviest weight
        rest = np.setdiff1d(users, users[labelled])
        assert roc_auc_score(y[rest], clf.predict_proba(rest)[:, 1]) > 0.8


@pytest.mark.parametrize("student", ["plain", "residual", "auto"])
def test_auto_soft_weight_attributes_and_refit(student):
    clf, users, y, labelled = _auto([1.0, 0, 0, 0, 0, 0, 0, 1.0], soft_users="labelled", student=student)
    assert clf.net_.module_.residual == (clf.student_ == "residual")
    results = clf.cv_results_
    forms = ["residual", "plain"] if student == "auto" else [student]
    n_students = 6 * len(forms)  # six weights of each form, then the teacher alone
    splits = [k for k in results if k.startswith("split")]
    assert len(splits) == 50  # 5 stratified folds of the 10 + 10 labels, 10 repeats
    for key in [*splits, "mean_test_score", "std_test_score", "rank_test_score", "chosen", "param_predictor",
                "param_soft_weight", "param_student"]:
        assert len(results[key]) == n_students + 1
    np.testing.assert_allclose(results["mean_test_score"], np.mean([results[k] for k in splits], axis=0))
    assert results["param_soft_weight"].mask.tolist() == [False] * n_students + [True]
    assert results["param_student"][:n_students].tolist() == np.repeat(forms, 6).tolist()
    assert results["params"][-1] == {"predictor": "teacher"}
    assert results["params"][0] == {"student": forms[0], "soft_weight": 0.0}
    assert results["chosen"].sum() == 1 and results["rank_test_score"][np.argmax(results["mean_test_score"])] == 1
    chosen = int(np.flatnonzero(results["chosen"])[0])
    # The one-standard-error rule: within one standard error of the best, the simplest.
    mean, std = results["mean_test_score"], results["std_test_score"]
    assert mean[chosen] >= mean.max() - std[np.argmax(mean)] / np.sqrt(5) - 1e-12
    # The chosen student is refitted on every labelled user exactly as the fixed weight would be.
    if clf.predictor_ == "student":
        fixed = clone(clf).set_params(soft_weight=clf.soft_weight_, student=clf.student_).fit(users[labelled],
                                                                                            y[labelled])
        assert fixed.cv_results_ is None and fixed.predictor_ == "student"
        np.testing.assert_array_equal(fixed.predict_proba(users), clf.predict_proba(users))
    # Deterministic with a seed: same choice, same scores, same predictions.
    again = clone(clf).fit(users[labelled], y[labelled])
    np.testing.assert_array_equal(again.cv_results_["mean_test_score"], mean)
    np.testing.assert_array_equal(again.predict_proba(users), clf.predict_proba(users))


def test_inner_cv_helpers():
    from sklearn_ubergnn.disentangled._soft_weight import (
        choose_one_standard_error,
        fold_roc_auc,
        heads_train_mask,
        inner_splits,
    )

    y = np.repeat([1, 0], [10, 10])
    splits, n_splits = inner_splits(y, 0)
    assert n_splits == 5 and len(splits) == 50
    assert all(np.bincount(y[test]).tolist() == [2, 2] for _, test in splits)
    assert inner_splits(np.repeat([1, 0], [3, 10]), 0)[1] == 3  # folds: at most the smaller class
    mask = heads_train_mask(splits[:2], 20, 3)  # head s * 3 + w
    assert mask.shape == (20, 6) and (~mask[:, :3]).sum(axis=0).tolist() == [4, 4, 4]
    np.testing.assert_array_equal(mask[:, 3], np.isin(np.arange(20), splits[1][0]))
    scores = np.random.default_rng(0).normal(size=(20, 50, 2))
    auc = fold_roc_auc(y, scores, splits)
    for s in (0, 17):
        test = splits[s][1]
        assert auc[s, 1] == roc_auc_score(y[test], scores[test, s, 1])
    # Means 0.80 / 0.78 / 0.60, the best one with a standard error of 0.115 / sqrt(4) = 0.058: candidate 1
    # (listed first, the simplest) is within it; candidate 2 is not.
    folds = np.array([[0.9, 0.8, 0.6], [0.7, 0.76, 0.6], [0.9, 0.8, 0.6], [0.7, 0.76, 0.6]])
    chosen, mean, _ = choose_one_standard_error(folds, 4, [2, 1, 0])
    assert chosen == 1 and np.allclose(mean, [0.8, 0.78, 0.6])
    assert choose_one_standard_error(folds, 4, [2, 0, 1])[0] == 0


def test_the_teacher_is_replaced_only_by_a_student_clear_of_the_multiple_comparison():
    from sklearn_ubergnn.disentangled._soft_weight import choose_teacher_or_student, teacher_margin

    assert teacher_margin(1) == pytest.approx(1.0) and teacher_margin(6) == pytest.approx(1.936, abs=1e-3)
    # Students 0 and 1 (1 the best: mean 0.80, standard error 0.1155 / sqrt(4) = 0.0577), teacher 2. With
    # two students the margin is 1.41 standard errors, 0.0814: a teacher at 0.73 stays (the plain
    # one-standard-error rule, whose margin is 0.0577, would have replaced it), one at 0.70 does not.
    student_folds = np.array([[0.60, 0.9], [0.62, 0.7], [0.60, 0.9], [0.62, 0.7]])
    for teacher_mean, expected in [(0.73, 2), (0.70, 1)]:
        folds = np.column_stack([student_folds, np.full(4, teacher_mean)])
        chosen, mean, std = choose_teacher_or_student(folds, 4, 2, [0, 1])
        assert chosen == expected and mean[1] == pytest.approx(0.8) and std[2] == 0
    # Once the teacher is out, the students follow the one-standard-error rule (simplest first).
    close = np.column_stack([[0.76, 0.76, 0.76, 0.76], student_folds[:, 1], np.full(4, 0.5)])
    assert choose_teacher_or_student(close, 4, 2, [0, 1])[0] == 0


def test_paired_difference_is_delong_on_one_split():
    # One split holding every labelled user out: the difference is the plain ROC-AUC difference and
    # its standard error DeLong's, both written out here with loops over the pairs.
    from sklearn_ubergnn.disentangled._soft_weight import paired_roc_auc_difference

    rng = np.random.default_rng(0)
    y = np.repeat([1, 0], [6, 9])
    scores = np.round(rng.normal(size=(15, 1, 3)) + y[:, None, None], 1)  # rounded: some ties
    difference, se = paired_roc_auc_difference(y, scores, [(np.array([], dtype=int), np.arange(15))], 2)
    s, pos, neg = scores[:, 0], np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    for c in range(3):
        assert difference[c] == pytest.approx(roc_auc_score(y, s[:, c]) - roc_auc_score(y, s[:, 2]))
        psi = [[(s[i, c] > s[j, c]) + 0.5 * (s[i, c] == s[j, c]) - (s[i, 2] > s[j, 2]) - 0.5 * (s[i, 2] == s[j, 2])
                for j in neg] for i in pos]
        v10, v01 = np.mean(psi, axis=1), np.mean(psi, axis=0)
        assert se[c] == pytest.approx(np.sqrt(v10.var(ddof=1) / 6 + v01.var(ddof=1) / 9))
    assert difference[2] == se[2] == 0


def test_paired_margin_keeps_a_teacher_that_misranks_few_users():
    # Students perfect on every split; the teacher ranks every labelled user right but one positive,
    # which it puts below every negative (split ROC-AUC 0.5 when that user is held out, 1 otherwise).
    # The spread of the students' split scores is 0, so the margin on the splits alone lets them
    # replace the teacher; the paired difference, about 0.1, is carried by that one user (standard
    # error at least 0.1 over the labelled users) and does not clear 1.94 of its standard errors.
    from sklearn_ubergnn.disentangled._soft_weight import (
        choose_teacher_or_student,
        fold_roc_auc,
        inner_splits,
        paired_roc_auc_difference,
    )

    y = np.repeat([1, 0], [10, 10])
    splits, n_splits = inner_splits(y, 0)
    teacher = y.astype(float) + 0.01 * np.arange(20)
    teacher[0] = -1.0
    students = np.repeat(y[:, None] + 0.01 * np.arange(20)[:, None], 6, axis=1)
    scores = np.repeat(np.column_stack([students, teacher])[:, None, :], len(splits), axis=1)
    folds = fold_roc_auc(y, scores, splits)
    paired = paired_roc_auc_difference(y, scores, splits, 6)
    # 91 of the 100 pairs are held out together at least once, 8 of them the misranked positive's.
    np.testing.assert_allclose(paired[0], [8 / 91] * 6 + [0])
    assert np.all(paired[1][:6] >= np.sqrt(0.1 / 10)) and paired[1][6] == 0  # its V10 alone: var 0.1 / 10
    order = [5, 4, 3, 2, 1, 0]
    assert choose_teacher_or_student(folds, n_splits, 6, order)[0] == 5  # the margin on the splits alone
    assert choose_teacher_or_student(folds, n_splits, 6, order, paired)[0] == 6
    # A teacher wrong on many users (random scores) is still replaced.
    scores[:, :, 6] = np.random.default_rng(0).normal(size=20)[:, None]
    paired = paired_roc_auc_difference(y, scores, splits, 6)
    assert paired[0][0] > 2 * paired[1][0]  # 0.32, 2.4 standard errors
    assert choose_teacher_or_student(fold_roc_auc(y, scores, splits), n_splits, 6, order, paired)[0] == 5


def test_auto_soft_weight_keeps_the_teacher_against_a_quirk_of_the_labelled_users():
    # The user vectors have one more axis that holds the label of the 20 labelled users (+1 / -1)
    # and 0 for every other user: a quirk of which users were labelled. Every student reads it and
    # wins every split of the inner cross-validation (mean 1.0, no spread), while the teacher
    # (u_0, the planted rule) misranks two of the labelled positives. The margin on the splits alone
    # takes a student, which then ranks the other users below the teacher; the paired margin keeps
    # the teacher.
    from sklearn_ubergnn.disentangled._soft_weight import choose_teacher_or_student

    users, vectors, y, labelled = _planted_users(seed=1, noise=0.5)
    quirk = np.zeros((len(users), 1), dtype=np.float32)
    quirk[labelled, 0] = 2 * y[labelled] - 1
    target = np.zeros(9, dtype=np.float32)
    target[0] = 4.0
    teacher = _VectorTeacher(users, np.hstack([vectors, quirk]), target)
    clf = DistilledBehaviorClassifier(teacher, target_item=0, teacher="sigmoid", max_epochs=50, random_state=0)
    clf.fit(users[labelled], y[labelled])
    results = clf.cv_results_
    assert clf.predictor_ == "teacher" and results["chosen"][-1]
    assert results["mean_test_score"][:6].max() == 1.0 > results["mean_test_score"][-1]
    assert results["paired_difference"][-1] == results["paired_se"][-1] == 0
    folds = np.array([results[f"split{i}_test_score"] for i in range(50)])
    split_only = choose_teacher_or_student(folds, 5, 6, [5, 4, 3, 2, 1, 0])[0]
    assert split_only < 6
    student = clone(clf).set_params(soft_weight=float(results["param_soft_weight"][split_only]))
    student.fit(users[labelled], y[labelled])
    rest = np.setdiff1d(users, users[labelled])
    assert roc_auc_score(y[rest], student.predict_proba(rest)[:, 1]) < roc_auc_score(y[rest], clf.teacher_proba(rest))


def test_residual_student_with_a_zero_correction_is_the_teacher():
    # student="residual": logit = logit(q(u)) + f(u). The teacher (teacher="sigmoid", target vector
    # 4 e_0) has q(u) = sigmoid(4 u_0); with f set to zero by hand, the student is the teacher exactly,
    # at predict time too (the offset is the teacher's logit of the users predicted).
    users, vectors, y, labelled = _planted_users()
    teacher = _VectorTeacher(users, vectors, np.array([4.0, 0, 0, 0, 0, 0, 0, 0], dtype=np.float32))
    q = 1 / (1 + np.exp(-4.0 * vectors[:, 0].astype(np.float64)))
    for weight in (0.0, 1.0):  # without a soft term the offset is given all the same
        clf = DistilledBehaviorClassifier(teacher, target_item=0, teacher="sigmoid", soft_weight=weight,
                                          student="residual", max_epochs=5, random_state=0)
        clf.fit(users[labelled], y[labelled])
        assert clf.net_.module_.residual and clf.predictor_ == "student"
        assert np.abs(clf.predict_proba(users)[:, 1] - q).max() > 1e-3  # training moved f away from 0
        with torch.no_grad():
            clf.net_.module_.layers[-1].weight.zero_()
            clf.net_.module_.layers[-1].bias.zero_()
        np.testing.assert_allclose(clf.predict_proba(users), np.stack([1 - q, q], axis=1), rtol=1e-12, atol=0)
        np.testing.assert_allclose(clf.decision_function(users), 4.0 * vectors[:, 0], rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(clf.predict(users[::-1]), (q[::-1] > 0.5).astype(int))


def test_residual_student_learns_a_planted_correction():
    # Behaviour u_0 + u_1 > 0; the teacher ranks by u_0 alone (ROC-AUC 0.82 on the unlabelled users).
    # The residual student corrects its logit from 25 + 25 labels (0.91 without and 0.96 with a light
    # soft term), and the inner cross-validation of soft_weight="auto" takes a student over the teacher
    # (0.93).
    planted = {"second": 1.0, "noise": 0.0}
    users, vectors, y, labelled = _planted_users(n_per_class=25, **planted)
    rest = np.setdiff1d(users, users[labelled])
    teacher = _VectorTeacher(users, vectors, np.array([2.0, 0, 0, 0, 0, 0, 0, 0], dtype=np.float32))
    auc = {}
    for weight in (0.0, 0.3, "auto"):
        clf = DistilledBehaviorClassifier(teacher, target_item=0, teacher="sigmoid", soft_weight=weight,
                                          student="residual", random_state=0).fit(users[labelled], y[labelled])
        auc[weight] = roc_auc_score(y[rest], clf.predict_proba(rest)[:, 1])
    auc["teacher"] = roc_auc_score(y[rest], clf.teacher_proba(rest))
    assert clf.predictor_ == "student", clf.cv_results_["mean_test_score"]
    assert auc["teacher"] < 0.86 and min(auc[0.0], auc[0.3], auc["auto"]) > auc["teacher"] + 0.05, auc


def test_auto_student_cross_validates_both_forms_under_one_rule():
    # student="auto": the inner cross-validation of each form is the one student="plain" or
    # "residual" runs alone (same heads, same scores), and one rule chooses among all twelve students
    # and the teacher (the margin of the best of twelve). A teacher that ranks users backwards
    # pulls every residual student down with it (ROC-AUC < 0.2 in the inner cross-validation):
    # the plain form is chosen, and predicts as the plain student of that weight.
    for vector, expected in [([1.0, 0, 0, 0, 0, 0, 0, 1.0], None), ([-4.0, 0, 0, 0, 0, 0, 0, 0], "plain")]:
        both, users, _, _ = _auto(vector, student="auto")
        mean = both.cv_results_["mean_test_score"]
        for k, form in enumerate(["residual", "plain"]):
            alone = _auto(vector, student=form)[0]
            np.testing.assert_array_equal(mean[6 * k:6 * k + 6], alone.cv_results_["mean_test_score"][:6])
            np.testing.assert_array_equal(mean[-1], alone.cv_results_["mean_test_score"][-1])
        assert both.student_ == expected or expected is None
    assert both.predictor_ == "student" and mean[:6].max() < 0.2 and mean[6:12].max() > 0.8
    plain = _auto(vector, student="plain", soft_weight=both.soft_weight_)[0]
    np.testing.assert_array_equal(both.predict_proba(users), plain.predict_proba(users))
    # A numeric soft_weight with student="auto" trains the plain student (the patent's formulation).
    fixed = _auto(vector, student="auto", soft_weight=1.0)[0]
    assert fixed.student_ == "plain" and not fixed.net_.module_.residual


def test_fixed_soft_weight_path():
    users, vectors, y, labelled = _planted_users()
    teacher = _VectorTeacher(users, vectors, np.ones(8, dtype=np.float32))
    for weight in (0.0, 1.0):
        clf = DistilledBehaviorClassifier(teacher, target_item=0, teacher="sigmoid", soft_weight=weight,
                                          max_epochs=5, batch_size=64, random_state=0).fit(users[labelled],
                                                                                           y[labelled])
        assert (clf.soft_weight_, clf.predictor_, clf.cv_results_) == (weight, "student", None)
        # weight 0: the labelled users alone; otherwise every known user under the soft term.
        assert len(clf.history_[-1, "batches"]) == (1 if weight == 0 else -(-len(users) // 64))


def test_auto_soft_weight_errors_and_persistence():
    users, vectors, y, labelled = _planted_users()
    teacher = _VectorTeacher(users, vectors, np.ones(8, dtype=np.float32))
    clf = DistilledBehaviorClassifier(teacher, target_item=0, teacher="sigmoid", max_epochs=5, random_state=0)
    with pytest.raises(ValueError, match="needs at least 2 of each class"):
        clf.fit(users[labelled[9:]], y[labelled[9:]])  # one positive
    with pytest.raises(ValueError, match="soft_weight"):
        clone(clf).set_params(soft_weight="best").fit(users[labelled], y[labelled])
    for vector in ([4.0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 4.0]):  # the teacher, then a student
        fitted, users, _, _ = _auto(vector)
        loaded = joblib.load(_dumped(fitted))
        assert loaded.predictor_ == fitted.predictor_
        np.testing.assert_array_equal(loaded.predict_proba(users), fitted.predict_proba(users))
        np.testing.assert_array_equal(loaded.cv_results_["mean_test_score"], fitted.cv_results_["mean_test_score"])


def _dumped(obj):
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    buffer.seek(0)
    return buffer


def test_distilled_classifier_fits_its_embedder(small):
    train, _, _ = small
    clf = DistilledBehaviorClassifier(DisentangledGraphEmbedder(n_channels=2, **FAST), target_item=1,
                                      max_epochs=2, random_state=0)
    with pytest.raises(ValueError, match="pass the training edges"):
        clf.fit([0, 1], [0, 1])
    clf.fit([0, 1, 2, 3], [0, 1, 0, 1], edges=train)
    assert clf.embedder_ is not clf.embedder and hasattr(clf.embedder_, "user_embeddings_")
    with pytest.raises(ValueError, match="two classes"):
        clf.fit([0, 1], [1, 1], edges=train)
    with pytest.raises(ValueError, match="unknown to the embedder"):
        clone(clf).set_params(target_item=10_000).fit([0, 1], [0, 1], edges=train)


# ------------------------------------------------------------------------------------------------
# batch sources and ranking
# ------------------------------------------------------------------------------------------------
def test_edge_source_batches_through_the_one_dataset():
    from sklearn_ubergnn._skorch import IndexDataset, collate_samples
    from sklearn_ubergnn.disentangled._data import EdgeSource

    graph = {"edge_src": torch.tensor([0, 2]), "edge_dst": torch.tensor([2, 0]), "edge_weight": torch.ones(2)}
    users, items = np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 2, 3])
    loader = torch.utils.data.DataLoader(IndexDataset(EdgeSource(users, items, graph, 4, 3, False, seed=7)),
                                         batch_size=2, collate_fn=collate_samples)
    batches = list(loader)
    assert [len(b) for b, _ in batches] == [2, 2, 1]
    batch, y = batches[1]
    np.testing.assert_array_equal(batch.fields["users"], users[2:4])
    np.testing.assert_array_equal(batch.fields["items"], items[2:4])
    assert batch.fields["neg_items"].shape == (2, 3) and y.tolist() == [0.0, 0.0]
    assert batch.fields["edge_src"] is graph["edge_src"]  # the whole graph, never copied
    negatives = torch.cat([b.fields["neg_items"].ravel() for b, _ in batches])
    assert 0 <= negatives.min() and negatives.max() < 4
    # Seeded: a second source with the same seed draws the same negatives; shared and full softmax.
    again = list(torch.utils.data.DataLoader(IndexDataset(EdgeSource(users, items, graph, 4, 3, False, seed=7)),
                                             batch_size=2, collate_fn=collate_samples))
    assert all(torch.equal(a.fields["neg_items"], b.fields["neg_items"]) for (a, _), (b, _) in zip(batches, again))
    shared, _ = EdgeSource(users, items, graph, 4, 3, True, seed=7).batch(np.arange(5))
    assert shared.fields["neg_items"].shape == (3,)
    full, _ = EdgeSource(users, items, graph, 4, None, True, seed=7).batch(np.array([4]))
    np.testing.assert_array_equal(full.fields["neg_items"], np.arange(4))


def test_user_vector_and_graph_sources():
    from sklearn_ubergnn.disentangled._data import GraphSource, UserVectorSource

    U, V = np.arange(6, dtype=np.float32).reshape(3, 2), np.ones((4, 2), dtype=np.float32)
    batch, y = UserVectorSource(U, V).batch(np.array([2, 0]))
    assert y is None and len(batch) == 2 and batch.fields["u"].dtype == torch.float64
    np.testing.assert_array_equal(batch.fields["u"], U[[2, 0]])
    np.testing.assert_array_equal(batch.fields["v"], V)
    fields = {"edge_src": torch.tensor([0]), "edge_dst": torch.tensor([1])}
    source = GraphSource(fields)
    assert len(source) == 1 and source.batch(np.array([0]))[0].fields == fields


def test_recommend_hand_example_ties_and_seen_items():
    # counts: 10:2, 20:3, 30:3, 40:2, 50:1, 60:1 -> popularity 20, 30, 10, 40, 50, 60 (ties by id)
    X = pd.DataFrame({"user": [1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 4, 5],
                      "item": [10, 20, 20, 30, 30, 40, 10, 20, 30, 40, 50, 60]})
    model = MostPopularRecommender().fit(X)
    top = model.recommend([1, 2, 4, 99], k=4)
    np.testing.assert_array_equal(top, [[30, 40, 50, 60],   # seen 10, 20 left out; 50 = 60 by id
                                        [10, 40, 50, 60],   # 10 = 40 by id
                                        [60, 20, 30, 10],   # one unseen item, then seen ones by popularity
                                        [20, 30, 10, 40]])  # unknown user: popularity
    np.testing.assert_array_equal(model.recommend([1], k=4, exclude_seen=False), [[20, 30, 10, 40]])


@pytest.mark.parametrize("channel_score", ["sum", "routed"])
def test_recommend_equals_a_brute_force_ranking(channel_score, small):
    train, _, _ = small
    model = DisentangledGraphEmbedder(n_channels=2, channel_score=channel_score, **FAST).fit(train)
    with torch.no_grad():
        scores = model.net_.module_.all_pair_scores(torch.from_numpy(model.user_embeddings_.astype(np.float64)),
                                                    torch.from_numpy(model.item_embeddings_.astype(np.float64)))
    popular = sorted(range(model.n_items_), key=lambda j: (-model.item_counts_[j], j))
    users = model.users_[::3]
    for k in (5, model.n_items_):
        top = model.recommend(users, k=k)
        for row, user in zip(top, users):
            u = int(np.searchsorted(model.users_, user))
            seen = set(train.loc[train["user"] == user, "item"].map(lambda i: np.searchsorted(model.classes_, i)))
            ranked = sorted((j for j in range(model.n_items_) if j not in seen),
                            key=lambda j: (-scores[u, j].item(), j))
            ranked += [j for j in popular if j in seen]
            np.testing.assert_array_equal(row, model.classes_[ranked[:k]])
