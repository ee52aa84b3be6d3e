"""Disentangled graph convolution (DisenGCN routing) and bipartite link-prediction networks.

Everything here works on the flat directed edge list of a graph (``edge_src -> edge_dst``): message
passing is ``index_add_`` over the edges, never a dense adjacency, so the memory of a layer grows
with the number of edges times the embedding size.
"""
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from ._functional import _check_index_range, _check_size, _check_tensor, propagate, segment_softmax
from ._softmax import ItemLogits, softmax_cross_entropy

__all__ = [
    "BPRLoss",
    "BehaviorMLP",
    "DisentangledConv",
    "DisentangledGraphNet",
    "DistillationLoss",
    "LightGCN",
    "SampledSoftmaxLoss",
    "channel_distance_correlation",
]

_EPS = 1e-12


def _check_edges(n_nodes, edge_src, edge_dst, edge_weight):
    _check_tensor("edge_src", edge_src, 1, integer=True)
    _check_tensor("edge_dst", edge_dst, 1, integer=True)
    _check_size("edge_dst", edge_dst, 0, edge_src.shape[0], "one entry per edge, as edge_src")
    what = f"node indices of a graph with {n_nodes} nodes"
    _check_index_range("edge_src", edge_src, 0, n_nodes, what)
    _check_index_range("edge_dst", edge_dst, 0, n_nodes, what)
    if edge_weight is not None:
        _check_tensor("edge_weight", edge_weight, 1, integer=False)
        _check_size("edge_weight", edge_weight, 0, edge_src.shape[0], "one entry per edge, as edge_src")


def channel_softmax(score, tau):
    """Softmax over the last (channel) dimension of ``score / tau``.

    Written out (max-shifted exp over sum) because ``torch.softmax`` over a last dimension of a
    few channels is several times slower on CPU.

    Shapes
    ------
    ``score (..., K) float``, ``out (..., K)``.
    """
    e = ((score - score.detach().amax(dim=-1, keepdim=True)) / tau).exp()
    return e / e.sum(dim=-1, keepdim=True)


def channel_distance_correlation(h, n_channels):
    r"""Distance correlation between every pair of channels of the rows of ``h``: ``(K, K)``.

    ``h`` holds ``n`` node vectors, each the concatenation of ``K`` channel sub-vectors. Channel
    ``k`` is the sample ``X_k = h[:, k]`` of ``n`` points; ``dCor(X_k, X_l)`` (Székely, Rizzo and
    Bakirov, 2007) is 0 when the two are independent (in the population) and 1 when one is a
    similarity transform of the other. With the double-centred distance matrices
    ``A_k = J D_k J`` (``D_k[i, j] = ||X_k[i] - X_k[j]||``, ``J`` the centring matrix)::

        dCov^2(k, l) = mean(A_k * A_l),   dCor(k, l) = sqrt(dCov^2(k, l) / sqrt(dCov^2(k, k) dCov^2(l, l)))

    The V-statistic of the whole sample, as in DGCF's independence term (Wang et al., 2020). It
    costs ``K n^2`` memory: pass a few hundred to a few thousand rows.

    Shapes
    ------
    ``h (n, K * c) float``, ``out (K, K)``, symmetric, ones on the diagonal (0 for a constant
    channel), entries in ``[0, 1]``.

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(200, 2)
    >>> dcor = channel_distance_correlation(torch.cat([x, 2 * x + 1], dim=1), 2)
    >>> torch.allclose(dcor, torch.ones(2, 2), atol=1e-5)
    True
    """
    _check_tensor("h", h, 2, integer=False)
    if n_channels < 1 or h.shape[1] % n_channels:
        raise ValueError(f"h must have a multiple of n_channels={n_channels} columns; got {h.shape[1]}.")
    n = h.shape[0]
    x = h.reshape(n, n_channels, -1).transpose(0, 1)  # (K, n, c)
    norms = x.pow(2).sum(dim=2)  # (K, n)
    sq = (norms.unsqueeze(2) + norms.unsqueeze(1) - 2 * x @ x.transpose(1, 2)).clamp_min(0)  # (K, n, n)
    d = (sq + _EPS).sqrt()  # not cdist, whose gradient at a zero distance is NaN
    a = d - d.mean(dim=2, keepdim=True) - d.mean(dim=1, keepdim=True) + d.mean(dim=(1, 2), keepdim=True)
    flat = a.reshape(n_channels, -1)
    dcov2 = (flat @ flat.T / (n * n)).clamp_min(0)  # (K, K)
    var = dcov2.diagonal()
    return (dcov2 / (var.unsqueeze(0) * var.unsqueeze(1)).sqrt().clamp_min(_EPS) + _EPS).sqrt()


class DisentangledConv(nn.Module):
    r"""One disentangled graph convolution layer: K channels refined by neighbourhood routing.

    Each node ``i`` is projected into ``K`` channel sub-vectors, each normalised to unit length:
    ``z_{i,k} = \mathrm{normalize}(\sigma(W_k x_i + b_k))``. Starting from ``c_{i,k} = z_{i,k}``,
    ``n_iterations`` routing iterations (DisenGCN, Ma et al. 2019) give each edge ``j -> i`` a
    distribution over the channels and update every channel of every node::

        p_{ij,k} = softmax_k( z_{j,k} . c_{i,k} / tau )                  # which channel j serves i by
        c_{i,k}  = normalize( z_{i,k} + sum_{j in N(i)} w_ij a_ij p_{ij,k} z_{j,k} )

    where ``w_ij`` is the optional edge weight and ``a_ij`` the optional attention weight of
    the neighbour (claim 6 of CN111681059A; 1 without attention): a GAT-style score
    ``LeakyReLU(q_dst . z_i + q_src . z_j)`` normalised by a softmax over the neighbours of
    ``i`` and multiplied by the in-degree of ``i`` (so uniform attention gives weight 1, as
    without attention). The output is the concatenation of the ``K`` unit channels
    ``c_{i,1} .. c_{i,K}``; with ``n_iterations=0`` it is the normalised projection ``z``.

    Messages flow ``edge_src -> edge_dst``: node ``i`` aggregates the sources of the edges whose
    destination it is. Give both directions of an undirected graph.

    Parameters
    ----------
    in_features : int
        Size of the input node vectors.
    out_features : int
        Size of the output node vectors; a multiple of ``n_channels``.
    n_channels : int, default=4
        Number of channels ``K``; each has ``out_features // n_channels`` dimensions.
    n_iterations : int, default=3
        Number of routing iterations ``T``.
    tau : float, default=1.0
        Temperature of the routing softmax over channels.
    attention : bool, default=False
        Multiply each neighbour's message by an attention weight (see above).
    activation : {"relu", "identity"}, default="identity"
        ``sigma`` of the projection. DisenGCN uses ReLU; the identity keeps the whole sphere
        available to each channel, which suits learned ID embeddings.
    bias : bool, default=True
        Whether the projection has a bias.

    Shapes
    ------
    ``x (N, in_features) float``, ``edge_src, edge_dst (E,) long``, ``edge_weight (E,) float``,
    ``out (N, out_features)``, routing weights (returned with ``return_routing=True``) ``(E, K)``.

    References
    ----------
    J. Ma, P. Cui, K. Kuang, X. Wang, W. Zhu. Disentangled Graph Convolutional Networks. ICML 2019.

    Examples
    --------
    >>> import torch
    >>> conv = DisentangledConv(8, 8, n_channels=2, n_iterations=2)
    >>> x = torch.randn(3, 8)
    >>> src, dst = torch.tensor([0, 1, 1, 2]), torch.tensor([1, 0, 2, 1])
    >>> out = conv(x, src, dst)
    >>> out.shape, torch.allclose(out.view(3, 2, 4).norm(dim=2), torch.ones(3, 2))
    (torch.Size([3, 8]), True)
    """

    def __init__(self, in_features, out_features, n_channels=4, n_iterations=3, tau=1.0, attention=False,
                 activation="identity", bias=True):
        super().__init__()
        if n_channels < 1 or out_features % n_channels:
            raise ValueError(
                f"out_features must be a positive multiple of n_channels; got out_features={out_features} "
                f"and n_channels={n_channels}."
            )
        if n_iterations < 0:
            raise ValueError(f"n_iterations must be >= 0; got {n_iterations}.")
        if tau <= 0:
            raise ValueError(f"tau must be > 0; got {tau}.")
        if activation not in ("relu", "identity"):
            raise ValueError(f"activation must be 'relu' or 'identity'; got {activation!r}.")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.n_channels = int(n_channels)
        self.n_iterations = int(n_iterations)
        self.tau = float(tau)
        self.activation = activation
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        if attention:
            self.att_src = nn.Parameter(torch.zeros(out_features))
            self.att_dst = nn.Parameter(torch.zeros(out_features))
        else:
            self.register_parameter("att_src", None)
            self.register_parameter("att_dst", None)

    @property
    def attention(self):
        """Whether neighbours get an attention weight."""
        return self.att_src is not None

    def extra_repr(self):
        return (f"{self.in_features}, {self.out_features}, n_channels={self.n_channels}, "
                f"n_iterations={self.n_iterations}, tau={self.tau}, attention={self.attention}, "
                f"activation={self.activation!r}")

    def project(self, x):
        """Unit channel projections ``z`` of ``x``: ``(N, K, out_features // K)``."""
        z = self.linear(x)
        if self.activation == "relu":
            z = torch.relu(z)
        return F.normalize(z.view(x.shape[0], self.n_channels, -1), dim=2, eps=_EPS)

    def forward(self, x, edge_src, edge_dst, edge_weight=None, return_routing=False):
        """Project and route; see the class docstring. Returns ``out`` (and ``p`` if asked)."""
        _check_tensor("x", x, 2, integer=False)
        _check_size("x", x, 1, self.in_features, "in_features")
        n = x.shape[0]
        _check_edges(n, edge_src, edge_dst, edge_weight)
        z = self.project(x)
        c = z
        p = z.new_full((edge_src.shape[0], self.n_channels), 1.0 / self.n_channels)
        if self.n_iterations == 0:
            return (c.reshape(n, -1), p) if return_routing else c.reshape(n, -1)
        z_src = z.index_select(0, edge_src)  # (E, K, dk), reused by every iteration
        scale = None
        if edge_weight is not None:
            scale = edge_weight.to(z.dtype)
        if self.attention:
            flat = z.reshape(n, -1)
            score = F.leaky_relu((flat @ self.att_dst).index_select(0, edge_dst)
                                 + (flat @ self.att_src).index_select(0, edge_src), 0.2)
            degree = z.new_zeros(n).index_add_(0, edge_dst, z.new_ones(edge_dst.shape[0]))
            att = segment_softmax(score, edge_dst, n) * degree.index_select(0, edge_dst)
            scale = att if scale is None else scale * att
        for _ in range(self.n_iterations):
            p = channel_softmax((z_src * c.index_select(0, edge_dst)).sum(dim=2), self.tau)  # (E, K)
            w = p if scale is None else p * scale.unsqueeze(1)
            messages = z_src * w.unsqueeze(2)
            c = F.normalize(z.index_add(0, edge_dst, messages), dim=2, eps=_EPS)
        out = c.reshape(n, -1)
        return (out, p) if return_routing else out


class _BipartiteScorer(nn.Module):
    """Shared forward of the link-prediction networks: embed the graph, score positives and negatives.

    Subclasses define ``embed(edge_src, edge_dst, edge_weight) -> (users (U, d), items (I, d))``.
    """

    #: ``c`` such that :meth:`pair_score` is ``c * u . v`` (None when it is not bilinear).
    bilinear_scale = 1.0

    def pair_score(self, u, v):
        """Dot product of broadcastable ``u (..., d)`` and ``v (..., d)``: ``(...)``."""
        if u.dim() == 3 and v.dim() == 3 and u.shape[1] == 1 and v.shape[0] == 1:  # (B, 1, d) x (1, M, d)
            return u.squeeze(1) @ v.squeeze(0).T
        return (u * v).sum(dim=-1)

    def all_pair_scores(self, u, v, logits=False):
        """Scores of every user row against every item row, as in training: ``(b, m)``.

        ``u (b, d)`` and ``v (m, d)`` are node vectors from :meth:`embed` (any float dtype); the
        score is :meth:`pair_score` (plus ``temperature * b_v`` with an item bias, when ``v`` must
        then be the whole catalogue, in item order), divided by ``temperature`` when ``logits`` is
        true, which makes it the logit the training loss saw (so ``softmax`` over the catalogue is
        the model's own probability).
        """
        scores = self.pair_score(u.unsqueeze(1), v.unsqueeze(0))
        bias = getattr(self, "item_bias", None)
        if bias is not None:
            _check_size("v", v, 0, bias.shape[0], "one row per item of the catalogue (the item bias)")
            scores = scores.add_(bias.to(scores.dtype), alpha=self.temperature)  # the fresh (b, m) block, in place
        return scores / self.temperature if logits else scores

    def item_proba(self, u, v):
        """The model's own probability of every item row for every user row: ``(b, m)``.

        ``softmax_j(score(u, v_j) / temperature)`` over the ``m`` rows of ``v`` (the catalogue): the
        softmax of the logits of training (:meth:`all_pair_scores` with ``logits=True``).

        Shapes
        ------
        ``u (b, d) float``, ``v (m, d) float``, ``out (b, m)``, rows summing to 1.
        """
        return torch.softmax(self.all_pair_scores(u, v, logits=True), dim=1)

    @staticmethod
    def _node_rows(nodes):
        """Map global node ids to rows of the embedded nodes (identity without a sub-graph)."""
        if nodes is None:
            return lambda ids: ids

        def rows(ids):
            found = torch.searchsorted(nodes, ids)
            if bool((found >= nodes.shape[0]).any()) or not torch.equal(nodes[found], ids):
                raise ValueError("nodes must be sorted and hold every user and item of the batch.")
            return found

        return rows

    def penalty(self, users, items, neg_items):
        """L2 penalty on the ego embeddings of the batch's nodes (LightGCN's regulariser)."""
        if self.l2 == 0:
            return self.embedding.weight.new_zeros(())
        nodes = torch.cat([users, items + self.n_users, neg_items.reshape(-1) + self.n_users])
        return self.l2 * self.embedding(nodes).pow(2).sum() / (2 * users.shape[0])

    def vector_penalty(self, u, v):
        """Penalty on the batch's final vectors ``u (B, d)`` and ``v (B, d)``: none here (0)."""
        return u.new_zeros(())

    def forward(self, users, items, neg_items, edge_src, edge_dst, edge_weight=None, nodes=None,
                neg_log_weight=None):
        r"""Logits of positive and negative (user, item) pairs: scores divided by ``temperature``.

        Parameters
        ----------
        users, items : torch.LongTensor
            User and item codes of the positive edges of the batch.
        neg_items : torch.LongTensor
            Negative item codes: ``(B, M)`` per positive, or ``(M,)`` shared by the batch.
        edge_src, edge_dst, edge_weight : torch.Tensor
            The directed edge list of the whole training graph (both directions; items are
            nodes ``n_users + item``), or, with ``nodes``, of a sub-graph on those nodes.
        nodes : torch.LongTensor or None, default=None
            Sorted global node ids of the sub-graph whose local edge list is given (e.g. the
            batch's neighbourhood from :class:`~sklearn_ubergnn.graphs.NeighborSampler`); it
            must hold every user and item of the batch. None: the edge list is the whole graph's.
        neg_log_weight : torch.Tensor of shape (M,) or None, default=None
            With shared negatives drawn from a proposal ``q`` over the catalogue, ``-log(M q)`` of
            each: added to its logit, it makes the softmax over the positive and the ``M``
            negatives an estimate of the softmax over the whole catalogue (the logQ correction of
            sampled softmax; Bengio & Senécal, 2008). None: no correction.

        Returns
        -------
        pos : torch.Tensor of shape (B,)
            Logits of the positives: scores divided by ``temperature``, plus the item bias if any.
        neg : torch.Tensor of shape (B, M)
            Logits of the negatives, likewise, plus ``neg_log_weight``; ``-inf`` where a negative
            equals the positive item.
        penalty : torch.Tensor, scalar
            Penalty to add to the loss: the L2 penalty (0 when ``l2 == 0``) plus
            :meth:`vector_penalty` of the batch's vectors.

        Shapes
        ------
        ``users, items (B,) long``, ``neg_items (B, M) or (M,) long``, ``edge_src, edge_dst (2E,)
        long``, ``edge_weight (2E,) float``, ``pos (B,)``, ``neg (B, M)``.
        """
        pos, neg, penalty = self.pair_logits(users, items, neg_items, edge_src, edge_dst, edge_weight, nodes,
                                             neg_log_weight)
        return pos, (neg.logits() if isinstance(neg, ItemLogits) else neg), penalty

    def pair_logits(self, users, items, neg_items, edge_src, edge_dst, edge_weight=None, nodes=None,
                    neg_log_weight=None):
        """:meth:`forward` with shared negatives' logits as their factors (the training method).

        The parameters are :meth:`forward`'s. With negatives ``(M,)`` shared by the batch and a
        bilinear score, ``neg`` is an :class:`~sklearn_ubergnn.nn.ItemLogits`: the batch's user
        vectors (the scalars folded in), the negatives' vectors, the item bias plus
        ``neg_log_weight`` per negative as the bias, and a ``-inf`` sparse term where a negative
        equals the row's positive. Its ``.logits()`` are :meth:`forward`'s ``neg``, and
        :class:`SampledSoftmaxLoss` trains on it without making them
        (:func:`~sklearn_ubergnn.nn.softmax_cross_entropy` with ``target_logits=pos``). Otherwise
        ``neg`` is the ``(B, M)`` logits.
        """
        _check_tensor("users", users, 1, integer=True)
        _check_tensor("items", items, 1, integer=True)
        _check_size("items", items, 0, users.shape[0], "one item per user of the batch")
        h = self.embed(edge_src, edge_dst, edge_weight, nodes=nodes)
        row = self._node_rows(nodes)
        u = h.index_select(0, row(users))
        v = h.index_select(0, row(items + self.n_users))
        pos = self.pair_score(u, v) / self.temperature
        bias = getattr(self, "item_bias", None)
        if bias is not None:
            pos = pos + bias[items]
        penalty = self.penalty(users, items, neg_items) + self.vector_penalty(u, v)
        if neg_items.dim() == 1:
            vn = h.index_select(0, row(neg_items + self.n_users))
            offset = neg_log_weight  # what every logit of a column of negatives gets: bias and correction
            if bias is not None:
                offset = bias[neg_items] if offset is None else bias[neg_items] + offset
            rows, columns = _equal_pairs(items, neg_items)
            if self.bilinear_scale is not None:  # the (B, M) logits as one matrix product, the scalars in u
                clash = (rows, columns, u.new_full(rows.shape, float("-inf")))
                return pos, ItemLogits(u * (self.bilinear_scale / self.temperature), vn, bias=offset,
                                       sparse=clash), penalty
            neg = self.pair_score(u.unsqueeze(1), vn.unsqueeze(0)).div_(self.temperature)
            neg[rows, columns] = float("-inf")
        else:
            _check_size("neg_items", neg_items, 0, users.shape[0], "one row per user of the batch")
            vn = h.index_select(0, row(neg_items.reshape(-1) + self.n_users)).view(*neg_items.shape, -1)
            neg = self.pair_score(u.unsqueeze(1), vn).div_(self.temperature)
            neg = neg.masked_fill_(neg_items == items.unsqueeze(1), float("-inf"))
            offset = None if bias is None else bias[neg_items]
        if offset is not None:
            neg = neg.add_(offset)
        return pos, neg, penalty


def _equal_pairs(items, neg_items):
    """``(rows, columns)`` of every ``(b, m)`` with ``neg_items[m] == items[b]``, without the ``(B, M)`` block.

    The negatives are sorted once and each positive looks up its run of equal negatives, so the
    cost is ``O((B + M) log M)`` and the output holds one pair per clash.
    """
    order = torch.argsort(neg_items)
    ordered = neg_items.index_select(0, order)
    lo = torch.searchsorted(ordered, items)
    counts = torch.searchsorted(ordered, items, right=True) - lo
    rows = torch.repeat_interleave(torch.arange(items.shape[0], device=items.device), counts)
    starts = torch.repeat_interleave(lo - (torch.cumsum(counts, 0) - counts), counts)
    return rows, order.index_select(0, starts + torch.arange(rows.shape[0], device=items.device))


class DisentangledGraphNet(_BipartiteScorer):
    r"""Link prediction on a bipartite graph with ``n_layers`` :class:`DisentangledConv` layers.

    Users and items are nodes ``0 .. n_users - 1`` and ``n_users .. n_users + n_items - 1`` with
    a learned ID embedding each. ``h_0`` is the embedding table with every channel normalised to
    unit length; ``h_l = conv_l(h_{l-1})``. The node vector is the layer average
    ``(h_0 + ... + h_L) / (L + 1)`` (LightGCN's layer combination; each channel of it has norm
    at most 1) and a pair scores ``u . v / temperature``.

    Parameters
    ----------
    n_users, n_items : int
        Number of user and item nodes.
    embedding_dim : int, default=64
        Size ``d`` of every node vector; a multiple of ``n_channels``.
    n_channels : int, default=4
        Channels ``K`` of every layer.
    n_layers : int, default=2
        Number of disentangled layers ``L``.
    n_iterations : int, default=3
        Routing iterations ``T`` per layer.
    tau : float, default=1.0
        Routing temperature.
    attention : bool, default=False
        Per-neighbour attention weights in every layer.
    activation : {"identity", "relu"}, default="identity"
        Activation of the channel projections.
    temperature : float, default=0.1
        Divides the pair scores (which lie in ``[-1, 1]``) before the loss.
    l2 : float, default=0.0
        Weight of the L2 penalty on the batch's ego embeddings.
    init_std : float, default=0.1
        Standard deviation of the normal initialisation of the ID embeddings.
    channel_score : {"sum", "routed"}, default="sum"
        How a pair's channel similarities ``s_k = u_k . v_k`` become its score: their mean
        (``u . v / K``), or ``sum_k softmax_k(s / tau)_k s_k``, which lets a pair be explained by
        the channel it agrees on most (see :meth:`pair_score`).
    item_bias : bool, default=False
        Learn a bias ``b_v`` per item (``item_bias``, zeros at first), added to the item's logit
        in training, :meth:`all_pair_scores` and :meth:`item_proba`: the logit is
        ``score(u, v) / temperature + b_v``. The channel vectors, of norm at most 1, cannot carry
        an item's popularity on their own.
    independence : float, default=0.0
        Weight of DGCF's independence term (Wang et al., 2020), added to the loss by
        :meth:`vector_penalty`: the mean distance correlation between every pair of channels
        (:func:`channel_distance_correlation`) over the final vectors of the first
        ``independence_rows`` users and positive items of the batch. It pushes the channels to
        carry different information. 0: no term.
    independence_rows : int, default=128
        Users and as many items of the batch the term is computed on (its cost grows with the
        square: ``K (2 rows)^2``).
    init_embedding : torch.Tensor or ndarray of shape (n_users + n_items, m) or None, default=None
        Starting values of the first ``m <= embedding_dim`` columns of the ID embeddings (e.g.
        the spectral start of :class:`~sklearn_ubergnn.disentangled.DisentangledGraphEmbedder`).
        The other columns, and the rows of ``init_embedding`` that are all zero, keep the random
        normal start. None: the random start everywhere.

    Shapes
    ------
    See :meth:`forward`; :meth:`embed` returns ``(n_users + n_items, d)``.
    """

    def __init__(self, n_users, n_items, embedding_dim=64, n_channels=4, n_layers=2, n_iterations=3, tau=1.0,
                 attention=False, activation="identity", temperature=0.1, l2=0.0, init_std=0.1,
                 channel_score="sum", item_bias=False, independence=0.0, independence_rows=128,
                 init_embedding=None):
        super().__init__()
        if independence < 0 or independence_rows < 2:
            raise ValueError(f"independence must be >= 0 and independence_rows >= 2; got {independence} and "
                             f"{independence_rows}.")
        self.independence, self.independence_rows = float(independence), int(independence_rows)
        self.item_bias = nn.Parameter(torch.zeros(int(n_items))) if item_bias else None
        if channel_score not in ("sum", "routed"):
            raise ValueError(f"channel_score must be 'sum' or 'routed'; got {channel_score!r}.")
        self.channel_score, self.tau = channel_score, float(tau)
        if embedding_dim % n_channels:
            raise ValueError(
                f"embedding_dim must be a multiple of n_channels; got embedding_dim={embedding_dim} and "
                f"n_channels={n_channels}."
            )
        self.n_users, self.n_items = int(n_users), int(n_items)
        self.embedding_dim, self.n_channels = int(embedding_dim), int(n_channels)
        self.temperature, self.l2 = float(temperature), float(l2)
        self.embedding = nn.Embedding(self.n_users + self.n_items, embedding_dim)
        nn.init.normal_(self.embedding.weight, std=init_std)
        if init_embedding is not None:
            self._start_at(torch.as_tensor(init_embedding))
        self.convs = nn.ModuleList(
            DisentangledConv(embedding_dim, embedding_dim, n_channels, n_iterations, tau, attention,
                             activation)
            for _ in range(n_layers)
        )

    def _start_at(self, start):
        """Copy ``start`` into the first columns of the embedding table (zero rows keep the random start)."""
        _check_tensor("init_embedding", start, 2, integer=False)
        _check_size("init_embedding", start, 0, self.embedding.num_embeddings, "one row per user and item")
        if start.shape[1] > self.embedding_dim:
            raise ValueError(f"init_embedding must have at most embedding_dim={self.embedding_dim} columns; "
                             f"got {start.shape[1]}.")
        if not start.shape[1]:
            return
        rows = start.abs().amax(dim=1) > 0
        with torch.no_grad():
            self.embedding.weight[rows, :start.shape[1]] = start[rows].to(self.embedding.weight.dtype)

    def extra_repr(self):
        return (f"n_users={self.n_users}, n_items={self.n_items}, temperature={self.temperature}, "
                f"channel_score={self.channel_score!r}")

    @property
    def bilinear_scale(self):
        """``1 / K`` with ``channel_score="sum"`` (the score is ``u . v / K``); None with ``"routed"``."""
        return 1.0 / self.n_channels if self.channel_score == "sum" else None

    def pair_score(self, u, v):
        """Score of broadcastable ``u (..., d)`` and ``v (..., d)``: ``(...)``.

        ``"sum"``: the mean channel similarity ``u . v / K``. ``"routed"``: ``sum_k w_k s_k`` with
        ``s_k = u_k . v_k`` and ``w = softmax_k(s_k / tau)``, so that a pair is explained by the
        channel(s) it agrees on. Both lie in ``[-1, 1]`` (channels have norm at most 1).
        """
        K = self.n_channels
        if self.channel_score == "sum":
            return super().pair_score(u, v) / K
        if u.dim() == 3 and v.dim() == 3 and u.shape[1] == 1 and v.shape[0] == 1:  # (B, 1, d) x (1, M, d)
            s = torch.einsum("bkc,mkc->bmk", u.squeeze(1).view(u.shape[0], K, -1),
                             v.squeeze(0).view(v.shape[1], K, -1))
        else:
            s = (u.view(*u.shape[:-1], K, -1) * v.view(*v.shape[:-1], K, -1)).sum(dim=-1)
        return (channel_softmax(s, self.tau) * s).sum(dim=-1)

    def vector_penalty(self, u, v):
        """``independence`` times the mean distance correlation between pairs of channels (0 if off).

        Computed on the first ``independence_rows`` rows of ``u`` and of ``v`` (the batch's
        users and positive items, in random order), stacked. Read with defaults so that networks
        pickled before the term existed still train.
        """
        weight, K = getattr(self, "independence", 0.0), self.n_channels
        if weight == 0 or K == 1:
            return u.new_zeros(())
        n_rows = self.independence_rows  # set with independence
        dcor = channel_distance_correlation(torch.cat([u[:n_rows], v[:n_rows]]), K)
        return weight * (dcor.sum() - dcor.diagonal().sum()) / (K * (K - 1))

    def embed(self, edge_src, edge_dst, edge_weight=None, return_routing=False, nodes=None):
        """Node vectors ``(N, d)`` (and the last layer's routing weights ``(E, K)`` if asked).

        With ``nodes`` (sorted global ids), the edge list is that of the sub-graph on them and the
        output has one row per node of ``nodes``.
        """
        ego = self.embedding.weight if nodes is None else self.embedding(nodes)
        n = ego.shape[0]
        h = F.normalize(ego.view(n, self.n_channels, -1), dim=2, eps=_EPS).reshape(n, -1)
        total = h
        p = None  # stays None without layers
        for conv in self.convs:
            h, p = conv(h, edge_src, edge_dst, edge_weight, return_routing=True)
            total = total + h
        out = total / (len(self.convs) + 1)
        return (out, p) if return_routing else out

    def embed_and_route(self, edge_src, edge_dst, edge_weight=None, nodes=None):
        """Node vectors ``(N, d)`` and the last layer's routing weights ``(E, K)`` of every edge.

        Without layers there is no routing: every edge gets the uniform weights ``1 / K``.
        ``nodes`` as in :meth:`embed`.
        """
        out, p = self.embed(edge_src, edge_dst, edge_weight, return_routing=True, nodes=nodes)
        if p is None:
            p = out.new_full((edge_src.shape[0], self.n_channels), 1.0 / self.n_channels)
        return out, p


class LightGCN(_BipartiteScorer):
    r"""LightGCN: ID embeddings smoothed by ``n_layers`` symmetric-normalised propagations.

    ``h_{l+1} = A_hat h_l`` with ``A_hat[i, u] = A_hat[u, i] = 1 / sqrt(deg(u) deg(i))`` given as
    the ``edge_weight`` of the directed edge list, and the node vector is the layer average
    ``(h_0 + ... + h_L) / (L + 1)``. With ``n_layers=0`` this is matrix factorisation.

    Parameters
    ----------
    n_users, n_items : int
        Number of user and item nodes.
    embedding_dim : int, default=64
        Size of the embeddings.
    n_layers : int, default=3
        Number of propagation layers.
    temperature : float, default=1.0
        Divides the pair scores before the loss.
    l2 : float, default=1e-4
        Weight of the L2 penalty on the batch's ego embeddings (LightGCN's ``reg``).
    init_std : float, default=0.1
        Standard deviation of the normal initialisation.
    item_bias : bool, default=False
        Learn a bias ``b_v`` per item (``item_bias``, zeros at first), added to the item's logit
        as in :class:`DisentangledGraphNet`.

    Shapes
    ------
    See :meth:`forward`; :meth:`embed` returns ``(n_users + n_items, embedding_dim)``.

    References
    ----------
    X. He, K. Deng, X. Wang, Y. Li, Y. Zhang, M. Wang. LightGCN: Simplifying and Powering Graph
    Convolution Network for Recommendation. SIGIR 2020.
    """

    def __init__(self, n_users, n_items, embedding_dim=64, n_layers=3, temperature=1.0, l2=1e-4,
                 init_std=0.1, item_bias=False):
        super().__init__()
        self.item_bias = nn.Parameter(torch.zeros(int(n_items))) if item_bias else None
        self.n_users, self.n_items = int(n_users), int(n_items)
        self.n_layers, self.temperature, self.l2 = int(n_layers), float(temperature), float(l2)
        self.embedding = nn.Embedding(self.n_users + self.n_items, embedding_dim)
        nn.init.normal_(self.embedding.weight, std=init_std)

    def extra_repr(self):
        return f"n_users={self.n_users}, n_items={self.n_items}, n_layers={self.n_layers}"

    def embed(self, edge_src, edge_dst, edge_weight=None, nodes=None):
        """Layer-averaged node vectors ``(N, d)`` (of the sub-graph on ``nodes``, sorted global ids, if given)."""
        h = self.embedding.weight if nodes is None else self.embedding(nodes)
        if self.n_layers == 0:
            return h
        _check_edges(h.shape[0], edge_src, edge_dst, edge_weight)
        total = h
        for _ in range(self.n_layers):
            h = propagate(h, edge_src, edge_dst, edge_weight)
            total = total + h
        return total / (self.n_layers + 1)


class BPRLoss(nn.Module):
    r"""Bayesian personalised ranking: ``mean over (b, m) of -log sigmoid(pos_b - neg_{b,m})``.

    Takes the ``(pos, neg, penalty)`` output of the link-prediction networks (``y`` is ignored) and
    adds the penalty. Negatives scored ``-inf`` (equal to the positive) contribute 0.

    Shapes
    ------
    ``pos (B,)``, ``neg (B, M)``, ``out ()``.
    """

    def forward(self, y_pred, y=None):
        pos, neg, penalty = y_pred
        if isinstance(neg, ItemLogits):
            neg = neg.logits()
        return F.softplus(neg - pos.unsqueeze(1)).mean() + penalty


class SampledSoftmaxLoss(nn.Module):
    r"""Softmax cross-entropy of each positive against its (sampled) negatives.

    ``-log( exp(pos_b) / (exp(pos_b) + sum_m exp(neg_{b,m})) )`` averaged over the batch, plus the
    penalty. Negatives scored ``-inf`` drop out of the sum. Sampled negatives carry their logQ
    correction in their logits (the networks' ``neg_log_weight``).

    Shapes
    ------
    ``pos (B,)``, ``neg (B, M)``, ``out ()``.
    """

    def forward(self, y_pred, y=None):
        pos, neg, penalty = y_pred
        if isinstance(neg, ItemLogits):  # the negatives' factors: one fused pass, no (B, M) copies
            return softmax_cross_entropy(neg, target_logits=pos) + penalty
        # log(exp(pos) + sum_m exp(neg_m)) shifted by a finite max (pos is finite, a negative may be
        # -inf), so that no (B, M) copy is concatenated and a row of -inf negatives has a zero gradient
        shift = torch.maximum(pos, neg.amax(dim=1)).detach() if neg.shape[1] else pos.detach()
        total = (pos - shift).exp() + (neg - shift.unsqueeze(1)).exp_().sum(dim=1)
        return (shift + total.log() - pos).mean() + penalty


class BehaviorMLP(nn.Module):
    r"""A light behaviour model: a user vector -> the logit of acting on one target item.

    ``hidden_layer_sizes=()`` is logistic regression on the vector; otherwise
    ``Linear -> ReLU`` blocks, then a ``Linear`` to one logit ``f(x)``.

    With ``residual=True`` the model is a correction of another model's logit, given as
    ``offset`` (e.g. the teacher's :math:`\operatorname{logit} q`): the output is
    ``offset + f(x)``, and the last ``Linear`` starts at zero (weight and bias), so the untrained
    module returns ``offset`` exactly.

    Parameters
    ----------
    in_features : int
        Size of the user vectors.
    hidden_layer_sizes : tuple of int, default=()
        Widths of the hidden layers.
    residual : bool, default=False
        Add ``f(x)`` to the ``offset`` given to :meth:`forward` (then required).

    Shapes
    ------
    ``x (B, in_features) float``, ``offset (B,) float`` (``residual=True`` only), ``out (B,)``.
    """

    def __init__(self, in_features, hidden_layer_sizes=(), residual=False):
        super().__init__()
        layers, width = [], int(in_features)
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, int(size)), nn.ReLU()]
            width = int(size)
        layers.append(nn.Linear(width, 1))
        self.layers = nn.Sequential(*layers)
        self.in_features = int(in_features)
        self.residual = bool(residual)
        if self.residual:
            nn.init.zeros_(self.layers[-1].weight)
            nn.init.zeros_(self.layers[-1].bias)

    def extra_repr(self):
        return f"residual={self.residual}"

    def correction(self, x):
        """``f(x)``, ``(B,)``: the logits without the offset."""
        _check_tensor("x", x, 2, integer=False)
        _check_size("x", x, 1, self.in_features, "in_features")
        return self.layers(x).squeeze(1)

    def forward(self, x, offset=None):
        """Logits ``(B,)`` of the user vectors ``x`` (plus ``offset`` with ``residual=True``)."""
        return _add_offset(self.correction(x), offset, self.residual)

    def predict_proba(self, x, offset=None):
        """Probabilities ``(B, 2)`` float64 of not acting and acting: ``1 - sigmoid(logit)``, ``sigmoid(logit)``.

        The offset is added in float64 (give it in float64 to keep its precision): a zero
        correction returns ``sigmoid(offset)`` to float64 rounding.
        """
        p = torch.sigmoid(_add_offset(self.correction(x).double(), offset, self.residual))
        return torch.stack([1.0 - p, p], dim=1)


def _add_offset(logit, offset, residual):
    """``logit + offset`` (broadcast over heads) for a residual model; ``logit`` otherwise; checks ``offset``."""
    if not residual:
        if offset is not None:
            raise ValueError("offset was given to a model built with residual=False; build it with "
                             "residual=True to add the offset, or pass offset=None.")
        return logit
    if offset is None:
        raise ValueError("a model built with residual=True needs the offset (B,) its output corrects; got None.")
    _check_tensor("offset", offset, 1, integer=False)
    _check_size("offset", offset, 0, logit.shape[0], "one entry per row of x")
    offset = offset.to(logit.dtype)
    return logit + (offset.unsqueeze(1) if logit.dim() == 2 else offset)


class DistillationLoss(nn.Module):
    r"""Hard-label plus soft-label binary cross-entropy of logits.

    ``BCE(sigmoid(logit), y_hard) + soft_weight * BCE(sigmoid(logit), y_soft)``: the hard term
    averaged over the rows of the batch that carry a label, the soft term over all rows; ``y_soft``
    is the teacher's probability. Rows whose hard label is NaN (unlabelled users) feed the soft
    term only; a batch without any labelled row has a hard term of 0.

    Parameters
    ----------
    soft_weight : float, default=1.0
        Weight of the soft-label term (0: hard labels only).

    Shapes
    ------
    ``logit (B,)``, ``y (B, 2)``: column 0 the observed 0/1 label (NaN: none), column 1 the
    teacher's probability; ``out ()``.
    """

    def __init__(self, soft_weight=1.0):
        super().__init__()
        self.soft_weight = float(soft_weight)

    def forward(self, logit, y):
        _check_tensor("y", y, 2, integer=False)
        _check_size("y", y, 0, logit.shape[0], "one row per logit")
        hard_label = y[:, 0].to(logit.dtype)
        labelled = ~torch.isnan(hard_label)
        per_row = F.binary_cross_entropy_with_logits(
            logit, torch.where(labelled, hard_label, torch.zeros_like(hard_label)), reduction="none")
        hard = (per_row * labelled).sum() / labelled.sum().clamp(min=1)
        if self.soft_weight == 0:
            return hard
        return hard + self.soft_weight * F.binary_cross_entropy_with_logits(logit, y[:, 1].to(logit.dtype))


class BehaviorHeads(nn.Module):
    r"""``n_heads`` independent :class:`BehaviorMLP` students evaluated at once.

    Head ``h`` has its own layers (weights stored as ``(n_heads, in, out)`` tensors, each head's
    initialised as ``nn.Linear`` initialises a layer: uniform in :math:`\pm 1/\sqrt{in}`); the
    heads share the input and nothing else. Under a loss that sums the heads' losses (as
    :class:`HeadwiseDistillationLoss`), each head gets the gradient, and with Adam the updates,
    it would get if trained alone on the same batches: one training run fits a grid of students.

    With ``residual=True`` every head is a residual :class:`BehaviorMLP`: its logit is the
    ``offset`` given to :meth:`forward` (the same for every head) plus its own output, whose last
    layer starts at zero.

    Parameters
    ----------
    in_features : int
        Size of the user vectors.
    hidden_layer_sizes : tuple of int, default=()
        Widths of every head's hidden layers (``()``: logistic regression).
    n_heads : int, default=1
        Number of heads.
    residual : bool, default=False
        Add every head's output to the ``offset`` given to :meth:`forward` (then required).

    Shapes
    ------
    ``x (B, in_features) float``, ``offset (B,) float`` (``residual=True`` only),
    ``out (B, n_heads)``.
    """

    def __init__(self, in_features, hidden_layer_sizes=(), n_heads=1, residual=False):
        super().__init__()
        self.in_features, self.n_heads, self.residual = int(in_features), int(n_heads), bool(residual)
        widths = [self.in_features, *(int(size) for size in hidden_layer_sizes), 1]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(self.n_heads, a, b)) for a, b in pairwise(widths))
        self.biases = nn.ParameterList(nn.Parameter(torch.empty(self.n_heads, 1, b)) for b in widths[1:])
        self.reset_parameters()

    def reset_parameters(self):
        for weight, bias in zip(self.weights, self.biases):
            bound = weight.shape[1] ** -0.5
            nn.init.uniform_(weight, -bound, bound)
            nn.init.uniform_(bias, -bound, bound)
        if self.residual:
            nn.init.zeros_(self.weights[-1])
            nn.init.zeros_(self.biases[-1])

    def extra_repr(self):
        return (f"in_features={self.in_features}, n_heads={self.n_heads}, n_layers={len(self.weights)}, "
                f"residual={self.residual}")

    def forward(self, x, offset=None):
        """Logits ``(B, n_heads)`` of the user vectors ``x`` (plus ``offset`` with ``residual=True``)."""
        _check_tensor("x", x, 2, integer=False)
        _check_size("x", x, 1, self.in_features, "in_features")
        h = x.unsqueeze(0).expand(self.n_heads, -1, -1)  # (H, B, in)
        last = len(self.weights) - 1
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(bias, h, weight)
            if i < last:
                h = torch.relu(h)
        return _add_offset(h.squeeze(2).T, offset, self.residual)


class HeadwiseDistillationLoss(nn.Module):
    r""":class:`DistillationLoss` of every head of :class:`BehaviorHeads`, each with its labels and weight, summed.

    Head ``h`` sees the hard labels of the labelled rows that ``train_mask[:, h]`` keeps (the
    others are held out from it) and weighs its soft term by ``soft_weight[h]``: its loss is
    ``mean_{kept labelled rows} BCE(logit_h, y_hard) + soft_weight[h] * mean_{soft rows}
    BCE(logit_h, y_soft)``. The soft rows are every row, or, with ``soft_held_out=False``, every
    row but the labelled rows held out from the head. The heads' losses are summed (not
    averaged), so each head's gradient is the one it would get alone.

    Parameters
    ----------
    soft_weight : sequence of float
        Weight of each head's soft term, ``(H,)``.
    train_mask : bool tensor of shape (n_labelled, H)
        Whether labelled row ``i`` is a training label of head ``h``.
    soft_held_out : bool, default=True
        Keep the held-out labelled rows under the soft term (they have a soft label whatever
        their hard label).

    Shapes
    ------
    ``logit (B, H)``, ``y (B, 3)``: column 0 the observed 0/1 label (NaN: none), column 1 the
    teacher's probability, column 2 the row's index among the labelled rows (-1: unlabelled);
    ``out ()``.
    """

    def __init__(self, soft_weight, train_mask, soft_held_out=True):
        super().__init__()
        self.register_buffer("soft_weight", torch.as_tensor(soft_weight, dtype=torch.float32).reshape(-1))
        self.register_buffer("train_mask", torch.as_tensor(train_mask, dtype=torch.bool))
        if self.train_mask.dim() != 2 or self.train_mask.shape[1] != self.soft_weight.shape[0]:
            raise ValueError(
                f"train_mask must have shape (n_labelled, {self.soft_weight.shape[0]}) (one column per soft "
                f"weight); got {tuple(self.train_mask.shape)}.")
        self.soft_held_out = bool(soft_held_out)

    def extra_repr(self):
        return f"n_heads={self.soft_weight.shape[0]}, soft_held_out={self.soft_held_out}"

    def forward(self, logit, y):
        _check_tensor("logit", logit, 2, integer=False)
        _check_size("logit", logit, 1, self.soft_weight.shape[0], "one column per head")
        _check_tensor("y", y, 2, integer=False)
        _check_size("y", y, 0, logit.shape[0], "one row per logit")
        _check_size("y", y, 1, 3, "hard label, soft label, labelled-row index")
        row = y[:, 2].long()
        labelled = row >= 0
        train = self.train_mask[row.clamp(min=0)] & labelled.unsqueeze(1)  # (B, H)
        hard_label = torch.nan_to_num(y[:, 0].to(logit.dtype)).unsqueeze(1).expand_as(logit)
        hard = F.binary_cross_entropy_with_logits(logit, hard_label, reduction="none")
        hard = (hard * train).sum(dim=0) / train.sum(dim=0).clamp(min=1)
        soft_rows = torch.ones_like(train) if self.soft_held_out else train | ~labelled.unsqueeze(1)
        soft_label = y[:, 1].to(logit.dtype).unsqueeze(1).expand_as(logit)
        soft = F.binary_cross_entropy_with_logits(logit, soft_label, reduction="none")
        soft = (soft * soft_rows).sum(dim=0) / soft_rows.sum(dim=0).clamp(min=1)
        return (hard + self.soft_weight.to(logit.dtype) * soft).sum()
