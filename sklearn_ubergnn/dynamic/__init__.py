"""Dynamic interaction graphs: estimators and baselines over time-ordered interaction streams.

:class:`EdgeBankBaseline` memorises past pairs (EdgeBank) and :class:`RecencyHeuristicBaseline`
scores pair recency, common partners and destination popularity, both without training;
:class:`DynamicGraphEmbedder` and
:class:`DynamicInteractionClassifier` encode the sub-graphs of
:class:`~sklearn_ubergnn.graphs.DynamicInteractionGraph` with the encoders of
:mod:`sklearn_ubergnn.nn`, trained by link prediction or classification.
"""
from ._classifier import DynamicInteractionClassifier
from ._edgebank import EdgeBankBaseline
from ._embedder import DynamicGraphEmbedder
from ._heuristics import RecencyHeuristicBaseline

__all__ = ["DynamicGraphEmbedder", "DynamicInteractionClassifier", "EdgeBankBaseline", "RecencyHeuristicBaseline"]
