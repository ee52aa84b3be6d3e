"""Bounded neighbourhoods of node sets: the sub-graph a mini-batch of a graph network needs.

A graph network of ``L`` message-passing layers computes the output of a node from its ``L``-hop
in-neighbourhood. Training on a mini-batch of positive edges only needs the outputs of the batch's
nodes, so it can run on the union of their ``L``-hop in-neighbourhoods instead of the whole graph
(the "neighbourhood sampling" of GraphSAGE and PinSage). :class:`NeighborSampler` builds that
sub-graph with whole-array NumPy, either exactly (every in-edge) or with a cap on the in-edges
each node keeps, so that the cost of a step is set by the batch, not by the size of the graph.
"""
from dataclasses import dataclass

import numpy as np

from .._arrays import offsets_from_lengths

__all__ = ["NeighborSampler", "SampledSubgraph", "node_blocks"]


@dataclass(frozen=True)
class SampledSubgraph:
    """A sub-graph on a sorted set of nodes, as a local directed edge list.

    Attributes
    ----------
    nodes : ndarray of shape (n,), int64
        Global ids of the sub-graph's nodes, sorted; node ``nodes[j]`` is local node ``j``.
    edge_src, edge_dst : ndarray of shape (m,), int64
        Local ids of the two ends of every kept edge (messages flow ``edge_src -> edge_dst``).
        Hop after hop: first the in-edges of the targets, then those of the nodes they reach.
    edge_weight : ndarray of shape (m,), float32
        The edge's weight in the graph, times ``deg / max_neighbors`` for a node whose
        in-edges were sampled (so that the sum of its messages is unbiased).
    edge_id : ndarray of shape (m,), int64
        Position of every kept edge in the graph's edge list (repeats when an edge is drawn twice).
    n_target_edges : int
        The first ``n_target_edges`` edges are the in-edges of the targets.
    """

    nodes: np.ndarray
    edge_src: np.ndarray
    edge_dst: np.ndarray
    edge_weight: np.ndarray
    edge_id: np.ndarray
    n_target_edges: int

    def locate(self, node_ids):
        """Local ids of global ``node_ids`` (each must be a node of the sub-graph)."""
        return np.searchsorted(self.nodes, node_ids)


class NeighborSampler:
    """The ``n_hops`` in-neighbourhood of node sets of a directed graph, whole or capped.

    Parameters
    ----------
    edge_src, edge_dst : array-like of shape (m,), int
        The directed edge list (messages flow ``edge_src -> edge_dst``), node ids in
        ``[0, n_nodes)``.
    n_nodes : int
        Number of nodes.
    edge_weight : array-like of shape (m,) or None, default=None
        Weight of every edge (None: 1).

    Notes
    -----
    With ``max_neighbors=None`` a node keeps every in-edge, and a layer run on the sub-graph
    gives the targets exactly what it gives them on the whole graph. With a cap, a node with
    ``deg > max_neighbors`` in-edges keeps ``max_neighbors`` of them drawn uniformly with
    replacement, each weighted ``deg / max_neighbors``: the weighted sum of its messages is an
    unbiased estimate of the whole sum (GraphSAGE; Hamilton et al., 2017). Nodes at or under the
    cap keep all their in-edges, unweighted.

    Examples
    --------
    >>> sampler = NeighborSampler([1, 2, 0, 0], [0, 0, 1, 2], n_nodes=3)
    >>> sub = sampler.sample([1], n_hops=1)
    >>> sub.nodes, sub.edge_src, sub.edge_dst
    (array([0, 1]), array([0]), array([1]))
    """

    def __init__(self, edge_src, edge_dst, n_nodes, edge_weight=None):
        edge_src = np.asarray(edge_src, dtype=np.int64)
        edge_dst = np.asarray(edge_dst, dtype=np.int64)
        if edge_src.ndim != 1 or edge_dst.shape != edge_src.shape:
            raise ValueError(
                f"edge_src and edge_dst must be 1-D arrays of the same length; got shapes {edge_src.shape} "
                f"and {edge_dst.shape}."
            )
        for name, ids in (("edge_src", edge_src), ("edge_dst", edge_dst)):
            if len(ids) and (ids.min() < 0 or ids.max() >= n_nodes):
                raise ValueError(f"{name} must hold node ids in [0, {n_nodes}); got [{ids.min()}, {ids.max()}].")
        weight = (np.ones(len(edge_src), dtype=np.float32) if edge_weight is None
                  else np.asarray(edge_weight, dtype=np.float32))
        if weight.shape != edge_src.shape:
            raise ValueError(f"edge_weight must have one entry per edge ({len(edge_src)}); got shape {weight.shape}.")
        order = np.argsort(edge_dst, kind="stable")
        self.n_nodes = int(n_nodes)
        self.edge_id = order
        self.src = edge_src[order]
        self.weight = weight[order]
        self.indptr = offsets_from_lengths(np.bincount(edge_dst, minlength=self.n_nodes))

    def in_degree(self, nodes):
        """Number of in-edges of every node of ``nodes``."""
        nodes = np.asarray(nodes, dtype=np.int64)
        return self.indptr[nodes + 1] - self.indptr[nodes]

    def _in_edges(self, nodes, max_neighbors, rng):
        """Sorted-edge positions, per-edge factor and destination of the in-edges kept for ``nodes``."""
        start = self.indptr[nodes]
        degree = self.indptr[nodes + 1] - start
        capped = np.zeros(len(nodes), dtype=bool) if max_neighbors is None else degree > max_neighbors
        take = np.where(capped, max_neighbors or 0, degree)
        row = np.repeat(np.arange(len(nodes), dtype=np.int64), take)
        offset = np.arange(len(row), dtype=np.int64) - np.repeat(np.cumsum(take) - take, take)
        factor = np.ones(len(row), dtype=np.float32)
        if capped.any():
            drawn = capped[row]
            offset[drawn] = (rng.random(int(drawn.sum())) * degree[row[drawn]]).astype(np.int64)
            factor[drawn] = (degree[row[drawn]] / max_neighbors).astype(np.float32)
        return start[row] + offset, factor, nodes[row]

    def sample(self, targets, n_hops=1, max_neighbors=None, random_state=None):
        """The sub-graph of the ``n_hops`` in-neighbourhood of ``targets``.

        Parameters
        ----------
        targets : array-like of shape (b,), int
            Global node ids (repeats allowed).
        n_hops : int, default=1
            Hops to follow (the number of layers of the network that will run on it).
        max_neighbors : int or None, default=None
            In-edges kept per node; None keeps them all (see the class notes).
        random_state : numpy.random.Generator or None, default=None
            Draws the sampled in-edges (only used with a cap).

        Returns
        -------
        subgraph : SampledSubgraph
            Every target is among its nodes; ``subgraph.locate(targets)`` gives their local ids.
        """
        if max_neighbors is not None and max_neighbors < 1:
            raise ValueError(f"max_neighbors must be >= 1 or None; got {max_neighbors}.")
        rng = np.random.default_rng() if random_state is None else random_state
        frontier = np.unique(np.asarray(targets, dtype=np.int64))
        if len(frontier) and (frontier[0] < 0 or frontier[-1] >= self.n_nodes):
            raise ValueError(f"targets must be node ids in [0, {self.n_nodes}); got [{frontier[0]}, {frontier[-1]}].")
        # membership in a boolean mask over the graph's nodes, not set operations on sorted arrays:
        # a step costs what its edges cost, plus one pass over the mask
        reached = np.zeros(self.n_nodes, dtype=bool)
        reached[frontier] = True
        positions, factors, dsts = [], [], []
        for hop in range(n_hops):
            position, factor, dst = self._in_edges(frontier, max_neighbors, rng)
            positions.append(position)
            factors.append(factor)
            dsts.append(dst)
            if hop + 1 == n_hops:
                break
            src = self.src[position]
            frontier = np.unique(src[~reached[src]])
            reached[frontier] = True
            if not len(frontier):
                break
        position = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
        n_target_edges = len(positions[0]) if positions else 0
        src = self.src[position]
        reached[src] = True
        nodes = np.flatnonzero(reached)
        local = np.empty(self.n_nodes, dtype=np.int64)
        local[nodes] = np.arange(len(nodes), dtype=np.int64)
        dst = np.concatenate(dsts) if dsts else np.zeros(0, dtype=np.int64)
        weight = self.weight[position] * (np.concatenate(factors) if factors else np.ones(0, np.float32))
        return SampledSubgraph(
            nodes=nodes,
            edge_src=local[src],
            edge_dst=local[dst],
            edge_weight=weight.astype(np.float32, copy=False),
            edge_id=self.edge_id[position],
            n_target_edges=int(n_target_edges),
        )


def node_blocks(in_degree, max_edges):
    """Consecutive blocks of node ids whose in-edges add up to at most ``max_edges`` each.

    A node with more in-edges than ``max_edges`` gets a block of its own.

    Parameters
    ----------
    in_degree : ndarray of shape (n_nodes,), int
        In-degree of every node.
    max_edges : int
        Budget of in-edges per block.

    Returns
    -------
    blocks : list of ndarray of int64
        Node ids ``0 .. n_nodes - 1`` cut into consecutive blocks.

    Examples
    --------
    >>> [b.tolist() for b in node_blocks(np.array([2, 2, 5, 1, 1]), 4)]
    [[0, 1], [2], [3, 4]]
    """
    in_degree = np.asarray(in_degree, dtype=np.int64)
    n = len(in_degree)
    blocks, start = [], 0
    total = np.concatenate([[0], np.cumsum(in_degree)])
    while start < n:
        # the last node whose cumulative in-degree from start stays within the budget (at least one node)
        stop = max(int(np.searchsorted(total, total[start] + max_edges, side="right")) - 1, start + 1)
        blocks.append(np.arange(start, min(stop, n), dtype=np.int64))
        start = stop
    return blocks
