"""GRU4Rec: a recurrent network over the clicks of a session, scoring every item of the catalogue."""
import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ._functional import _check_index_range, _check_size, _check_tensor
from ._softmax import ItemLogits

__all__ = ["GRU4Rec"]


class GRU4Rec(nn.Module):
    r"""Session recommender network of Hidasi et al. (2016): a GRU over the clicks, a softmax over items.

    For a batch of ``B`` sessions, session ``b`` being the item codes ``items[b, :lengths[b]]``
    in click order::

        x_t    = dropout(E[item_t])                         # item embedding, (d_e,)
        h_t    = GRU(x_t, h_{t-1}),  h_0 = 0                # n_layers stacked GRU layers, (d,)
        s      = h_L of the top layer                       # session vector, (d,)
        logits = W dropout(s) + c                           # (n_items,)

    with the usual GRU cell (``torch.nn.GRU``): update gate
    :math:`z_t = \sigma(W_z x_t + U_z h_{t-1})`, reset gate :math:`r_t = \sigma(W_r x_t + U_r
    h_{t-1})`, candidate :math:`\tilde h_t = \tanh(W x_t + U (r_t \odot h_{t-1}))` and
    :math:`h_t = (1 - z_t) h_{t-1} + z_t \tilde h_t`. Train with softmax cross-entropy over the
    logits: :meth:`item_logits` gives their factors, which
    :func:`~sklearn_ubergnn.nn.softmax_cross_entropy` turns into the loss in one fused pass (the
    estimator trains that way).

    The sessions are packed (``pack_padded_sequence``), so padding costs no recurrent step and
    the state of session ``b`` is exactly its state after its last click, whatever the other
    sessions of the batch.

    Parameters
    ----------
    n_items : int
        Size of the item vocabulary; items are codes ``0 .. n_items - 1`` (no padding item).
    hidden_size : int, default=100
        Size ``d`` of the GRU state (the session vector).
    embedding_size : int or None, default=None
        Size ``d_e`` of the input item embedding; None means ``hidden_size``.
    n_layers : int, default=1
        Number of stacked GRU layers.
    dropout : float, default=0.0
        Dropout on the item embeddings, between GRU layers and on the session vector before the
        output layer.

    Attributes
    ----------
    embedding : torch.nn.Embedding
        Input item embedding ``E`` of shape ``(n_items, d_e)``.
    gru : torch.nn.GRU
        The recurrent layers (``batch_first=True``).
    output : torch.nn.Linear
        Output layer ``W, c`` of shape ``(n_items, d)`` and ``(n_items,)``: one score per item.

    Shapes
    ------
    ``items (B, T) long`` (codes, right-padded with any valid code), ``lengths (B,) long``
    (``0 <= lengths <= T``), ``out (B, n_items)``; :meth:`session_vectors` returns ``(B, d)``.

    Notes
    -----
    - The paper feeds one-hot item vectors into the GRU. A one-hot input times the GRU's input
      weights is a lookup of an ``(n_items, 3 d)`` table, so it is an embedding folded into the
      first layer; like later reproductions we learn a separate, smaller embedding ``E``.
    - A session of length 0 (every item unseen) gets a zero session vector, so its logits are
      the output bias ``c``; estimators rank such sessions by popularity instead.
    - ``lengths`` is copied to the CPU (``B`` integers) because PyTorch's packed sequences keep
      their batch sizes on the host.

    References
    ----------
    B. Hidasi, A. Karatzoglou, L. Baltrunas, D. Tikk. Session-based Recommendations with
    Recurrent Neural Networks. ICLR 2016.

    Examples
    --------
    >>> import torch
    >>> net = GRU4Rec(n_items=5, hidden_size=8)
    >>> items = torch.tensor([[1, 3, 2], [4, 0, 0]])
    >>> net(items, lengths=torch.tensor([3, 1])).shape
    torch.Size([2, 5])
    """

    def __init__(self, n_items, hidden_size=100, embedding_size=None, n_layers=1, dropout=0.0):
        super().__init__()
        embedding_size = hidden_size if embedding_size is None else embedding_size
        if min(n_items, hidden_size, embedding_size, n_layers) < 1:
            raise ValueError(
                f"n_items, hidden_size, embedding_size and n_layers must be >= 1; got n_items={n_items}, "
                f"hidden_size={hidden_size}, embedding_size={embedding_size}, n_layers={n_layers}."
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1); got {dropout}.")
        self.n_items = int(n_items)
        self.hidden_size = int(hidden_size)
        self.embedding_size = int(embedding_size)
        self.n_layers = int(n_layers)
        self.dropout = float(dropout)
        self.embedding = nn.Embedding(self.n_items, self.embedding_size)
        self.input_dropout = nn.Dropout(self.dropout)
        self.gru = nn.GRU(self.embedding_size, self.hidden_size, num_layers=self.n_layers, batch_first=True,
                          dropout=self.dropout if self.n_layers > 1 else 0.0)
        self.state_dropout = nn.Dropout(self.dropout)
        self.output = nn.Linear(self.hidden_size, self.n_items)
        self.reset_parameters()

    def reset_parameters(self):
        """Embedding ``U(-1/sqrt(d_e), 1/sqrt(d_e))``; GRU and output layer: PyTorch's defaults."""
        bound = 1.0 / math.sqrt(self.embedding_size)
        nn.init.uniform_(self.embedding.weight, -bound, bound)
        self.gru.reset_parameters()
        self.output.reset_parameters()

    def extra_repr(self):
        return (f"n_items={self.n_items}, hidden_size={self.hidden_size}, embedding_size={self.embedding_size}, "
                f"n_layers={self.n_layers}, dropout={self.dropout}")

    def session_vectors(self, items, lengths):
        """Session vectors ``s`` of shape ``(B, d)``: the top GRU state after each session's last click."""
        self._check_batch(items, lengths)
        n_sessions = items.shape[0]
        if n_sessions == 0 or items.shape[1] == 0:
            return self.output.weight.new_zeros((n_sessions, self.hidden_size))
        x = self.input_dropout(self.embedding(items))
        packed = pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        _, h_n = self.gru(packed)  # (n_layers, B, d), in input order
        return h_n[-1] * (lengths > 0).unsqueeze(1).to(h_n.dtype)

    def item_logits(self, items, lengths):
        """The factors of :meth:`forward`'s logits (:class:`~sklearn_ubergnn.nn.ItemLogits`), for the loss
        fused with the output layer (:func:`~sklearn_ubergnn.nn.softmax_cross_entropy`)."""
        return ItemLogits(self.state_dropout(self.session_vectors(items, lengths)), self.output.weight,
                          bias=self.output.bias)

    def forward(self, items, lengths):
        """Next-item logits ``(B, n_items)``."""
        return self.item_logits(items, lengths).logits()

    def proba(self, items, lengths):
        """Next-item probabilities ``(B, n_items) float64``: the softmax of :meth:`forward`'s logits."""
        return torch.softmax(self(items, lengths).double(), dim=1)

    def _check_batch(self, items, lengths):
        _check_tensor("items", items, 2, integer=True)
        _check_tensor("lengths", lengths, 1, integer=True)
        _check_size("lengths", lengths, 0, items.shape[0], f"one entry per session, {items.shape[0]} rows in items")
        _check_index_range("items", items, 0, self.n_items, f"item codes, n_items={self.n_items}")
        _check_index_range("lengths", lengths, 0, items.shape[1] + 1,
                           f"session lengths, at most the {items.shape[1]} columns of items")
