"""Session recommenders sharing one ids-in/ids-out API, their baselines, and the graph encoder.

Every recommender here follows ``_BaseSessionRecommender`` (``_base.py``): ``fit(X, y)`` on
``(prefix, next item)`` samples, ``recommend(X, k)`` in bounded batches, ``predict``,
``predict_proba`` and ``score`` (P@20).
"""
from ._gru4rec import GRU4RecRecommender
from ._knn import SessionKNNRecommender
from ._popularity import PopularityRecommender
from ._rules import SequentialRulesRecommender
from ._stan import VSTANRecommender
from ._transformer import SessionGraphTransformer
from ._ubergnn import SR_GNN_PARAMS, UberGNNRecommender

__all__ = [
    "SR_GNN_PARAMS",
    "GRU4RecRecommender",
    "PopularityRecommender",
    "SequentialRulesRecommender",
    "SessionGraphTransformer",
    "SessionKNNRecommender",
    "UberGNNRecommender",
    "VSTANRecommender",
]
