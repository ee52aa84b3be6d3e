"""GCE-GNN's global item graph: every node also hears its item's neighbours over all training sessions."""
import torch
from torch import nn
from torch.nn import functional as F

from ._functional import _check_index_range, _check_tensor

__all__ = ["GlobalItemGraph"]


class GlobalItemGraph(nn.Module):
    r"""Session-aware aggregation over a fixed global item graph (GCE-GNN's global level).

    A session graph only sees the transitions of its own session; the global graph links each
    item to the items that appeared near it in any training session, so a node also receives
    what other sessions say about its item (Wang et al., 2020, eqs. 1-4; one hop)::

        pi_j = softmax_j(q . LeakyReLU(W_1 [s * v_j ; w_j]))     # over the item's K neighbours
        a    = sum_j pi_j v_j
        h_g  = dropout(ReLU(W_2 [h ; a]))

    where ``v_j`` are the neighbours' item vectors (unit vectors with ``normalize=True``),
    ``w_j`` the weight of the link (its count over the item's largest count, in ``(0, 1]``),
    ``s`` the mean of the node vectors of the node's session (the attention asks which
    neighbours matter for this session) and ``h`` the node's own item vector. The caller adds
    ``h_g`` to the node vectors of the session graph network. A node whose item has no
    neighbour aggregates a zero vector.

    Parameters
    ----------
    hidden_size : int
        Size ``d`` of item and node vectors.
    neighbours : array-like of shape (n_items, K), int
        The global neighbours of every item, ``-1`` for none (padding).
    weights : array-like of shape (n_items, K), float
        The link weights, 0 at the padding; scaled by each row's largest weight.
    dropout : float, default=0.5
        Dropout on ``h_g`` in training (GCE-GNN's ``dropout_global``).
    normalize : bool, default=False
        Use unit neighbour vectors (with the NISER normalisation of the item table).

    Attributes
    ----------
    neighbours : torch.LongTensor of shape (n_items, K)
        Buffer; saved with the module.
    weights : torch.FloatTensor of shape (n_items, K)
        Buffer, each row scaled to a largest weight of 1.
    attention : torch.nn.Linear
        ``W_1``, ``d + 1 -> d`` without bias.
    score : torch.nn.Linear
        ``q``, ``d -> 1`` without bias.
    combine : torch.nn.Linear
        ``W_2``, ``2d -> d`` without bias.

    Shapes
    ------
    ``items (N,) long`` (item codes of the nodes), ``h (N, d)``, ``session (N, d)`` (the
    session vector of every node), ``table (n_items, d)`` (the item embedding), ``out (N, d)``.

    References
    ----------
    Z. Wang, W. Wei, G. Cong, X.-L. Li, X.-L. Mao, M. Qiu. Global Context Enhanced Graph Neural
    Networks for Session-based Recommendation. SIGIR 2020.

    Examples
    --------
    >>> import torch
    >>> layer = GlobalItemGraph(4, neighbours=[[1, -1], [0, -1], [-1, -1]],
    ...                         weights=[[2.0, 0], [2.0, 0], [0, 0]])
    >>> table = torch.randn(3, 4)
    >>> items = torch.tensor([0, 2])
    >>> layer(items, table[items], torch.zeros(2, 4), table).shape
    torch.Size([2, 4])
    """

    def __init__(self, hidden_size, neighbours, weights, dropout=0.5, normalize=False):
        super().__init__()
        neighbours = torch.as_tensor(neighbours, dtype=torch.long)
        weights = torch.as_tensor(weights, dtype=torch.float32)
        if hidden_size < 1:
            raise ValueError(f"hidden_size must be >= 1; got {hidden_size}.")
        if neighbours.dim() != 2 or weights.shape != neighbours.shape:
            raise ValueError(
                f"neighbours and weights must be (n_items, K) tables of one shape; got "
                f"{tuple(neighbours.shape)} and {tuple(weights.shape)}."
            )
        padding = neighbours < 0
        if bool((weights[~padding] <= 0).any()) or bool((weights[padding] != 0).any()):
            raise ValueError("weights must be > 0 at every neighbour and 0 at the padding (neighbour -1).")
        _check_index_range("neighbours", neighbours[~padding], 0, neighbours.shape[0],
                           f"item codes, {neighbours.shape[0]} items")
        self.hidden_size = int(hidden_size)
        self.normalize = bool(normalize)
        self.register_buffer("neighbours", neighbours)
        self.register_buffer("weights", weights / weights.amax(1, keepdim=True).clamp(min=1e-12))
        self.attention = nn.Linear(hidden_size + 1, hidden_size, bias=False)
        self.score = nn.Linear(hidden_size, 1, bias=False)
        self.combine = nn.Linear(2 * hidden_size, hidden_size, bias=False)
        self.dropout = nn.Dropout(dropout)

    def extra_repr(self):
        return f"hidden_size={self.hidden_size}, n_items={self.neighbours.shape[0]}, " \
               f"n_neighbours={self.neighbours.shape[1]}, normalize={self.normalize}"

    def forward(self, items, h, session, table):
        """The global node vectors ``h_g`` ``(N, d)``; see the class docstring."""
        _check_tensor("items", items, 1, integer=True)
        n_nodes, n_neighbours = items.shape[0], self.neighbours.shape[1]
        neighbours = self.neighbours.index_select(0, items)                              # (N, K)
        present = neighbours >= 0
        v = table.index_select(0, neighbours.clamp(min=0).reshape(-1)).view(n_nodes, n_neighbours, -1)
        if self.normalize:
            v = F.normalize(v, dim=2)
        w = self.weights.index_select(0, items).unsqueeze(2)                               # (N, K, 1)
        e = self.score(F.leaky_relu(self.attention(torch.cat([session.unsqueeze(1) * v, w], dim=2)), 0.2))
        e = e.squeeze(2).masked_fill(~present, float("-inf"))
        # an item without neighbours has a row of -inf: its weights become 0, not NaN
        pi = torch.softmax(e.masked_fill(~present.any(1, keepdim=True), 0.0), dim=1) * present
        a = torch.bmm(pi.unsqueeze(1), v).squeeze(1)
        return self.dropout(torch.relu(self.combine(torch.cat([h, a], dim=1))))
