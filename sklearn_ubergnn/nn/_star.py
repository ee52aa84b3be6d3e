"""SGNN-HN's star node and highway gate over flat batches of session graphs."""
import math

import torch
from torch import nn

from ._functional import segment_mean

__all__ = ["Highway", "StarNode"]


class StarNode(nn.Module):
    r"""A star node per session graph, linked to every node of its session (SGNN-HN).

    Long-range information in a session graph travels only along click transitions; the star
    node of each session is connected to all of its nodes and carries it in one hop
    (Pan et al., 2020, eqs. 6-9). It starts as the mean of the session's node vectors
    (:meth:`init`); after each propagation step of the graph network (:meth:`forward`)::

        beta_i = sigmoid((W_q h_i) . (W_k s) / sqrt(d))         # how much of the star node i takes
        h_i    = (1 - beta_i) h_i + beta_i s                      # satellite update
        s      = mean_i h_i                                       # star update, within the session

    where ``s`` is the star node of node ``i``'s session. All sums are segment operations
    over the flat batch (``node_graph``); there is no padding.

    SGNN-HN updates the star node with an attention over the session's nodes,
    ``s = sum_i softmax_i((W_q2 s) . (W_k2 h_i) / sqrt(d)) h_i``. We use the plain mean: its
    scores start near zero (uniform weights), and the L2 penalty drives ``W_q2`` and ``W_k2``
    to zero because each one's gradient is scaled by the other, so the attention never departs
    from the mean. On held-out prefixes of YOOCHOOSE 1/64 and of the MovieLens sessions the
    two gave the same P@20 and MRR@20 to the last digit at every epoch, and the two matrices
    only cost time (and float32 denormals); see ``benchmarks/RESULTS.md``.

    Parameters
    ----------
    hidden_size : int
        Size ``d`` of the node vectors.

    Attributes
    ----------
    gate_query, gate_key : torch.nn.Linear
        ``W_q``, ``W_k``: ``d -> d`` without bias.

    Shapes
    ------
    ``h (N, d) float``, ``star (B, d) float``, ``node_graph (N,) long`` (the session of every
    node, values in ``[0, B)``); :meth:`forward` returns ``(h (N, d), star (B, d))``.

    References
    ----------
    Z. Pan, F. Cai, W. Chen, H. Chen, M. de Rijke. Star Graph Neural Networks for Session-based
    Recommendation. CIKM 2020.

    Examples
    --------
    >>> import torch
    >>> star = StarNode(4)
    >>> h, node_graph = torch.randn(3, 4), torch.tensor([0, 0, 1])
    >>> s = star.init(h, node_graph, 2)
    >>> [tuple(t.shape) for t in star(h, s, node_graph)]
    [(3, 4), (2, 4)]
    """

    def __init__(self, hidden_size):
        super().__init__()
        if hidden_size < 1:
            raise ValueError(f"hidden_size must be >= 1; got {hidden_size}.")
        self.hidden_size = int(hidden_size)
        self.gate_query = nn.Linear(hidden_size, hidden_size, bias=False)
        self.gate_key = nn.Linear(hidden_size, hidden_size, bias=False)

    def extra_repr(self):
        return f"hidden_size={self.hidden_size}"

    @staticmethod
    def init(h, node_graph, n_graphs):
        """The initial star node of every session: the mean of its node vectors, ``(B, d)``."""
        return segment_mean(h, node_graph, n_graphs)

    def forward(self, h, star, node_graph):
        """One satellite update and one star update; see the class docstring."""
        scale = 1.0 / math.sqrt(self.hidden_size)
        star_of_node = star.index_select(0, node_graph)                                # (N, d)
        # W_k1 on the B star nodes, then gathered: the same as on the N gathered copies, B/N the work
        key_of_node = self.gate_key(star).index_select(0, node_graph)
        beta = torch.sigmoid((self.gate_query(h) * key_of_node).sum(1, keepdim=True) * scale)
        h = (1.0 - beta) * h + beta * star_of_node
        return h, segment_mean(h, node_graph, star.shape[0])


class Highway(nn.Module):
    r"""Highway gate between a graph network's input and output node vectors (SGNN-HN eq. 10).

    ``g = sigmoid(W [h_0; h_L])`` and ``out = g * h_0 + (1 - g) * h_L``: each node keeps as much
    of its own item vector as the gate lets through, which counters over-smoothing.

    Parameters
    ----------
    hidden_size : int
        Size ``d`` of the node vectors.

    Attributes
    ----------
    gate : torch.nn.Linear
        ``W``, ``2d -> d`` with bias.

    Shapes
    ------
    ``h0, h (N, d) float``, ``out (N, d)``.

    References
    ----------
    Z. Pan et al. Star Graph Neural Networks for Session-based Recommendation. CIKM 2020.
    R. K. Srivastava, K. Greff, J. Schmidhuber. Highway Networks. 2015.

    Examples
    --------
    >>> import torch
    >>> Highway(4)(torch.randn(3, 4), torch.randn(3, 4)).shape
    torch.Size([3, 4])
    """

    def __init__(self, hidden_size):
        super().__init__()
        if hidden_size < 1:
            raise ValueError(f"hidden_size must be >= 1; got {hidden_size}.")
        self.hidden_size = int(hidden_size)
        self.gate = nn.Linear(2 * hidden_size, hidden_size)

    def extra_repr(self):
        return f"hidden_size={self.hidden_size}"

    def forward(self, h0, h):
        """``g * h0 + (1 - g) * h`` with ``g = sigmoid(W [h0; h])``."""
        g = torch.sigmoid(self.gate(torch.cat([h0, h], dim=1)))
        return g * h0 + (1.0 - g) * h
