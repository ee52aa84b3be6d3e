"""Disentangled graph embeddings of user–item graphs, a distilled behaviour model, and baselines.

Estimators take a DataFrame of edges (``user``, ``item`` columns, optional weights) and return
raw ids: :class:`DisentangledGraphEmbedder` (DisenGCN routing, CN111681059A), the baselines
:class:`MostPopularRecommender`, :class:`BPRMatrixFactorization` and :class:`LightGCNRecommender`
under the same API, :class:`DistilledBehaviorClassifier` (a light per-item model trained on hard
labels plus the embedder's soft labels), and :func:`train_test_split_edges`, the per-user split of
:func:`sklearn_ubergnn.evaluation.evaluate_bipartite` (re-exported here, where it used to live).
"""
from ..evaluation import evaluate_bipartite  # noqa: F401  (the old import path; documented in evaluation)
from ._baselines import (
    BPRMatrixFactorization,
    LightGCNRecommender,
    MostPopularRecommender,
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
    "train_test_split_edges",
]
