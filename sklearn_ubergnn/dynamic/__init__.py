"""Dynamic interaction graphs: estimators and baselines over time-ordered interaction streams.

:class:`EdgeBankBaseline` memorises past pairs (EdgeBank); the learned estimators encode the
sub-graphs of :class:`~sklearn_ubergnn.graphs.DynamicInteractionGraph` with the encoders of
:mod:`sklearn_ubergnn.nn`.
"""
from ._edgebank import EdgeBankBaseline

__all__ = ["EdgeBankBaseline"]
