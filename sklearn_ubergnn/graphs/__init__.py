"""Graph structures in flat arrays: session graphs, bipartite user-item graphs, dynamic interaction graphs.

See :class:`SessionGraphBatch` for the layout every session module in :mod:`sklearn_ubergnn.nn` receives.
"""
from ._bipartite import BipartiteGraph, build_bipartite_graph
from ._dynamic import DynamicInteractionGraph, DynamicSubgraphBatch
from ._sampling import NeighborSampler, SampledSubgraph
from ._session import SessionGraphBatch, build_session_graphs, session_adjacency
from ._transitions import item_transition_graph

__all__ = [
    "BipartiteGraph",
    "DynamicInteractionGraph",
    "DynamicSubgraphBatch",
    "NeighborSampler",
    "SampledSubgraph",
    "SessionGraphBatch",
    "build_bipartite_graph",
    "build_session_graphs",
    "item_transition_graph",
    "session_adjacency",
]
