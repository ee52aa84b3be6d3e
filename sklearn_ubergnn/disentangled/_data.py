"""Batch sources of the bipartite family, for :class:`~sklearn_ubergnn._skorch.IndexDataset`.

A source has ``len(source)`` samples and ``source.batch(index) -> (TensorBatch, y)``:

- :class:`EdgeSource`: training; a batch of positive edges with freshly sampled negative items
  and the whole training graph (every step propagates over it);
- :class:`GraphSource`: one sample, the whole training graph (the module's ``embed`` after training);
- :class:`UserVectorSource`: inference; a batch of user vectors against the whole item table (the
  module's ``all_pair_scores`` and ``item_proba``).

The distilled classifier's rows of features and labels are an
:class:`~sklearn_ubergnn._skorch.ArraySource`.
"""
import math

import numpy as np
import torch

from .._skorch import TensorBatch

__all__ = ["EdgeSource", "GraphSource", "UserVectorSource", "subgraph_fields"]


class EdgeSource:
    """The positive edges of a training graph; a batch of them gets freshly sampled negatives.

    Parameters
    ----------
    users, items : ndarray of shape (E,), int64
        Codes of the positive edges.
    graph_fields : dict of str to torch.Tensor
        ``edge_src``, ``edge_dst``, ``edge_weight`` of the whole graph, handed to every batch
        (without ``sampler``).
    n_items : int
        Number of items to sample negatives from (uniformly).
    n_negatives : int or None
        ``M``: negatives per positive (``shared=False``) or per batch (``shared=True``). None, or
        ``M >= n_items`` with ``shared=True``, uses every item as a shared negative (the full
        softmax).
    shared : bool
        Whether a batch shares one set of negatives (softmax) or each positive has its own (BPR).
    seed : int
        Seeds the negative sampling (a ``torch.Generator``, drawn from batch after batch) and the
        neighbour sampling (a NumPy generator).
    sampler : NeighborSampler or None, default=None
        With a sampler, a batch carries the sub-graph of its nodes' ``n_hops`` in-neighbourhood
        (users, positive and negative items; at most ``max_neighbors`` in-edges per node) and
        its sorted node ids (field ``nodes``), instead of the whole graph.
    n_users : int, default=0
        Number of users (items are nodes ``n_users + item``); needed with a sampler.
    n_hops : int, default=1
        Hops of the sampled neighbourhood (the network's number of layers).
    max_neighbors : int or None, default=None
        In-edges kept per node of the sampled neighbourhood (None: all).

    Notes
    -----
    ``batch(index)`` returns the fields ``users, items (B,)``, ``neg_items`` (``(M,)`` shared or
    ``(B, M)``; ``(n_items,)`` for the full softmax), for shared sampled negatives
    ``neg_log_weight`` (``(M,)``, ``log(n_items / M)``: the logQ correction of uniform draws) and
    the graph's (and ``nodes``), with a dummy ``y`` of zeros (the link-prediction losses ignore it).
    """

    def __init__(self, users, items, graph_fields, n_items, n_negatives, shared, seed, *, sampler=None,
                 n_users=0, n_hops=1, max_neighbors=None):
        self.users = torch.as_tensor(users)
        self.items = torch.as_tensor(items)
        self.graph_fields = graph_fields
        self.n_items = int(n_items)
        self.n_negatives = n_negatives
        self.shared = shared
        self.generator = torch.Generator().manual_seed(int(seed))
        self.sampler, self.n_users, self.n_hops, self.max_neighbors = sampler, int(n_users), n_hops, max_neighbors
        self.rng = np.random.default_rng(int(seed))

    def __len__(self):
        return len(self.users)

    def batch(self, index):
        """``(TensorBatch, dummy y)`` of the positives ``index`` with sampled negatives."""
        index = torch.as_tensor(index)
        b = len(index)
        users, items = self.users[index], self.items[index]
        fields = {"users": users, "items": items}
        if self.n_negatives is None or (self.shared and self.n_negatives >= self.n_items):
            neg = torch.arange(self.n_items)
        elif self.shared:
            M = self.n_negatives
            neg = torch.randint(self.n_items, (M,), generator=self.generator)
            # drawn uniformly, each negative stands for n_items / M items: the logQ correction
            fields["neg_log_weight"] = torch.full((M,), math.log(self.n_items / M))
        else:
            neg = torch.randint(self.n_items, (b, self.n_negatives), generator=self.generator)
        fields["neg_items"] = neg
        if self.sampler is None:
            fields.update(self.graph_fields)
        else:
            targets = np.concatenate([users.numpy(), items.numpy() + self.n_users, neg.numpy().ravel() + self.n_users])
            fields.update(subgraph_fields(self.sampler.sample(targets, self.n_hops, self.max_neighbors, self.rng)))
        return TensorBatch(fields, b), torch.zeros(b)


def subgraph_fields(subgraph):
    """The module fields ``edge_src, edge_dst, edge_weight, nodes`` of a :class:`SampledSubgraph`."""
    return {
        "edge_src": torch.from_numpy(subgraph.edge_src),
        "edge_dst": torch.from_numpy(subgraph.edge_dst),
        "edge_weight": torch.from_numpy(subgraph.edge_weight),
        "nodes": torch.from_numpy(subgraph.nodes),
    }


class GraphSource:
    """One sample: the whole graph, as the fields ``edge_src, edge_dst, edge_weight``.

    Parameters
    ----------
    graph_fields : dict of str to torch.Tensor
        The directed edge list of the graph (``BipartiteGraph.to_torch``).
    """

    def __init__(self, graph_fields):
        self.graph_fields = graph_fields

    def __len__(self):
        return 1

    def batch(self, index):
        """``(TensorBatch, None)`` of the graph (``index`` can only be ``[0]``)."""
        return TensorBatch(dict(self.graph_fields), 1), None


class UserVectorSource:
    """Rows of user vectors, each batch paired with the whole table of item vectors.

    Parameters
    ----------
    user_vectors : ndarray of shape (n, d)
        One row per user asked (cast to float64, as every score is computed).
    item_vectors : ndarray of shape (n_items, d)
        The catalogue (cast to float64).

    Notes
    -----
    ``batch(index)`` returns the fields ``u (B, d)`` and ``v (n_items, d)``: the arguments of the
    link-prediction modules' ``all_pair_scores`` and ``item_proba``.
    """

    def __init__(self, user_vectors, item_vectors):
        self.u = torch.as_tensor(np.asarray(user_vectors, dtype=np.float64))
        self.v = torch.as_tensor(np.asarray(item_vectors, dtype=np.float64))

    def __len__(self):
        return len(self.u)

    def batch(self, index):
        """``(TensorBatch, None)`` of the user rows ``index`` and every item."""
        index = torch.as_tensor(index)
        return TensorBatch({"u": self.u[index], "v": self.v}, len(index)), None
