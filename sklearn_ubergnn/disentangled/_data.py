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
import numpy as np
import torch

from .._skorch import TensorBatch

__all__ = ["EdgeSource", "GraphSource", "UserVectorSource"]


class EdgeSource:
    """The positive edges of a training graph; a batch of them gets freshly sampled negatives.

    Parameters
    ----------
    users, items : ndarray of shape (E,), int64
        Codes of the positive edges.
    graph_fields : dict of str to torch.Tensor
        ``edge_src``, ``edge_dst``, ``edge_weight`` of the whole graph, handed to every batch.
    n_items : int
        Number of items to sample negatives from (uniformly).
    n_negatives : int or None
        ``M``: negatives per positive (``shared=False``) or per batch (``shared=True``). None
        uses every item as a shared negative (the full softmax).
    shared : bool
        Whether a batch shares one set of negatives (softmax) or each positive has its own (BPR).
    seed : int
        Seeds the negative sampling (a ``torch.Generator``, drawn from batch after batch).

    Notes
    -----
    ``batch(index)`` returns the fields ``users, items (B,)``, ``neg_items`` (``(M,)`` shared or
    ``(B, M)``; ``(n_items,)`` for the full softmax) and the graph's, with a dummy ``y`` of zeros
    (the link-prediction losses ignore it).
    """

    def __init__(self, users, items, graph_fields, n_items, n_negatives, shared, seed):
        self.users = torch.as_tensor(users)
        self.items = torch.as_tensor(items)
        self.graph_fields = graph_fields
        self.n_items = int(n_items)
        self.n_negatives = n_negatives
        self.shared = shared
        self.generator = torch.Generator().manual_seed(int(seed))

    def __len__(self):
        return len(self.users)

    def batch(self, index):
        """``(TensorBatch, dummy y)`` of the positives ``index`` with sampled negatives."""
        index = torch.as_tensor(index)
        b = len(index)
        if self.n_negatives is None:
            neg = torch.arange(self.n_items)
        else:
            shape = (self.n_negatives,) if self.shared else (b, self.n_negatives)
            neg = torch.randint(self.n_items, shape, generator=self.generator)
        fields = {"users": self.users[index], "items": self.items[index], "neg_items": neg,
                  **self.graph_fields}
        return TensorBatch(fields, b), torch.zeros(b)


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
