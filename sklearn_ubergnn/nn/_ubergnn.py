"""UBER-GNN: gated GNN over session graphs + DeepFM user vector + attention readout."""
import math

import torch
from torch import nn
from torch.nn import functional as F

from ._cosine import inverse_norms
from ._deepfm import DeepFM
from ._functional import _check_index_range, _check_size, _check_tensor, click_positions, segment_mean
from ._ggnn import GatedGraphNet
from ._global import GlobalItemGraph
from ._readout import READOUTS, SessionReadout
from ._softmax import ItemLogits
from ._star import Highway, StarNode

__all__ = ["UberGNN"]

INITS = ("uniform", "normal")


class UberGNN(nn.Module):
    r"""Session recommender network: next-item logits for a flat batch of session graphs.

    For a batch of ``B`` sessions given as one disjoint graph (see ``SessionGraphBatch``)::

        h0  = dropout(E[items])                          # shared item embedding, (N, d)
        h   = GatedGraphNet(h0, edges)                   # n_steps GGNN steps (+ star node)
        h   = Highway(h0, h)                             # only with highway=True
        h   = h + GlobalItemGraph(items, h0, mean(h0))   # only with global_neighbours
        U   = DeepFM(user_fields)                        # (B, M), only with field_sizes
        s_h = SessionReadout(h, alias, last_node, U)     # (B, d), readout variant
        logits = s_h E^T                                 # (B, n_items)
        logits[b, item of click j] += r[pos of j] + g.s_h  # only with repeat_bias

    The item embedding ``E`` is both the input layer and the output layer. Train with
    softmax cross-entropy over the logits: :meth:`item_logits` gives their factors, which
    :func:`~sklearn_ubergnn.nn.softmax_cross_entropy` turns into the loss without the passes of
    ``torch.nn.CrossEntropyLoss`` over the ``(B, n_items)`` block (the estimator trains that way).

    With ``normalize=True`` (NISER, Gupta et al., 2019) the item vectors are L2-normalised
    wherever they are used (the GNN input and the output layer), the session vector is
    L2-normalised too and ``logits = scale * cos(s_h, E_i)``, which reduces the popularity
    bias of the dot product.

    Parameters
    ----------
    n_items : int
        Size of the item vocabulary; items are codes ``0 .. n_items - 1`` (no padding item).
    hidden_size : int, default=100
        Size ``d`` of item, node and session vectors.
    n_steps : int, default=1
        Number of gated GNN propagation steps ``T``.
    readout : {"mean", "local", "user", "hybrid"}, default="local"
        The readout variant (V1-V4), see :class:`SessionReadout`. ``"user"`` and
        ``"hybrid"`` need ``field_sizes``.
    field_sizes : sequence of int or None, default=None
        Values per user field (0 = unknown included), for the DeepFM user encoder; ``None``
        means no user features.
    user_dim : int or None, default=None
        Size ``M`` of the user vector; ``None`` means ``hidden_size`` when ``field_sizes`` is
        given, 0 otherwise.
    fm_embedding_dim : int, default=10
        Size of DeepFM's field embeddings.
    dnn_layers : sequence of int, default=(64,)
        Hidden widths of DeepFM's DNN.
    dropout : float, default=0.0
        Dropout in DeepFM's DNN.
    attention_softmax : bool, default=True
        Softmax-normalise the attention weights within each session (``False``: SR-GNN's raw
        weights), see :class:`SessionReadout`.
    init : {"uniform", "normal"}, default="uniform"
        Initialisation of every parameter by :meth:`reset_parameters`: ``"uniform"`` draws
        from ``U(-1/sqrt(d), 1/sqrt(d))`` as SR-GNN's code does; ``"normal"`` draws from
        ``N(0, init_std^2)``, the Gaussian initialisation of the GGS-NN/UBER-GNN papers.
    init_std : float, default=0.1
        Standard deviation for ``init="normal"`` (ignored otherwise).
    normalize : bool, default=False
        NISER-style L2 normalisation of item and session vectors (above).
    scale : float, default=16.0
        Logit scale (NISER's ``sigma``) when ``normalize=True``; ignored otherwise.
    embedding_dropout : float, default=0.0
        Dropout on the item vectors entering the graph network (NISER+), in training mode.
    n_positions : int, default=0
        Reversed-position embeddings in the readout's attention keys; 0: none (see
        :class:`SessionReadout`).
    star_node : bool, default=False
        SGNN-HN's star node (:class:`StarNode`): updated after every propagation step, and
        part of the attention query.
    highway : bool, default=False
        SGNN-HN's highway gate (:class:`Highway`) between ``h0`` and the graph network's output.
    global_neighbours, global_weights : array-like of shape (n_items, K) or None, default=None
        GCE-GNN's global item graph (:class:`GlobalItemGraph`): the neighbours of every item
        over the training sessions (``-1`` pads) and their link weights; its output is added
        to the node vectors. None: no global graph.
    global_dropout : float, default=0.5
        Dropout on the global graph's node vectors in training.
    repeat_bias : bool, default=False
        Learned logit offsets for the items already in the session (RepeatNet's repeat mode,
        Ren et al., 2019, reduced to a shift of their logits): every click ``j`` of session
        ``b`` adds ``logit_scale * (r[min(n - j, P - 1)] + g . s_h)`` to the logit of its item,
        with ``P = max(n_positions, 1)`` offsets ``r`` by the click's position from the end and
        ``g . s_h`` a per-session shift (how much this session repeats); an item clicked twice
        gets both clicks' terms. Whether, how recently and in which sessions a session's own
        items come back is learned from the data: on click logs many next clicks are repeats,
        on ratings none are. ``r`` and ``g`` start at zero.

    Attributes
    ----------
    embedding : torch.nn.Embedding
        Item embedding ``E`` of shape ``(n_items, d)``, input and output layer.
    embedding_dropout : torch.nn.Dropout
    gnn : GatedGraphNet
    star_node : StarNode or None
    highway : Highway or None
    global_graph : GlobalItemGraph or None
    user_encoder : DeepFM or None
    session_readout : SessionReadout
    repeat_bias : torch.nn.Parameter or None
        The offsets ``r`` of shape ``(max(n_positions, 1),)``, in units of the cosine with
        ``normalize=True``; None without ``repeat_bias``.
    repeat_gate : torch.nn.Parameter or None
        ``g`` of shape ``(d,)`` (no constant: ``r`` holds the common level); None without
        ``repeat_bias``.

    Shapes
    ------
    ``items (N,) long``, ``edge_src, edge_dst (E,) long``, ``edge_weight_out, edge_weight_in
    (E,) float``, ``node_graph (N,) long``, ``last_node (B,) long`` (-1 = no known item),
    ``alias (L,) long``, ``alias_offsets (B+1,) long``, ``user_fields (B, F) long``,
    ``out (B, n_items)``; :meth:`session_vectors` returns ``(B, d)``.

    Notes
    -----
    - A session with ``last_node == -1`` (every item unseen, so no nodes) gets a zero session
      vector and all-zero logits: a uniform softmax, no NaN and no index error. Estimators
      rank such sessions by popularity instead.
    - SR-GNN reserves item 0 as padding and scores ``E[1:]``; flat batches need no padding,
      so all ``n_items`` rows are items.
    - ``node_graph``, ``node_offsets`` and ``edge_offsets`` are accepted so that a whole
      ``SessionGraphBatch.to_torch()`` dict can be passed as keyword arguments; they are
      checked, not needed by the maths (click sessions come from ``alias_offsets``).
    - Differences from SR-GNN: see :class:`GatedGraphNet` (no inner bias in ``H_in``,
      ``H_out``) and :class:`SessionReadout` (softmax attention by default).

    References
    ----------
    S. Wu et al. Session-based Recommendation with Graph Neural Networks. AAAI 2019.
    P. Gupta, D. Garg, P. Malhotra, L. Vig, G. Shroff. NISER: Normalized Item and Session
    Representations to Handle Popularity Bias. 2019.
    Z. Pan, F. Cai, W. Chen, H. Chen, M. de Rijke. Star Graph Neural Networks for Session-based
    Recommendation. CIKM 2020.
    Z. Wang et al. Global Context Enhanced Graph Neural Networks for Session-based
    Recommendation. SIGIR 2020.
    P. Ren et al. RepeatNet: A Repeat Aware Neural Recommendation Machine for Session-based
    Recommendation. AAAI 2019.

    Examples
    --------
    >>> import torch
    >>> net = UberGNN(n_items=5, hidden_size=8)
    >>> batch = dict(items=torch.tensor([1, 3]), node_graph=torch.tensor([0, 0]),
    ...              edge_src=torch.tensor([0]), edge_dst=torch.tensor([1]),
    ...              edge_weight_out=torch.tensor([1.0]), edge_weight_in=torch.tensor([1.0]),
    ...              alias=torch.tensor([0, 1]), alias_offsets=torch.tensor([0, 2]),
    ...              last_node=torch.tensor([1]))
    >>> net(**batch).shape
    torch.Size([1, 5])
    """

    def __init__(self, n_items, hidden_size=100, n_steps=1, readout="local", field_sizes=None,
                 user_dim=None, fm_embedding_dim=10, dnn_layers=(64,), dropout=0.0,
                 attention_softmax=True, init="uniform", init_std=0.1, normalize=False, scale=16.0,
                 embedding_dropout=0.0, n_positions=0, star_node=False, highway=False, global_neighbours=None,
                 global_weights=None, global_dropout=0.5, repeat_bias=False):
        super().__init__()
        if n_items < 1 or hidden_size < 1:
            raise ValueError(
                f"n_items and hidden_size must be >= 1; got n_items={n_items}, hidden_size={hidden_size}."
            )
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}; got {readout!r}.")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}; got {init!r}.")
        if init_std <= 0 or scale <= 0:
            raise ValueError(f"init_std and scale must be > 0; got init_std={init_std}, scale={scale}.")
        if not 0 <= embedding_dropout < 1 or n_positions < 0:
            raise ValueError(
                f"embedding_dropout must be in [0, 1) and n_positions >= 0; got embedding_dropout="
                f"{embedding_dropout}, n_positions={n_positions}."
            )
        if field_sizes is None:
            if user_dim:
                raise ValueError(
                    f"user_dim={user_dim} needs user features; got field_sizes=None. Pass field_sizes "
                    f"or leave user_dim=None."
                )
            if readout in ("user", "hybrid"):
                raise ValueError(
                    f"readout={readout!r} needs user features; got field_sizes=None. Pass field_sizes "
                    f"or use readout='local' or 'mean'."
                )
            user_dim = 0
        elif user_dim is None:
            user_dim = hidden_size
        elif user_dim < 1:
            raise ValueError(f"user_dim must be >= 1 when field_sizes is given; got user_dim={user_dim}.")
        self.n_items = int(n_items)
        self.hidden_size = int(hidden_size)
        self.n_steps = int(n_steps)
        self.readout = readout
        self.field_sizes = None if field_sizes is None else tuple(int(s) for s in field_sizes)
        self.user_dim = int(user_dim)
        self.init = init
        self.init_std = float(init_std)
        self.normalize = bool(normalize)
        self.scale = float(scale)
        self.embedding = nn.Embedding(n_items, hidden_size)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.gnn = GatedGraphNet(hidden_size, n_steps=n_steps)
        self.star_node = StarNode(hidden_size) if star_node else None
        self.highway = Highway(hidden_size) if highway else None
        if (global_neighbours is None) != (global_weights is None):
            raise ValueError("global_neighbours and global_weights go together: pass both or neither.")
        if global_neighbours is not None and len(global_neighbours) != n_items:
            raise ValueError(
                f"global_neighbours must have one row per item ({n_items}); got {len(global_neighbours)}."
            )
        self.global_graph = (
            None if global_neighbours is None
            else GlobalItemGraph(hidden_size, global_neighbours, global_weights, global_dropout, normalize)
        )
        self.user_encoder = (
            None if field_sizes is None
            else DeepFM(field_sizes, fm_embedding_dim, self.user_dim, hidden_layers=dnn_layers, dropout=dropout)
        )
        self.session_readout = SessionReadout(hidden_size, user_dim=self.user_dim, readout=readout,
                                              attention_softmax=attention_softmax, n_positions=n_positions,
                                              star=star_node and readout != "mean")
        self.repeat_bias = nn.Parameter(torch.zeros(max(int(n_positions), 1))) if repeat_bias else None
        self.repeat_gate = nn.Parameter(torch.zeros(hidden_size)) if repeat_bias else None
        self.reset_parameters()

    @property
    def logit_scale(self):
        """Factor of the logits: ``scale`` with ``normalize=True``, else 1."""
        return self.scale if self.normalize else 1.0

    def reset_parameters(self):
        """Re-initialise every parameter with the scheme chosen by ``init``; ``repeat_bias``'s at zero.

        The other parameters draw the same numbers with or without ``repeat_bias``.
        """
        bound = 1.0 / math.sqrt(self.hidden_size)
        for name, p in self.named_parameters():
            if name in ("repeat_bias", "repeat_gate"):
                nn.init.zeros_(p)
            elif self.init == "uniform":
                nn.init.uniform_(p, -bound, bound)
            else:
                nn.init.normal_(p, std=self.init_std)

    def extra_repr(self):
        return (f"n_items={self.n_items}, hidden_size={self.hidden_size}, readout={self.readout!r}, "
                f"user_dim={self.user_dim}, init={self.init!r}, normalize={self.normalize}")

    def item_embeddings(self):
        """Output-layer item vectors ``(n_items, d)``; unit rows with ``normalize=True``.

        ``logits = logit_scale * session_vectors(...) @ item_embeddings().T``.
        """
        weight = self.embedding.weight
        return weight * inverse_norms(weight).unsqueeze(1) if self.normalize else weight

    def session_vectors(self, items, edge_src, edge_dst, edge_weight_out, edge_weight_in, node_graph,
                        last_node, alias, alias_offsets, user_fields=None, node_offsets=None,
                        edge_offsets=None):
        """Session vectors ``s_h`` of shape ``(B, d)`` (unit rows, or 0, with ``normalize=True``).

        Takes the same arguments as :meth:`forward`; use it to rank items in chunks or to
        embed sessions without building the ``(B, n_items)`` logits.
        """
        self._check_batch(items, node_graph, last_node, user_fields, node_offsets, edge_offsets)
        h0 = self.embedding.weight.index_select(0, items)
        if self.normalize:  # the rows of item_embeddings(), without normalising the whole table
            h0 = F.normalize(h0, dim=1)
        h0 = self.embedding_dropout(h0)
        star = None
        if self.star_node is None:
            h = self.gnn(h0, edge_src, edge_dst, edge_weight_out, edge_weight_in)
        else:  # SGNN-HN: a star-node update after every propagation step
            self.gnn.check_inputs(h0, edge_src, edge_dst, edge_weight_out, edge_weight_in)
            h, star = h0, StarNode.init(h0, node_graph, last_node.shape[0])
            for _ in range(self.n_steps):
                h = self.gnn.step(h, edge_src, edge_dst, edge_weight_out, edge_weight_in)
                h, star = self.star_node(h, star, node_graph)
        if self.highway is not None:
            h = self.highway(h0, h)
        if self.global_graph is not None:  # GCE-GNN: what all training sessions say about each item
            session = segment_mean(h0, node_graph, last_node.shape[0]).index_select(0, node_graph)
            h = h + self.global_graph(items, h0, session, self.embedding.weight)
        user = None if self.user_encoder is None else self.user_encoder(user_fields)
        s_h = self.session_readout(h, alias, alias_offsets, last_node, user,
                                   star if self.session_readout.star else None)
        return F.normalize(s_h, dim=1) if self.normalize else s_h

    def item_logits(self, items, edge_src, edge_dst, edge_weight_out, edge_weight_in, node_graph, last_node,
                    alias, alias_offsets, user_fields=None, node_offsets=None, edge_offsets=None):
        """The factors of :meth:`forward`'s logits (:class:`~sklearn_ubergnn.nn.ItemLogits`), without the ``(B, n_items)`` block.

        :func:`~sklearn_ubergnn.nn.softmax_cross_entropy` trains on them in one fused pass; ``.logits()`` gives the logits.
        """
        s_h = self.session_vectors(items, edge_src, edge_dst, edge_weight_out, edge_weight_in, node_graph,
                                   last_node, alias, alias_offsets, user_fields, node_offsets, edge_offsets)
        return ItemLogits(s_h, self.embedding.weight, self.scale, self.normalize,
                          sparse=self._repeat_terms(items, alias, alias_offsets, s_h))

    def _repeat_terms(self, items, alias, alias_offsets, s_h):
        """``repeat_bias``'s logit terms ``(session, item, offset)``, one per click; None without it."""
        repeat_bias = getattr(self, "repeat_bias", None)  # absent from networks pickled before it
        if repeat_bias is None:
            return None
        session, position = click_positions(alias_offsets, alias.shape[0], repeat_bias.shape[0] - 1)
        shift = s_h @ self.repeat_gate                                         # (B,), per session
        offset = (repeat_bias.index_select(0, position) + shift.index_select(0, session)) * self.logit_scale
        return session, items.index_select(0, alias), offset

    def forward(self, items, edge_src, edge_dst, edge_weight_out, edge_weight_in, node_graph, last_node,
                alias, alias_offsets, user_fields=None, node_offsets=None, edge_offsets=None):
        """Next-item logits ``(B, n_items)``; the arguments are ``SessionGraphBatch`` fields.

        With ``normalize=True``, ``scale * s_h . (E_i / |E_i|)`` with a closed-form backward
        (:func:`~sklearn_ubergnn.nn.cosine_logits`): no normalised copy of the table.
        """
        return self.item_logits(items, edge_src, edge_dst, edge_weight_out, edge_weight_in, node_graph,
                                last_node, alias, alias_offsets, user_fields, node_offsets, edge_offsets).logits()

    def proba(self, **batch):
        """Next-item probabilities ``(B, n_items) float64``: the softmax of :meth:`forward`'s logits.

        Takes the same arguments as :meth:`forward`.
        """
        return torch.softmax(self(**batch).double(), dim=1)

    def _check_batch(self, items, node_graph, last_node, user_fields, node_offsets, edge_offsets):
        _check_tensor("items", items, 1, integer=True)
        _check_tensor("node_graph", node_graph, 1, integer=True)
        _check_tensor("last_node", last_node, 1, integer=True)
        n_nodes, n_sessions = items.shape[0], last_node.shape[0]
        _check_size("node_graph", node_graph, 0, n_nodes, f"one entry per node, {n_nodes} in items")
        _check_index_range("items", items, 0, self.n_items, f"item codes, n_items={self.n_items}")
        _check_index_range("node_graph", node_graph, 0, n_sessions,
                           f"session indices, {n_sessions} sessions in last_node")
        for name, offsets in (("node_offsets", node_offsets), ("edge_offsets", edge_offsets)):
            if offsets is not None:
                _check_tensor(name, offsets, 1, integer=True)
                _check_size(name, offsets, 0, n_sessions + 1,
                            f"n_sessions + 1, with {n_sessions} sessions in last_node")
        if self.user_encoder is None:
            if user_fields is not None:
                raise ValueError(
                    f"user_fields must be None: this network has no user features (field_sizes=None); got "
                    f"a tensor of shape {tuple(user_fields.shape)}."
                )
        elif user_fields is None:
            raise ValueError(
                f"user_fields is required: this network was built with field_sizes={list(self.field_sizes)};"
                f" got None."
            )
        else:
            _check_tensor("user_fields", user_fields, 2, integer=True)
            _check_size("user_fields", user_fields, 0, n_sessions,
                        f"one row per session, {n_sessions} in last_node")
