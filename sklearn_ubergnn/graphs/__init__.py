"""Session graphs: dense adjacency of one session, flat padding-free batches of many.

See :class:`SessionGraphBatch` for the layout every torch module in :mod:`sklearn_ubergnn.nn`
receives.
"""
from ._session import SessionGraphBatch, build_session_graphs, session_adjacency

__all__ = ["SessionGraphBatch", "build_session_graphs", "session_adjacency"]
from ._dynamic import DynamicInteractionGraph, DynamicSubgraphBatch  # noqa: E402

__all__ += ["DynamicInteractionGraph", "DynamicSubgraphBatch"]
