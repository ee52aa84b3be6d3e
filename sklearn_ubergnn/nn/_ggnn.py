"""Gated graph neural network (GGS-NN as used by SR-GNN) over flat session-graph batches."""
import math

import torch
from torch import nn

from ._functional import _check_index_range, _check_size, _check_tensor, propagate

__all__ = ["GatedGraphNet"]


class GatedGraphNet(nn.Module):
    r"""Gated graph neural network: ``n_steps`` rounds of weighted message passing + a GRU update.

    Each step aggregates the in- and out-neighbours of every node of a flat batch of session
    graphs and updates the node with a GRU cell (Li et al., 2016; Wu et al., 2019, eqs. 1-5)::

        a_in  = A_in  (h H_in)  + b_in            # node i aggregates its predecessors
        a_out = A_out (h H_out) + b_out           # node i aggregates its successors
        a     = [a_in ; a_out]                    # (N, 2d)
        h     = GRUCell(a, h)                     # z = s(W_z a + U_z h), r = s(W_r a + U_r h),
                                                  # n = tanh(W_n a + r * (U_n h)), h = (1 - z) n + z h

    The connection matrices are never built. With the edge list of the batch (one entry per
    distinct directed edge ``src -> dst``), ``A_in[dst, src] = edge_weight_in`` and
    ``A_out[src, dst] = edge_weight_out``, so in-messages flow ``src -> dst`` weighted by
    ``edge_weight_in`` and out-messages flow ``dst -> src`` weighted by ``edge_weight_out``,
    each one ``index_add_``. The update is :class:`torch.nn.GRUCell`, whose reset gate, update
    gate, candidate and interpolation are exactly SR-GNN's eqs. 2-5.

    Parameters
    ----------
    hidden_size : int
        Size ``d`` of the node vectors.
    n_steps : int, default=1
        Number of propagation steps ``T`` (the same weights are used at every step).

    Attributes
    ----------
    linear_in, linear_out : torch.nn.Linear
        ``H_in`` and ``H_out``, ``d -> d`` without bias.
    bias_in, bias_out : torch.nn.Parameter of shape (d,)
        ``b_in`` and ``b_out``, added to every node (also to nodes without in-/out-edges).
    gru : torch.nn.GRUCell
        The node update, input size ``2d``, hidden size ``d``.

    Shapes
    ------
    ``h (N, d) float``, ``edge_src, edge_dst (E,) long``, ``edge_weight_out, edge_weight_in (E,)
    float``, ``out (N, d)``.

    Notes
    -----
    SR-GNN's code gives ``H_in``/``H_out`` a bias of their own inside the product
    (``A (h H + c) + b``); we follow the paper's equation (``A (h H) + b``). The inner bias is
    multiplied by the row sums of ``A`` (1 for nodes with edges, 0 otherwise), so the two
    forms differ only by a bias on nodes with edges.

    References
    ----------
    Y. Li, D. Tarlow, M. Brockschmidt, R. Zemel. Gated Graph Sequence Neural Networks. ICLR 2016.
    S. Wu, Y. Tang, Y. Zhu, L. Wang, X. Xie, T. Tan. Session-based Recommendation with Graph
    Neural Networks. AAAI 2019.

    Examples
    --------
    >>> import torch
    >>> net = GatedGraphNet(4, n_steps=2)
    >>> h = torch.randn(3, 4)
    >>> src, dst = torch.tensor([0, 1]), torch.tensor([1, 2])
    >>> w = torch.ones(2)
    >>> net(h, src, dst, w, w).shape
    torch.Size([3, 4])
    """

    def __init__(self, hidden_size, n_steps=1):
        super().__init__()
        if hidden_size < 1 or n_steps < 0:
            raise ValueError(
                f"hidden_size must be >= 1 and n_steps >= 0; got hidden_size={hidden_size}, "
                f"n_steps={n_steps}."
            )
        self.hidden_size = int(hidden_size)
        self.n_steps = int(n_steps)
        self.linear_in = nn.Linear(hidden_size, hidden_size, bias=False)
        self.linear_out = nn.Linear(hidden_size, hidden_size, bias=False)
        self.bias_in = nn.Parameter(torch.empty(hidden_size))
        self.bias_out = nn.Parameter(torch.empty(hidden_size))
        self.gru = nn.GRUCell(2 * hidden_size, hidden_size)
        self.reset_parameters()

    def reset_parameters(self):
        """Re-initialise every parameter: uniform(-1/sqrt(d), 1/sqrt(d)), as torch's GRUCell."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self):
        return f"hidden_size={self.hidden_size}, n_steps={self.n_steps}"

    def forward(self, h, edge_src, edge_dst, edge_weight_out, edge_weight_in):
        """Run ``n_steps`` propagation steps; see the class docstring for the equations."""
        self.check_inputs(h, edge_src, edge_dst, edge_weight_out, edge_weight_in)
        for _ in range(self.n_steps):
            h = self.step(h, edge_src, edge_dst, edge_weight_out, edge_weight_in)
        return h

    def check_inputs(self, h, edge_src, edge_dst, edge_weight_out, edge_weight_in):
        """Raise a ValueError naming the first input of :meth:`forward` of the wrong kind or shape."""
        _check_tensor("h", h, 2, integer=False)
        _check_size("h", h, 1, self.hidden_size, "hidden_size")
        _check_tensor("edge_src", edge_src, 1, integer=True)
        _check_tensor("edge_dst", edge_dst, 1, integer=True)
        _check_tensor("edge_weight_out", edge_weight_out, 1, integer=False)
        _check_tensor("edge_weight_in", edge_weight_in, 1, integer=False)
        n_edges = edge_src.shape[0]
        for name, t in (("edge_dst", edge_dst), ("edge_weight_out", edge_weight_out),
                        ("edge_weight_in", edge_weight_in)):
            _check_size(name, t, 0, n_edges, "one entry per edge, as edge_src")
        n_nodes = h.shape[0]
        _check_index_range("edge_src", edge_src, 0, n_nodes, f"node indices of h, which has {n_nodes} rows")
        _check_index_range("edge_dst", edge_dst, 0, n_nodes, f"node indices of h, which has {n_nodes} rows")

    def step(self, h, edge_src, edge_dst, edge_weight_out, edge_weight_in):
        """One propagation step, unchecked (:meth:`forward` checks its inputs once for all steps).

        Models that interleave the steps with other updates (SGNN-HN's star node) call it
        directly.
        """
        a_in = propagate(self.linear_in(h), edge_src, edge_dst, edge_weight_in) + self.bias_in
        a_out = propagate(self.linear_out(h), edge_dst, edge_src, edge_weight_out) + self.bias_out
        return self.gru(torch.cat([a_in, a_out], dim=1), h)
