"""Session readout: node vectors of a flat batch of session graphs -> one vector per session."""
import torch
from torch import nn

from ._functional import (
    _check_index_range,
    _check_size,
    _check_tensor,
    click_positions,
    segment_softmax,
    segment_sum,
)

__all__ = ["SessionReadout"]

READOUTS = ("mean", "local", "user", "hybrid")


class SessionReadout(nn.Module):
    r"""Pool the node vectors of each session into a session vector, with optional user context.

    A session of clicks ``1 .. n`` (repeats kept) has click vectors ``v_i = h[alias_i]`` and a
    local vector ``s_c = v_n`` (its last click). The global vector ``s_g`` pools the click
    vectors and the session vector is a linear map of the pieces (UBER-GNN; SR-GNN eqs. 6-7)::

        lambda_i = q^T sigmoid(W1 x + W2 k_i + c)        # x = s_c, U or [U; s_c], see readout
        alpha    = softmax_i(lambda)                      # within the session (attention_softmax)
        s_g      = sum_i alpha_i v_i
        s_h      = W3 [s_c; s_g; U]                       # U omitted when user_dim == 0

    The key of a click is its vector, ``k_i = v_i``, or with ``n_positions > 0`` its vector plus
    the embedding of its distance from the end of the session, ``k_i = v_i + P[min(n - i,
    n_positions - 1)]`` (reversed positions, as NISER+, GCE-GNN and SGNN-HN); with ``star=True``
    the query also holds SGNN-HN's star node ``z`` of the session: ``W1 x + W_z z``.

    ``readout`` picks the variant:

    - ``"mean"`` (V1): ``s_g = mean_i v_i``, no attention.
    - ``"local"`` (V2): query ``x = s_c``; with ``user_dim=0`` and ``attention_softmax=False``
      this is exactly SR-GNN's readout.
    - ``"user"`` (V3): query ``x = U``.
    - ``"hybrid"`` (V4): query ``x = [U; s_c]``.

    Pooling runs over click positions (``alias``), as in SR-GNN: an item clicked twice counts
    twice, in the attention and in the mean alike. All sums are ``index_add_`` over the flat
    batch; there is no padding.

    Parameters
    ----------
    hidden_size : int
        Size ``d`` of the node and session vectors.
    user_dim : int, default=0
        Size ``M`` of the user vector ``U``; 0 means no user features.
    readout : {"mean", "local", "user", "hybrid"}, default="hybrid"
        The pooling variant (above). ``"user"`` and ``"hybrid"`` need ``user_dim > 0``.
    attention_softmax : bool, default=True
        Normalise the attention scores with a softmax within each session, so the weights of
        a session sum to 1. ``False`` uses the raw scores ``lambda_i`` as weights, as SR-GNN's
        paper and code do.
    n_positions : int, default=0
        Number of reversed-position embeddings in the keys (above); 0: none. Unused by
        ``"mean"``.
    star : bool, default=False
        Take each session's star node (``forward``'s ``star``) into the query. Unused by
        ``"mean"``.

    Attributes
    ----------
    query : torch.nn.Linear or None
        ``W1`` with the bias ``c``; input size ``d``, ``M`` or ``M + d`` by readout.
    key : torch.nn.Linear or None
        ``W2``, ``d -> d`` without bias.
    score : torch.nn.Linear or None
        ``q``, ``d -> 1`` without bias.
    position : torch.nn.Embedding or None
        ``P``, ``(n_positions, d)``.
    star_key : torch.nn.Linear or None
        ``W_z``, ``d -> d`` without bias.
    transform : torch.nn.Linear
        ``W3`` (with bias), ``2d + M -> d``.

    Shapes
    ------
    ``h (N, d) float``, ``alias (L,) long``, ``alias_offsets (B+1,) long``, ``last_node (B,)
    long``, ``user (B, M) float``, ``star (B, d) float``, ``out (B, d)``; with ``return_attention=True`` also the
    weights ``(L,)`` of every click (``1 / n`` for ``"mean"``).

    Notes
    -----
    A session with ``last_node == -1`` has no known item (and, by the batch contract, no
    clicks): its ``s_c`` and ``s_g`` are zero and its output row is set to zero, so
    downstream scores are all equal and no index error or NaN arises.

    SR-GNN's code puts a bias in both ``W1`` and ``W2``; one bias ``c`` is equivalent. Its
    code also orders the concatenation as ``[s_g; s_c]``; the order only permutes the
    columns of ``W3``.

    The softmax default departs from SR-GNN and the UBER-GNN paper, which use unnormalised
    weights; normalised weights keep ``s_g`` on the scale of the item vectors whatever the
    session length and make the weights readable as an attention distribution.

    References
    ----------
    S. Wu et al. Session-based Recommendation with Graph Neural Networks. AAAI 2019.

    Examples
    --------
    >>> import torch
    >>> readout = SessionReadout(4, readout="local")
    >>> h = torch.randn(3, 4)                      # session 0: nodes 0, 1; session 1: node 2
    >>> alias = torch.tensor([0, 1, 0, 2])         # clicks: [n0, n1, n0] and [n2]
    >>> alias_offsets = torch.tensor([0, 3, 4])
    >>> last_node = torch.tensor([0, 2])
    >>> readout(h, alias, alias_offsets, last_node).shape
    torch.Size([2, 4])
    """

    def __init__(self, hidden_size, user_dim=0, readout="hybrid", attention_softmax=True, n_positions=0,
                 star=False):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}; got {readout!r}.")
        if hidden_size < 1 or user_dim < 0 or n_positions < 0:
            raise ValueError(
                f"hidden_size must be >= 1, user_dim >= 0 and n_positions >= 0; got hidden_size={hidden_size}, "
                f"user_dim={user_dim}, n_positions={n_positions}."
            )
        if readout in ("user", "hybrid") and user_dim == 0:
            raise ValueError(
                f"readout={readout!r} attends with the user vector and needs user_dim > 0; got "
                f"user_dim=0. Pass user features or use readout='local' or 'mean'."
            )
        self.hidden_size = int(hidden_size)
        self.user_dim = int(user_dim)
        self.readout = readout
        self.attention_softmax = bool(attention_softmax)
        self.n_positions = int(n_positions)
        self.star = bool(star)
        d = self.hidden_size
        query_dim = {"mean": 0, "local": d, "user": self.user_dim, "hybrid": self.user_dim + d}[readout]
        if query_dim:
            self.query = nn.Linear(query_dim, d, bias=True)
            self.key = nn.Linear(d, d, bias=False)
            self.score = nn.Linear(d, 1, bias=False)
        else:
            self.query = self.key = self.score = None
        attends = query_dim > 0
        self.position = nn.Embedding(self.n_positions, d) if attends and self.n_positions else None
        self.star_key = nn.Linear(d, d, bias=False) if attends and self.star else None
        self.transform = nn.Linear(2 * d + self.user_dim, d, bias=True)
        self.reset_parameters()

    def reset_parameters(self):
        """Re-initialise the linear layers with torch's default."""
        for layer in (self.query, self.key, self.score, self.position, self.star_key, self.transform):
            if layer is not None:
                layer.reset_parameters()

    def extra_repr(self):
        return (f"hidden_size={self.hidden_size}, user_dim={self.user_dim}, readout={self.readout!r}, "
                f"attention_softmax={self.attention_softmax}, n_positions={self.n_positions}, star={self.star}")

    def _check_inputs(self, h, alias, alias_offsets, last_node, user, star):
        _check_tensor("h", h, 2, integer=False)
        _check_size("h", h, 1, self.hidden_size, "hidden_size")
        _check_tensor("alias", alias, 1, integer=True)
        _check_tensor("alias_offsets", alias_offsets, 1, integer=True)
        _check_tensor("last_node", last_node, 1, integer=True)
        n_sessions, n_nodes = last_node.shape[0], h.shape[0]
        _check_size("alias_offsets", alias_offsets, 0, n_sessions + 1,
                    f"n_sessions + 1, with {n_sessions} sessions in last_node")
        _check_session_rows("user", user, self.user_dim, "user_dim", f"user_dim={self.user_dim}", n_sessions)
        _check_session_rows("star", star, self.hidden_size if self.star else 0, "hidden_size",
                            f"star={self.star}", n_sessions)
        _check_index_range("alias", alias, 0, n_nodes, f"node indices of h, which has {n_nodes} rows")
        _check_index_range("last_node", last_node, -1, n_nodes,
                           f"node indices of h, which has {n_nodes} rows, or -1 for no known item")
        if alias_offsets.device.type == "cpu" and n_sessions + 1 == alias_offsets.shape[0]:
            first, last = int(alias_offsets[0]), int(alias_offsets[-1])
            if first != 0 or last != alias.shape[0] or bool((alias_offsets.diff() < 0).any()):
                raise ValueError(
                    f"alias_offsets must be non-decreasing from 0 to len(alias) = {alias.shape[0]}; got "
                    f"values from {first} to {last}."
                )

    def forward(self, h, alias, alias_offsets, last_node, user=None, star=None, *, return_attention=False):
        """Pool node vectors into session vectors; see the class docstring for the equations."""
        self._check_inputs(h, alias, alias_offsets, last_node, user, star)
        n_sessions, n_clicks = last_node.shape[0], alias.shape[0]
        # session of every click position, from the click ranges (no host sync with output_size)
        click_graph, reversed_position = click_positions(alias_offsets, n_clicks,
                                                         max(self.n_positions - 1, 0))
        v = h.index_select(0, alias)                                           # (L, d)
        has_item = last_node >= 0
        padded = torch.cat([h, h.new_zeros(1, h.shape[1])])                    # row N = zeros
        s_c = padded.index_select(0, torch.where(has_item, last_node, h.shape[0]))   # (B, d)
        if self.readout == "mean":
            count = h.new_zeros(n_sessions).index_add_(0, click_graph, h.new_ones(n_clicks))
            weight = 1.0 / count.index_select(0, click_graph)
        else:
            if self.readout == "local":
                x = s_c
            elif self.readout == "user":
                x = user
            else:                                                              # hybrid: [U; s_c]
                x = torch.cat([user, s_c], dim=1)
            q = self.query(x)                                                  # (B, d)
            if self.star_key is not None:
                q = q + self.star_key(star)
            q = q.index_select(0, click_graph)                                 # (L, d)
            k = v if self.position is None else v + self.position(reversed_position)
            weight = self.score(torch.sigmoid(q + self.key(k))).squeeze(1)     # (L,)
            if self.attention_softmax:
                weight = segment_softmax(weight, click_graph, n_sessions)
        s_g = segment_sum(weight.unsqueeze(1) * v, click_graph, n_sessions)    # (B, d)
        parts = [s_c, s_g] if user is None else [s_c, s_g, user]
        s_h = self.transform(torch.cat(parts, dim=1))
        s_h = torch.where(has_item.unsqueeze(1), s_h, s_h.new_zeros(()))
        return (s_h, weight) if return_attention else s_h


def _check_session_rows(name, x, width, width_name, built, n_sessions):
    """An optional per-session input: a ``(n_sessions, width)`` float tensor, or None when ``width`` is 0."""
    if not width:
        if x is not None:
            raise ValueError(
                f"{name} must be None: this readout was built with {built}; got a tensor of shape "
                f"{tuple(x.shape)}."
            )
        return
    if x is None:
        raise ValueError(f"{name} is required: this readout was built with {built}; got None.")
    _check_tensor(name, x, 2, integer=False)
    _check_size(name, x, 0, n_sessions, f"one row per session, {n_sessions} in last_node")
    _check_size(name, x, 1, width, width_name)
