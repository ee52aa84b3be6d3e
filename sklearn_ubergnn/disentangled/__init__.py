"""Disentangled graph embeddings of user–item graphs, a distilled behaviour model, and baselines.

Estimators take a DataFrame of edges (``user``, ``item`` columns, optional weights) and return
raw ids: :class:`DisentangledGraphEmbedder` (DisenGCN routing, CN111681059A), the baselines
:class:`MostPopularRecommender`, :class:`BPRMatrixFactorization` and :class:`LightGCNRecommender`
under the same API, :class:`DistilledBehaviorClassifier` (a light per-item model trained on hard
labels plus the embedder's soft labels), and :func:`evaluate_bipartite` to compare them.
"""
from ._baselines import (
    BPRMatrixFactorization,
    LightGCNRecommender,
    MostPopularRecommender,
    evaluate_bipartite,
    train_test_split_edges,
)
from ._distilled import DistilledBehaviorClassifier
from ._embedder import DisentangledGraphEmbedder

__all__ = [
    "BPRMatrixFactorization",
    "DisentangledGraphEmbedder",
    "DistilledBehaviorClassifier",
    "LightGCNRecommender",
    "MostPopularRecommender",
    "evaluate_bipartite",
    "train_test_split_edges",
]
