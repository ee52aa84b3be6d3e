"""Disentangled graph embeddings of user–item graphs, a distilled behaviour model, and baselines.

Estimators take a DataFrame of edges (``user``, ``item`` columns, optional weights) and return
raw ids: :class:`DisentangledGraphEmbedder` (DisenGCN routing, CN111681059A), the baselines
:class:`MostPopularRecommender`, :class:`BPRMatrixFactorization`, :class:`LightGCNRecommender` and
the training-free graph filter :class:`GFCFRecommender` under the same API,
:class:`DistilledBehaviorClassifier` (a light per-item model trained on hard labels plus the
embedder's soft labels), and :func:`train_test_split_edges`, the per-user split of
:func:`sklearn_ubergnn.evaluation.evaluate_bipartite` (importable from here too, where it used to
live, with a ``FutureWarning``).
"""
from ._baselines import (
    BPRMatrixFactorization,
    LightGCNRecommender,
    MostPopularRecommender,
    train_test_split_edges,
)
from ._distilled import DistilledBehaviorClassifier
from ._embedder import DisentangledGraphEmbedder
from ._graph_filter import GFCFRecommender

__all__ = [
    "BPRMatrixFactorization",
    "DisentangledGraphEmbedder",
    "DistilledBehaviorClassifier",
    "GFCFRecommender",
    "LightGCNRecommender",
    "MostPopularRecommender",
    "train_test_split_edges",
]


def __getattr__(name):
    # The old home of evaluate_bipartite, kept lazily (PEP 562) so that importing this package does not
    # import sklearn_ubergnn.evaluation, which imports the estimators.
    if name == "evaluate_bipartite":
        import warnings

        from ..evaluation import evaluate_bipartite

        warnings.warn("import evaluate_bipartite from sklearn_ubergnn.evaluation; sklearn_ubergnn.disentangled."
                      "evaluate_bipartite will be removed in 0.2.", FutureWarning, stacklevel=2)
        return evaluate_bipartite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
