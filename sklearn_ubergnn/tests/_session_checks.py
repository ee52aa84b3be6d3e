"""Checks and data shared by the session-recommender tests (nets, neighbourhood models, rules)."""
import pickle

import numpy as np
from sklearn.base import clone


def check_cuda_model_predicts_on_cpu(estimator, X, y, X_test):
    """A model trained on a GPU, pickled and set to ``device="cpu"`` predicts on the CPU alike."""
    est = clone(estimator).set_params(device="cuda").fit(X, y)
    on_gpu = est.recommend(X_test, k=10)
    assert next(est.net_.module_.parameters()).is_cuda
    cpu = pickle.loads(pickle.dumps(est)).set_params(device="cpu")
    on_cpu = cpu.recommend(X_test, k=10)
    assert not next(cpu.net_.module_.parameters()).is_cuda
    assert (on_cpu == on_gpu).mean() > 0.95  # float differences may swap near-ties


def check_renaming_items_renames_the_output(estimator, X, y, X_test):
    """Ids are labels only: a monotone renaming of every item gives the renamed recommendations."""
    rename = {item: f"item-{item:05d}" for item in np.unique(np.concatenate([np.concatenate(X), y]))}
    model = clone(estimator).fit(X, y)
    renamed = clone(estimator).fit([[rename[i] for i in s] for s in X], np.array([rename[i] for i in y], dtype=object))
    X_known = [s for s in X_test if all(i in rename for i in s)][:30]
    expected = np.vectorize(rename.get, otypes=[object])(model.recommend(X_known, k=5))
    np.testing.assert_array_equal(renamed.recommend([[rename[i] for i in s] for s in X_known], k=5), expected)


def markov_sessions(n_sessions, rng, n_items=60, follow=0.7):
    """Sessions of 2-6 clicks; item i is followed by its planted successor with probability ``follow``."""
    successor = rng.permutation(n_items)
    out = []
    for length in rng.integers(2, 7, size=n_sessions):
        session = [int(rng.integers(n_items))]
        for _ in range(length - 1):
            follows = rng.random() < follow
            session.append(int(successor[session[-1]]) if follows else int(rng.integers(n_items)))
        out.append(session)
    return out


def assert_proba_matches_reference(rec, queries, reference_scores):
    """``rec.predict_proba(queries)`` equals the normalised ``reference_scores(query)`` (a dict item -> score)
    of each query, or the popularity distribution where the reference scores nothing."""
    proba = rec.predict_proba(queries)
    for q, row in zip(queries, proba):
        expected = np.zeros(rec.n_items_)
        for item, value in reference_scores(q).items():
            expected[rec.vocabulary_.transform(np.array([item]))[0]] = value
        if expected.sum() == 0:
            expected = rec.item_counts_.astype(float)
        np.testing.assert_allclose(row, expected / expected.sum(), atol=1e-12)


def prefixes(sessions, longest_first=True):
    """Every (prefix, next item) sample of each session, sessions in order (as SR-GNN writes them)."""
    X, y = [], []
    for s in sessions:
        cuts = range(len(s) - 1, 0, -1) if longest_first else range(1, len(s))
        for cut in cuts:
            X.append(list(s[:cut]))
            y.append(s[cut])
    return X, y


def random_sessions(seed, n_sessions=60, n_items=25, max_len=8):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, max_len + 1, n_sessions)
    p = 1.0 / np.arange(1, n_items + 1)  # skewed popularity, so sessions overlap
    return [rng.choice(n_items, size=n, p=p / p.sum()).tolist() for n in lengths]
